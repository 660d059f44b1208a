# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet scenario's controller side: Cinder volumes, and the playbooks run through ansible-runner as AWX runs them.

usage: fleet.py create NAME=TYPE...        create the volumes (kept if they exist), wait until available -> {name: id}
       fleet.py cinder ID...               -> {id: {status, multiattach, hosts: [host_name of each attachment]}}
       fleet.py run IDENT PLAYBOOK INVENTORY DATA_DIR [--limit HOST] [--volumes ID,...] [--scan ID,...]

`run` runs PLAYBOOK on the group `fleet` (every host of the molecule INVENTORY) with 2 forks and the Cinder tasks
throttled to FLEET_CINDER_THROTTLE hosts at a time (default 1). Each host's volume_ids come from FLEET_HOST_VOLUMES (JSON {host: [id...]}), unless
--volumes gives them to every host (extra vars). --scan reads the CHAP password of every live attachment of those
volumes from Cinder and fails when one appears anywhere under DATA_DIR (job events, stdout, artifacts), in any
encoding. Prints a JSON summary: rc, changes per host, the wall time, and per host the start, end and seconds of
the engine task (iscsi_volume) and of the first Cinder task, and how long each pair of hosts overlapped in them.
Cloud from OS_CLOUD / OS_CLIENT_CONFIG_FILE.
"""

import base64
import datetime
import itertools
import json
import os
import pathlib
import sys
import time

import ansible_runner
import jmespath
import openstack
import yaml

TIMEOUT = 180
FORKS = 2
CINDER_THROTTLE = int(os.environ.get('FLEET_CINDER_THROTTLE') or 1)


def create(storage, specs):
    volumes = {}
    for name, volume_type in (spec.split('=', 1) for spec in specs):
        volumes[name] = storage.find_volume(name) or storage.create_volume(name=name, size=1, volume_type=volume_type)
    for name, volume in volumes.items():
        volumes[name] = storage.wait_for_status(volume, status='available', failures=['error'], wait=TIMEOUT).id
    return volumes


def cinder(storage, volume_ids):
    found = {}
    for volume_id in volume_ids:
        volume = storage.get_volume(volume_id)
        found[volume_id] = {'status': volume.status, 'multiattach': volume.is_multiattach,
                            'hosts': sorted(a.get('host_name') or '?' for a in volume.attachments or [])}
    return found


def inventory(path, host_volumes):
    with open(path) as handle:
        hosts = yaml.safe_load(handle)['all']['hosts']
    for name, volume_ids in host_volumes.items():
        hosts[name]['volume_ids'] = volume_ids
    return {'all': {'children': {'fleet': {'hosts': hosts}}}}


def task_timing(events, action):
    """{host: {start, end, seconds}} of the first task whose action ends with `action`."""
    results = jmespath.search("[?(event=='runner_on_ok' || event=='runner_on_failed') && ends_with(event_data.task_action, '%s')]"
                              ".event_data" % action, events) or []
    first = results[0]['task_uuid'] if results else None
    return dict((r['host'], {'start': r['start'], 'end': r['end'], 'seconds': round(r['duration'] or 0, 2)})
                for r in results if r['task_uuid'] == first and r['start'])


def overlap(timing):
    """Seconds the hosts' runs of one task overlapped, for each pair of hosts."""
    parse = datetime.datetime.fromisoformat
    pairs = {}
    for (one, a), (two, b) in itertools.combinations(sorted(timing.items()), 2):
        seconds = (min(parse(a['end']), parse(b['end'])) - max(parse(a['start']), parse(b['start']))).total_seconds()
        pairs['%s/%s' % (one, two)] = round(max(seconds, 0.0), 2)
    return pairs


def chap_passwords(storage, volume_ids):
    found = set()
    for volume_id in volume_ids:
        for summary in storage.attachments(volume_id=volume_id):
            info = storage.get_attachment(summary.id).connection_info or {}
            if info.get('auth_password'):
                found.add(info['auth_password'])
    return found


def leaks(data_dir, secrets):
    forms = {form for secret in secrets
             for form in (secret, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1])}
    return ['%s (a CHAP password, %d chars)' % (path, len(form))
            for path in sorted(p for p in pathlib.Path(data_dir).rglob('*') if p.is_file())
            for form in forms if form in path.read_bytes().decode('utf-8', 'replace')]


def run(storage, ident, playbook, inventory_path, data_dir, options):
    limit = options.get('--limit')
    extravars = {'target_hosts': 'fleet', 'min_paths': 2,
                 'volume_attach_cinder_throttle': CINDER_THROTTLE, 'volume_detach_cinder_throttle': CINDER_THROTTLE}
    if '--volumes' in options:
        extravars['volume_ids'] = options['--volumes'].split(',')
    pathlib.Path(data_dir).mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    runner = ansible_runner.run(
        private_data_dir=data_dir, playbook=playbook, ident=ident, quiet=True, forks=FORKS, limit=limit,
        inventory=inventory(inventory_path, json.loads(os.environ.get('FLEET_HOST_VOLUMES') or '{}')),
        extravars=extravars, envvars={'ANSIBLE_PIPELINING': 'True'}, verbosity=4)
    events = list(runner.events)
    engine, first_cinder = task_timing(events, 'iscsi_volume'), task_timing(events, 'cinder_attachment')
    summary = {'rc': runner.rc, 'status': runner.status, 'wall_s': round(time.monotonic() - start, 1),
               'changed': (runner.stats or {}).get('changed', {}), 'failures': (runner.stats or {}).get('failures', {}),
               'engine': engine, 'engine_overlap_s': overlap(engine),
               'cinder': first_cinder, 'cinder_overlap_s': overlap(first_cinder)}
    if '--scan' in options:
        secrets = chap_passwords(storage, options['--scan'].split(','))
        summary['secrets_scanned'] = len(secrets)
        summary['leaks'] = leaks(data_dir, secrets)
    return summary


def main():
    action, args = sys.argv[1], sys.argv[2:]
    storage = openstack.connect().block_storage
    if action == 'create':
        print(json.dumps(create(storage, args)))
    elif action == 'cinder':
        print(json.dumps(cinder(storage, args)))
    elif action == 'run':
        options = dict(zip(args[4::2], args[5::2]))
        print(json.dumps(run(storage, *args[:4], options=options), indent=2))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
