"""Count the storage commands in an `strace -f -z -e trace=execve` log and read the peak
RSS lines that bench/guest/pyrss.sh appended. Prints {"commands": {...}, "peak_rss_kib": N}.

  cmdcount.py TRACE [--rss FILE | --driver-json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import re

EXECVE = re.compile(r'execve\("([^"]+)", \[(.*?)\]')
GROUPS = {"iscsiadm": "iscsiadm", "multipath": "multipath", "multipathd": "multipath",
          "dmsetup": "other", "blockdev": "other", "udevadm": "other", "lsblk": "other",
          "scsi_id": "other", "sg_inq": "other", "kpartx": "other", "sg_scan": "other",
          "systemctl": "other", "mount": "other", "umount": "other"}


def count(trace_path: str) -> dict:
    counts = {"iscsiadm": 0, "multipath": 0, "other": 0}
    per_tool = {}
    with open(trace_path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = EXECVE.search(line)
            if not match:
                continue
            tool = os.path.basename(match.group(1))
            group = GROUPS.get(tool)
            if group:
                counts[group] += 1
                per_tool[tool] = per_tool.get(tool, 0) + 1
    counts["per_tool"] = per_tool
    return counts


def peak_rss(path: str | None) -> int | None:
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        values = [int(line.split()[0]) for line in handle if line.strip()[:1].isdigit()]
    return max(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trace")
    parser.add_argument("--rss", help="lines of peak KiB, one per module run (pyrss.sh)")
    parser.add_argument("--driver-json", help="os-brick driver output with peak_rss")
    args = parser.parse_args()
    commands = count(args.trace)
    peak = peak_rss(args.rss)
    if args.driver_json:
        with open(args.driver_json, encoding="utf-8") as handle:
            peak = json.load(handle)["peak_rss"]["total_kib"]
    print(json.dumps({"commands": {k: v for k, v in commands.items() if k != "per_tool"},
                      "per_tool": commands["per_tool"], "peak_rss_kib": peak}))


if __name__ == "__main__":
    main()
