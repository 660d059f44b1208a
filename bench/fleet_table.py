# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print the table of bench/fleet.sh from its samples.jsonl: per shape and action, the medians of the play's wall
time, of each host's engine call and of each host's first Cinder task.

usage: python fleet_table.py SAMPLES_JSONL
"""

import collections
import json
import statistics
import sys


def median(values):
    return '%.1f' % statistics.median(values) if values else '-'


def main():
    rows = collections.defaultdict(lambda: {'wall': [], 'engine': [], 'cinder': [], 'failed': 0})
    with open(sys.argv[1]) as handle:
        for sample in map(json.loads, handle):
            row = rows[(sample['shape'], sample['action'])]
            row['failed'] += sample['rc'] != 0
            row['wall'].append(sample['wall_s'])
            row['engine'].extend(host['seconds'] for host in sample['engine'].values())
            row['cinder'].extend(host['seconds'] for host in sample['cinder'].values())
    print('| hosts x volumes | playbook | runs | play wall s (median) | engine call per host s | first Cinder task per host s |')
    print('| --- | --- | --- | --- | --- | --- |')
    for (shape, action), row in sorted(rows.items()):
        runs = '%d%s' % (len(row['wall']), ' (%d failed)' % row['failed'] if row['failed'] else '')
        print('| %s | %s_volume.yml | %s | %s | %s | %s |' % (shape, action, runs, median(row['wall']),
                                                              median(row['engine']), median(row['cinder'])))


if __name__ == '__main__':
    main()
