# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the attach/detach playbooks through ansible-runner, as AWX does, and check what they write.

usage: python runner_attach.py PLAYBOOK_DIR INVENTORY ARTIFACT_DIR VOLUME_ID...

1. detach_volume.yml on a host that never attached: must succeed, change nothing and print no warning.
2. attach_volume.yml for all volumes at once (min_paths 1): must attach (changes); the engine's discovery
   results are kept from its job event.
3. the same again: must change nothing.
4. the same in check mode: must change nothing and create no Cinder attachment.
Then reads each volume's CHAP password from its Cinder attachment and fails when one appears anywhere
in the artifacts ansible-runner wrote (job events, stdout, fact cache), whatever the encoding.
Prints a JSON summary. Cloud from OS_CLOUD / OS_CLIENT_CONFIG_FILE. ATTACH_DETACH_MOUNTS (JSON, optional) is passed
as volume_attach_mounts, and each volume's managed mount result (from the engine's job event) is in the summary.
"""

import base64
import json
import os
import pathlib
import sys

import ansible_runner
import jmespath
import openstack


def run(playbook, inventory, volume_ids, data_dir, ident, check=False):
    return ansible_runner.run(
        private_data_dir=str(data_dir), playbook=playbook, inventory=inventory, ident=ident, quiet=True,
        extravars={'target_hosts': 'all', 'volume_ids': volume_ids, 'min_paths': 1,
                   'volume_attach_mounts': json.loads(os.environ.get('ATTACH_DETACH_MOUNTS') or '{}')}, verbosity=4,
        cmdline='--check' if check else None,
    )


def changed_total(runner):
    return sum((runner.stats or {}).get('changed', {}).values())


def warnings(runner):
    return [line.strip() for line in runner.stdout.read().splitlines() if '[WARNING]' in line]


def discoveries(runner):
    """{volume_id: discovery} from the iscsi_volume result in the job events (volumes that ran discovery)."""
    volumes = jmespath.search("[?event=='runner_on_ok' && ends_with(event_data.task_action, 'iscsi_volume')]"
                              ".event_data.res.volumes[] | [?discovery]", list(runner.events)) or []
    return dict((volume['volume_id'], volume['discovery']) for volume in volumes)


def managed_mounts(runner):
    """{volume_id: mount} from the iscsi_volume result in the job events (volumes with a managed mount)."""
    volumes = jmespath.search("[?event=='runner_on_ok' && ends_with(event_data.task_action, 'iscsi_volume')]"
                              ".event_data.res.volumes[] | [?mount]", list(runner.events)) or []
    return dict((volume['volume_id'], volume['mount']) for volume in volumes)


def attachment_ids(storage, volume_ids):
    return sorted(a.id for volume_id in volume_ids for a in storage.attachments(volume_id=volume_id))


def chap_passwords(storage, volume_ids):
    found = []
    for volume_id in volume_ids:
        for summary in storage.attachments(volume_id=volume_id):
            info = storage.get_attachment(summary.id).connection_info or {}
            if info.get('auth_password'):
                found.append(info['auth_password'])
    if len(found) < len(volume_ids):
        raise SystemExit('not every volume has an attachment with CHAP credentials')
    return found


def leaks(data_dir, secrets):
    forms = {form for secret in secrets
             for form in (secret, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1])}
    found = []
    for path in sorted(p for p in pathlib.Path(data_dir).rglob('*') if p.is_file()):
        text = path.read_bytes().decode('utf-8', 'replace')
        found.extend('%s (a CHAP password, %d chars)' % (path, len(form)) for form in forms if form in text)
    return found


def main():
    playbooks, inventory, data_dir = sys.argv[1:4]
    volume_ids = sys.argv[4:]
    attach = os.path.join(playbooks, 'attach_volume.yml')
    pathlib.Path(data_dir).mkdir(parents=True, exist_ok=True)
    storage = openstack.connect().block_storage
    problems = []

    never = run(os.path.join(playbooks, 'detach_volume.yml'), inventory, volume_ids, data_dir, 'detach-never-attached')
    summary = {'detach_never_attached': {'rc': never.rc, 'changed': changed_total(never), 'warnings': warnings(never)}}
    if never.rc != 0 or changed_total(never) or summary['detach_never_attached']['warnings']:
        problems.append('detach on a host that never attached failed, changed something or warned')

    for ident, check in (('attach-1', False), ('attach-2', False), ('attach-check', True)):
        before = attachment_ids(storage, volume_ids)
        runner = run(attach, inventory, volume_ids, data_dir, ident, check)
        summary[ident] = {'rc': runner.rc, 'status': runner.status, 'changed': changed_total(runner),
                          'new_cinder_attachments': len(set(attachment_ids(storage, volume_ids)) - set(before)),
                          'discovery': discoveries(runner), 'mounts': managed_mounts(runner)}
        if runner.rc != 0:
            problems.append('%s failed' % ident)
        elif ident == 'attach-1' and summary[ident]['changed'] == 0:
            problems.append('the first attach did not attach')
        elif ident != 'attach-1' and (summary[ident]['changed'] or summary[ident]['new_cinder_attachments']):
            problems.append('%s changed something' % ident)
        if problems:
            break

    summary['job_events'] = len(list(pathlib.Path(data_dir).glob('artifacts/*/job_events/*.json')))
    if summary['job_events'] == 0:
        problems.append('ansible-runner wrote no job events')
    if summary.get('attach-1', {}).get('rc') == 0:
        summary['leaks'] = leaks(data_dir, chap_passwords(storage, volume_ids))
        if summary['leaks']:
            problems.append('a CHAP password is in the runner artifacts')
    summary['problems'] = problems
    print(json.dumps(summary, indent=2))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
