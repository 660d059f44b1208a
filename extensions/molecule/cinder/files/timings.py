# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test helper: min/median/max of Cinder's own request times (eventlet.wsgi log lines), per call kind.

usage: timings.py cinder.log   -> JSON {kind: {count, min, median, max}}
"""

import json
import re
import statistics
import sys

LINE = re.compile(r'"(?P<method>[A-Z]+) /v3/[^/ ]+(?P<path>/[^ ?]*)\S* HTTP/1\.1" status: (?P<status>\d+)'
                  r'.* time: (?P<seconds>[0-9.]+)')
KINDS = (
    ("attachment create", "POST", re.compile(r"^/attachments$")),
    ("attachment complete (os-complete)", "POST", re.compile(r"^/attachments/[^/]+/action$")),
    ("attachment delete", "DELETE", re.compile(r"^/attachments/[^/]+$")),
    ("volume action (legacy)", "POST", re.compile(r"^/volumes/[^/]+/action$")),
    ("volume create", "POST", re.compile(r"^/volumes$")),
)


def main():
    found = {}
    with open(sys.argv[1]) as handle:
        for line in handle:
            match = LINE.search(line)
            if not match or not match.group("status").startswith("2"):
                continue
            for kind, method, path in KINDS:
                if match.group("method") == method and path.match(match.group("path")):
                    found.setdefault(kind, []).append(float(match.group("seconds")))
    print(json.dumps({kind: {"count": len(values), "min": min(values), "median": statistics.median(values),
                             "max": max(values)} for kind, values in found.items()}, sort_keys=True))


if __name__ == "__main__":
    main()
