# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run extend_volume.yml through ansible-runner, as AWX does, and measure it from its job events.

usage: python runner_extend.py PLAYBOOK_DIR INVENTORY ARTIFACT_DIR SIZE_GB VOLUME_ID...

1. extend_volume.yml for all volumes at once (grow_filesystem true): must change, Cinder must report SIZE_GB for
   each volume, the engine must have resized each one.
2. the same again: must change nothing.
Timings, on the controller's clock from the job events: from the start of the Cinder extend task to the end of the
engine's task (every path and the map verified at the new size; only when Cinder extended something), and the
split (Cinder's own wait, the engine's phases).
No CHAP password may appear in the artifacts (runner_attach.py's check). Prints a JSON summary.
"""

import datetime
import json
import os
import pathlib
import sys

import ansible_runner
import openstack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner_attach import changed_total, chap_passwords, leaks  # noqa: E402  # pylint: disable=wrong-import-position


def run(playbook, inventory, volume_ids, size_gb, data_dir, ident):
    return ansible_runner.run(
        private_data_dir=str(data_dir), playbook=playbook, inventory=inventory, ident=ident, quiet=True,
        extravars={'target_hosts': 'all', 'volume_ids': volume_ids, 'size_gb': size_gb, 'grow_filesystem': True},
        verbosity=1)


def when(text):
    return datetime.datetime.fromisoformat(text).timestamp()


def task_events(runner, action, kinds=('runner_on_ok', 'runner_on_failed')):
    return [event for event in runner.events if event.get('event') in kinds
            and str(event.get('event_data', {}).get('task_action', '')).endswith(action)]


def measure(runner):
    """What the job events say about the extend: Cinder's answers, the engine's result, the times."""
    items = ('runner_item_on_ok', 'runner_item_on_failed')
    cinder = [e['event_data']['res'] for e in task_events(runner, 'cinder_volume_size', items)]
    engine = [e['event_data'] for e in task_events(runner, 'iscsi_volume')]
    keys = ('changed', 'previous_size', 'elapsed_s', 'microversion')
    summary = {
        'cinder': [dict(dict((key, res.get(key)) for key in keys), size=res.get('volume', {}).get('size'))
                   for res in cinder],
        'engine': [dict(dict((key, volume.get(key)) for key in ('volume_id', 'resized', 'previous_size_bytes',
                                                                'size_bytes', 'filesystem')),
                        path_sizes=[path.get('size_bytes') for path in volume.get('paths', [])])
                   for data in engine for volume in data['res'].get('volumes', [])],
        'engine_elapsed': [data['res'].get('elapsed') for data in engine]}
    starts = [when(e['event_data']['start']) for e in task_events(runner, 'cinder_volume_size')
              if e['event_data'].get('start')]
    ends = [when(data['end']) for data in engine if data.get('end')]
    if starts and ends and any(res.get('changed') for res in cinder):
        summary['request_to_new_size_on_host_s'] = round(max(ends) - min(starts), 1)
    return summary


def main():
    playbooks, inventory, data_dir, size_gb = sys.argv[1:5]
    volume_ids = sys.argv[5:]
    size_gb = int(size_gb)
    playbook = os.path.join(playbooks, 'extend_volume.yml')
    pathlib.Path(data_dir).mkdir(parents=True, exist_ok=True)
    storage = openstack.connect().block_storage
    problems = []
    summary = {}
    for ident in ('extend-1', 'extend-2'):
        runner = run(playbook, inventory, volume_ids, size_gb, data_dir, ident)
        summary[ident] = dict(measure(runner), rc=runner.rc, changed=changed_total(runner))
        if runner.rc != 0:
            problems.append('%s failed' % ident)
            break
        if ident == 'extend-1':
            if not all(entry['resized'] for entry in summary[ident]['engine']):
                problems.append('the engine did not resize every volume')
            sizes = [storage.get_volume(volume_id).size for volume_id in volume_ids]
            if sizes != [size_gb] * len(volume_ids):
                problems.append('Cinder reports %s GiB, not %d' % (sizes, size_gb))
        elif summary[ident]['changed']:
            problems.append('extend-2 changed something')
    summary['leaks'] = leaks(data_dir, chap_passwords(storage, volume_ids))
    if summary['leaks']:
        problems.append('a CHAP password is in the runner artifacts')
    summary['problems'] = problems
    print(json.dumps(summary, indent=2))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
