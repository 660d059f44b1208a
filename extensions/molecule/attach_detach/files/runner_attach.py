# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run playbooks/attach_volume.yml through ansible-runner, as AWX does, and check what it writes.

usage: python runner_attach.py PLAYBOOK INVENTORY VOLUME_ID ARTIFACT_DIR

Runs the attach twice: the first run must attach (changes), the second must change nothing. Then
reads the volume's CHAP password from its Cinder attachment and fails when it appears anywhere in
the artifacts ansible-runner wrote (job events, stdout, fact cache), whatever the encoding.
Prints a JSON summary. Cloud from OS_CLOUD / OS_CLIENT_CONFIG_FILE.
"""

import base64
import json
import pathlib
import sys

import ansible_runner
import openstack


def run_attach(playbook, inventory, volume_id, data_dir, ident):
    return ansible_runner.run(
        private_data_dir=str(data_dir), playbook=playbook, inventory=inventory, ident=ident, quiet=True,
        extravars={'target_hosts': 'all', 'volume_ids': [volume_id], 'min_paths': 2}, verbosity=4,
    )


def changed_total(runner):
    return sum((runner.stats or {}).get('changed', {}).values())


def chap_password(volume_id):
    storage = openstack.connect().block_storage
    for summary in storage.attachments(volume_id=volume_id):
        info = storage.get_attachment(summary.id).connection_info or {}
        if info.get('auth_password'):
            return info['auth_password']
    raise SystemExit('no attachment with CHAP credentials found for %s' % volume_id)


def leaks(data_dir, secret):
    forms = {secret, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1]}
    found = []
    for path in sorted(p for p in pathlib.Path(data_dir).rglob('*') if p.is_file()):
        text = path.read_bytes().decode('utf-8', 'replace')
        found.extend('%s (%s)' % (path, form) for form in forms if form in text)
    return found


def main():
    playbook, inventory, volume_id, data_dir = sys.argv[1:5]
    pathlib.Path(data_dir).mkdir(parents=True, exist_ok=True)
    first = run_attach(playbook, inventory, volume_id, data_dir, 'attach-1')
    second = run_attach(playbook, inventory, volume_id, data_dir, 'attach-2')
    events = len(list(pathlib.Path(data_dir).glob('artifacts/*/job_events/*.json')))
    summary = {
        'first': {'rc': first.rc, 'status': first.status, 'changed': changed_total(first)},
        'second': {'rc': second.rc, 'status': second.status, 'changed': changed_total(second)},
        'job_events': events,
    }
    problems = []
    if first.rc != 0 or changed_total(first) == 0:
        problems.append('the first attach did not attach')
    if second.rc != 0 or changed_total(second) != 0:
        problems.append('the second attach was not idempotent')
    if events == 0:
        problems.append('ansible-runner wrote no job events')
    if first.rc == 0:
        summary['leaks'] = leaks(data_dir, chap_password(volume_id))
        if summary['leaks']:
            problems.append('the CHAP password is in the runner artifacts')
    summary['problems'] = problems
    print(json.dumps(summary, indent=2))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
