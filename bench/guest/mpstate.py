"""Multipath state probes for the benchmark (runs in the lab guest, stdlib only).

  mpstate.py wait DM... --paths N [--timeout S]   wait until each DM has N active paths
                                               and a direct read works; prints elapsed JSON
  mpstate.py wait DM --paths N --down          wait until DM has fewer than N active paths
  mpstate.py watch DM --portal IP:PORT         log (t, portal reachable, active paths)
                                               every 0.2 s until --stop-file appears,
                                               then print the transitions as JSON
  mpstate.py maps                              JSON list of dm multipath maps + paths
  mpstate.py io-portal DM                      portal of a path in the group that carries IO

DM is a dm name, /dev/dm-N, /dev/mapper/NAME, a WWID (looked up under /dev/disk/by-id) or
target:IQN/LUN (whichever tool attached it).
"""
from __future__ import annotations

import argparse
import glob
import json
import mmap
import os
import re
import socket
import subprocess
import time

PATH_STATE = re.compile(r"\b(\d+:\d+) ([AF]) \d+")


def resolve(dm: str) -> str:
    """Return /dev/dm-N for any way of naming a multipath map, including `target:IQN/LUN`
    (the map holding any SCSI disk of that target LUN: works whatever attached it)."""
    if dm.startswith("target:"):
        iqn, lun = dm[len("target:"):].rsplit("/", 1)
        for link in glob.glob("/dev/disk/by-path/*-iscsi-%s-lun-%s" % (iqn, lun)):
            disk = os.path.basename(os.path.realpath(link))
            for holder in glob.glob("/sys/block/%s/holders/dm-*" % disk):
                return "/dev/" + os.path.basename(holder)
        raise FileNotFoundError("no multipath map holds a disk of %s" % dm)
    candidates = [dm, "/dev/mapper/" + dm, "/dev/disk/by-id/dm-uuid-mpath-" + dm,
                  "/dev/disk/by-id/dm-uuid-mpath-3" + dm]
    for cand in candidates:
        if cand.startswith("/dev/") and os.path.exists(cand):
            return os.path.realpath(cand)
    raise FileNotFoundError("no multipath device for %r" % dm)


def path_states(dev: str) -> list:
    """[(major:minor, 'A'|'F')] from the kernel's multipath table status."""
    rdev = os.stat(dev).st_rdev
    proc = subprocess.run(["dmsetup", "status", "-j", str(os.major(rdev)), "-m", str(os.minor(rdev))],
                          capture_output=True, text=True, check=False)
    return PATH_STATE.findall(proc.stdout)


def io_portal(dev: str) -> str | None:
    """address:port of a path in the path group that carries IO now (status state A), so a
    stall test cuts the network IO really uses (failover grouping leaves the others idle)."""
    rdev = os.stat(dev).st_rdev
    proc = subprocess.run(["dmsetup", "status", "-j", str(os.major(rdev)), "-m", str(os.minor(rdev))],
                          capture_output=True, text=True, check=False)
    for disk in active_group_devs(proc.stdout):
        block = os.path.realpath("/sys/dev/block/" + disk)
        session = re.search(r"/(session\d+)/", block)
        if session:
            conn = glob.glob("/sys/class/iscsi_session/%s/device/connection*/iscsi_connection/*"
                             % session.group(1))
            if conn:
                with open(conn[0] + "/persistent_address", encoding="utf-8") as handle:
                    address = handle.read().strip()
                with open(conn[0] + "/persistent_port", encoding="utf-8") as handle:
                    return "%s:%s" % (address, handle.read().strip())
    return None


def active_group_devs(status: str) -> list:
    """major:minor of the paths of the active path group in a multipath status line."""
    words = status.split()
    if "multipath" not in words:
        return []
    pos = words.index("multipath") + 1
    pos += 1 + int(words[pos])  # features
    pos += 1 + int(words[pos])  # hardware handler
    groups = int(words[pos])
    pos += 2
    for _group in range(groups):
        state = words[pos]
        pos += 1 + 1 + int(words[pos + 1])  # state, #status args
        paths, per_path = int(words[pos]), int(words[pos + 1])
        pos += 2
        devs = [words[pos + i * (3 + per_path)] for i in range(paths)]
        pos += paths * (3 + per_path)
        if state == "A":
            return devs
    return []


def active_paths(dev: str) -> int:
    try:
        return sum(1 for _dev, state in path_states(dev) if state == "A")
    except OSError:
        return 0


def can_read(dev: str) -> bool:
    buf = mmap.mmap(-1, 4096)
    try:
        fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
        try:
            return os.preadv(fd, [buf], 0) == 4096
        finally:
            os.close(fd)
    except OSError:
        return False


