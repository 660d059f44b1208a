"""Count the storage commands in an `strace -f -ttt -e trace=execve,exit_group` log,
time each one (execve to exit_group of its pid) and read the peak RSS lines that
bench/guest/pyrss.sh appended. Prints {"commands": {...}, "peak_rss_kib": N, "timeline": [...]}.

  cmdcount.py TRACE [--rss FILE | --driver-json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import re

EXECVE = re.compile(r'^(\d+) +([\d.]+ )?execve\("([^"]+)", \[(.*?)\]')
RESUMED = re.compile(r'^(\d+) +[\d.]* ?<\.\.\. execve resumed>.* = 0$')
EXIT = re.compile(r'^(\d+) +([\d.]+) exit_group\(')
GROUPS = {"iscsiadm": "iscsiadm", "multipath": "multipath", "multipathd": "multipath",
          "dmsetup": "other", "blockdev": "other", "udevadm": "other", "lsblk": "other",
          "scsi_id": "other", "sg_inq": "other", "kpartx": "other", "sg_scan": "other",
          "systemctl": "other", "mount": "other", "umount": "other"}


def count(trace_path: str) -> tuple[dict, list]:
    """Per group counts, and a timeline of every storage command and python process."""
    counts = {"iscsiadm": 0, "multipath": 0, "other": 0, "per_tool": {}}
    started, ended, pending, first = {}, {}, {}, None
    with open(trace_path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            match, resumed = EXECVE.search(line), RESUMED.search(line)
            if match and line.endswith("<unfinished ...>"):
                pending[match.group(1)] = match.groups()
                continue
            if resumed and resumed.group(1) in pending:
                match = pending.pop(resumed.group(1))
            elif match and not line.endswith(" = 0"):
                continue  # failed execve (PATH search)
            else:
                match = match.groups() if match else None
            if match:
                pid, stamp, path, argv = match
                first = first if first is not None or not stamp else float(stamp)
                tool = os.path.basename(path)
                started[pid] = (float(stamp) if stamp else 0.0, tool, argv)
                group = GROUPS.get(tool)
                if group:
                    counts[group] += 1
                    counts["per_tool"][tool] = counts["per_tool"].get(tool, 0) + 1
                continue
            match = EXIT.search(line)
            if match:
                ended[match.group(1)] = float(match.group(2))
    timeline = []
    for pid, (stamp, tool, argv) in sorted(started.items(), key=lambda item: item[1][0]):
        if tool in GROUPS or tool.startswith("python") or "privsep" in argv:
            args = [a.strip('"') for a in argv.split(", ")][1:6]
            timeline.append({"t": round(stamp - (first or 0), 3), "tool": tool, "args": args,
                             "dur": round(ended[pid] - stamp, 3) if pid in ended else None})
    return counts, timeline


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
    commands, timeline = count(args.trace)
    peak = peak_rss(args.rss)
    if args.driver_json:
        with open(args.driver_json, encoding="utf-8") as handle:
            peak = json.load(handle)["peak_rss"]["total_kib"]
    print(json.dumps({"commands": {k: v for k, v in commands.items() if k != "per_tool"},
                      "per_tool": commands["per_tool"], "peak_rss_kib": peak,
                      "timeline": timeline}))


if __name__ == "__main__":
    main()
