"""Drive os-brick's ISCSIConnector the way Nova does (runs in the lab guest with the
.venv-openstack interpreter, as root, privsep through privsep-helper, no sudo).

  osbrick_driver.py cycle  --ci A.json --runs N       N x (connect, wait 2 paths + IO, disconnect)
  osbrick_driver.py attach --ci A.json [--ci B.json ...] --state S [--paths 2]
  osbrick_driver.py detach --state S

connection_info files are Cinder's {"driver_volume_type": "iscsi", "data": {...}}.
Times are seconds in one warm process: the privsep daemon is started before the clock runs
(its start-up is reported as privsep_start_s). Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpstate  # noqa: E402  (sibling helper, stdlib only)

from oslo_config import cfg  # noqa: E402
import os_brick  # noqa: E402
from os_brick import privileged  # noqa: E402
from os_brick.initiator import connector  # noqa: E402

VENV_BIN = os.path.dirname(sys.executable)


def make_connector(lock_dir: str):
    cfg.CONF([], project="bench-osbrick", default_config_files=[])
    cfg.CONF.set_override("helper_command", os.path.join(VENV_BIN, "privsep-helper"),
                          group="privsep_osbrick")
    os.makedirs(lock_dir, exist_ok=True)
    cfg.CONF.set_override("lock_path", lock_dir, group="os_brick")
    os_brick.setup(cfg.CONF)
    started = time.monotonic()
    privileged.default.start()
    privsep_s = time.monotonic() - started
    conn = connector.InitiatorConnector.factory("ISCSI", None, use_multipath=True)
    return conn, privsep_s


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        info = json.load(handle)
    return info.get("data", info)


def timed(func, *args) -> float:
    started = time.monotonic()
    func(*args)
    return round(time.monotonic() - started, 3)


def attach_one(conn, props: dict, paths: int, timeout: float) -> dict:
    started = time.monotonic()
    device = conn.connect_volume(props)
    returned = round(time.monotonic() - started, 3)
    if not paths:  # command-count pass: no probes of ours in the trace
        return {"device": device, "connect_s": returned}
    ready = mpstate.wait_ready(device["path"], paths, timeout, start=started)
    return {"device": device, "connect_s": returned, "ready_s": ready["elapsed_s"],
            "ready": ready["ready"], "active_paths": ready["paths"]}


def peak_rss_kib() -> dict:
    """VmHWM of this process, its descendants and the privsep daemon (which daemonizes)."""
    parents, helpers = {}, set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid, encoding="utf-8") as handle:
                parents[int(pid)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                if b"privsep-helper" in handle.read():
                    helpers.add(int(pid))
        except OSError:
            continue
    family, grew = {os.getpid()} | helpers, True
    while grew:
        kids = {pid for pid, ppid in parents.items() if ppid in family} - family
        family |= kids
        grew = bool(kids)
    peaks = {}
    for pid in family:
        try:
            with open("/proc/%d/status" % pid, encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        peaks[pid] = int(line.split()[1])
        except OSError:
            continue
    return {"total_kib": sum(peaks.values()), "per_process_kib": sorted(peaks.values())}


def cmd_cycle(conn, args) -> dict:
    props = load(args.ci[0])
    runs = []
    for dummy in range(args.runs):
        run = attach_one(conn, props, args.paths, args.timeout)
        run["detach_s"] = timed(conn.disconnect_volume, props, run.pop("device"))
        runs.append(run)
    return {"runs": runs}


def cmd_attach(conn, args) -> dict:
    started = time.monotonic()
    volumes = []
    for path in args.ci:
        run = attach_one(conn, load(path), args.paths, args.timeout)
        run["ci"] = path
        volumes.append(run)
    total = round(time.monotonic() - started, 3)
    with open(args.state, "w", encoding="utf-8") as handle:
        json.dump(volumes, handle)
    return {"total_s": total, "volumes": volumes}


def cmd_detach(conn, args) -> dict:
    with open(args.state, encoding="utf-8") as handle:
        volumes = json.load(handle)
    started = time.monotonic()
    per = []
    for vol in volumes:
        per.append(timed(conn.disconnect_volume, load(vol["ci"]), vol["device"]))
    return {"total_s": round(time.monotonic() - started, 3), "per_volume_s": per}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cmd", choices=("cycle", "attach", "detach"))
    parser.add_argument("--ci", action="append", default=[])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--paths", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--state", default="/tmp/bench/osbrick-state.json")
    parser.add_argument("--lock-dir", default="/tmp/bench/osbrick-locks")
    args = parser.parse_args()
    conn, privsep_s = make_connector(args.lock_dir)
    result = {"cycle": cmd_cycle, "attach": cmd_attach, "detach": cmd_detach}[args.cmd](conn, args)
    result["privsep_start_s"] = round(privsep_s, 3)
    result["peak_rss"] = peak_rss_kib()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
