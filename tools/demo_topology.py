"""Summarise `multipathd show maps json` (read from stdin) as one line per map and per path.

Prints `maps: N` last, so a caller can check that nothing is left after a detach.
"""
import json
import sys

import jmespath

TOPOLOGY = jmespath.compile(
    "maps[].{name: name, dm: sysfs, paths: path_groups[].paths[]"
    ".{dev: dev, dm_st: dm_st, chk_st: chk_st, portal_via: host_adapter, target: target_wwnn}[]}"
)


def main():
    text = sys.stdin.read().strip()
    maps = TOPOLOGY.search(json.loads(text)) if text.startswith("{") else []
    for mpath in maps or []:
        print("%s  %s  %d path(s)" % (mpath["name"], mpath["dm"], len(mpath["paths"])))
        for path in mpath["paths"]:
            print("  %(dev)-5s %(dm_st)-7s %(chk_st)-6s from %(portal_via)s to %(target)s" % path)
    print("maps: %d" % len(maps or []))


if __name__ == "__main__":
    main()
