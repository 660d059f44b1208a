# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""usage: wait_paths.py TIMEOUT PATHS WWID...: poll multipathd (every 0.25 s) until the map named WWID of every WWID
has exactly PATHS paths active in the kernel and ready for its checker; print the maps' paths and the seconds waited
as JSON; exit 1 after TIMEOUT seconds."""
import json
import subprocess
import sys
import time


def paths(wwids):
    """{wwid: [[dev, dm_st, chk_st]]} of the maps named by their WWID (a missing map: no entry)."""
    listing = subprocess.run(['multipathd', 'show', 'maps', 'json'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             check=False, env={'LC_ALL': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'})
    try:
        maps = json.loads(listing.stdout)['maps']
    except (ValueError, KeyError):
        return {}
    return dict((m['uuid'], [[p['dev'], p['dm_st'], p['chk_st']] for g in m['path_groups'] for p in g['paths']])
                for m in maps if m['uuid'] in wwids and m['name'] == m['uuid'])


def main():
    timeout, count, wwids = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    start = time.monotonic()
    while True:
        found = paths(wwids)
        good = all(len([p for p in found.get(w, []) if p[1] == 'active' and p[2] == 'ready']) == count for w in wwids)
        waited = round(time.monotonic() - start, 2)
        if good or waited > timeout:
            print(json.dumps({'paths': found, 'waited_s': waited}))
            return 0 if good else 1
        time.sleep(0.25)


if __name__ == '__main__':
    sys.exit(main())