def wait_ready(dm: str, paths: int, timeout: float, start: float | None = None) -> dict:
    """Poll until the map has `paths` active paths and serves a direct read."""
    start = time.monotonic() if start is None else start
    if paths <= 0:  # command-count pass: no probes
        return {"ready": True, "dev": None, "paths": 0, "elapsed_s": 0.0}
    dev = None
    while time.monotonic() - start < timeout:
        try:
            dev = dev or resolve(dm)
            if active_paths(dev) >= paths and can_read(dev):
                return {"ready": True, "dev": dev, "paths": active_paths(dev),
                        "elapsed_s": round(time.monotonic() - start, 3)}
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    return {"ready": False, "dev": dev, "paths": active_paths(dev) if dev else 0,
            "elapsed_s": round(time.monotonic() - start, 3)}


def wait_all(dms: list, paths: int, timeout: float) -> dict:
    """wait_ready for several maps; elapsed until the last one is ready."""
    start = time.monotonic()
    results = [wait_ready(dm, paths, timeout, start=start) for dm in dms]
    if len(results) == 1:
        return results[0]
    return {"ready": all(r["ready"] for r in results), "dev": [r["dev"] for r in results],
            "paths": min(r["paths"] for r in results),
            "elapsed_s": max(r["elapsed_s"] for r in results)}


def wait_down(dm: str, paths: int, timeout: float) -> dict:
    """Poll until the map has fewer than `paths` active paths (a path failed)."""
    start = time.monotonic()
    dev = resolve(dm)
    while time.monotonic() - start < timeout and active_paths(dev) >= paths:
        time.sleep(0.1)
    return {"down": active_paths(dev) < paths, "dev": dev, "paths": active_paths(dev),
            "elapsed_s": round(time.monotonic() - start, 3)}


def reachable(portal: str) -> bool:
    host, port = portal.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.3):
            return True
    except OSError:
        return False


def watch(dm: str, portal: str, stop_file: str, interval: float) -> dict:
    """Record when the portal goes away/returns and when the active path count changes."""
    dev = resolve(dm)
    start = time.monotonic()
    events, last = [], None
    while not os.path.exists(stop_file):
        state = (reachable(portal), active_paths(dev))
        if state != last:
            events.append({"t": round(time.monotonic() - start, 3), "portal_up": state[0],
                           "active": state[1]})
            last = state
        time.sleep(interval)
    return {"dev": dev, "portal": portal, "events": events, **transitions(events)}


def transitions(events: list) -> dict:
    """Seconds from the portal going down to a path failing, and from it coming back to
    all paths active again (the count seen before the cut)."""
    out = {}
    if not events:
        return out
    full = events[0]["active"]
    down = next((e["t"] for e in events if not e["portal_up"]), None)
    if down is None:
        return out
    failed = next((e["t"] for e in events if e["t"] >= down and e["active"] < full), None)
    up = next((e["t"] for e in events if e["t"] > down and e["portal_up"]), None)
    back = next((e["t"] for e in events if up is not None and e["t"] >= up
                 and e["active"] >= full), None)
    out["path_failed_after_cut_s"] = None if failed is None else round(failed - down, 3)
    out["path_back_s"] = None if back is None or up is None else round(back - up, 3)
    return out


def maps() -> list:
    result = []
    for link in sorted(glob.glob("/sys/block/dm-*/dm/uuid")):
        with open(link, encoding="utf-8") as handle:
            uuid = handle.read().strip()
        if uuid.startswith("mpath-"):
            dev = "/dev/" + link.split("/")[3]
            result.append({"dev": dev, "wwid": uuid[6:], "active": active_paths(dev),
                           "slaves": sorted(os.listdir("/sys/block/%s/slaves" % dev[5:]))})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_wait = sub.add_parser("wait")
    p_wait.add_argument("dm", nargs="+", help="wait for every one of them")
    p_wait.add_argument("--paths", type=int, default=2)
    p_wait.add_argument("--timeout", type=float, default=120)
    p_wait.add_argument("--down", action="store_true")
    p_watch = sub.add_parser("watch")
    p_watch.add_argument("dm")
    p_watch.add_argument("--portal", required=True)
    p_watch.add_argument("--stop-file", default="/tmp/bench/watch.stop")
    p_watch.add_argument("--interval", type=float, default=0.2)
    sub.add_parser("maps")
    p_portal = sub.add_parser("io-portal")
    p_portal.add_argument("dm")
    args = parser.parse_args()
    if args.cmd == "wait" and args.down:
        out = wait_down(args.dm[0], args.paths, args.timeout)
    elif args.cmd == "wait":
        out = wait_all(args.dm, args.paths, args.timeout)
    elif args.cmd == "watch":
        out = watch(args.dm, args.portal, args.stop_file, args.interval)
    elif args.cmd == "io-portal":
        out = {"portal": io_portal(resolve(args.dm))}
    else:
        out = maps()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
