"""Turn one driver output (JSON on stdin) into raw sample lines (JSON lines on stdout).

  samples.py cycle APPROACH [--prefix role_]   {"runs": [{ready_s, connect_s, detach_s}]}
  samples.py scale APPROACH N [--prefix P]     attach or detach output of N volumes
  samples.py dead APPROACH [--prefix P]        attach output with one portal dropped
  samples.py stall APPROACH                    {"io": iocheck, "watch": mpstate watch}
  samples.py trace APPROACH                    {"commands": {...}, "peak_rss_kib": N}
  samples.py overhead APPROACH                 {"runs": [{raw_s, ping_s}]} (ours only)
  samples.py anchor APPROACH                   {return_s[, ready_s]}: the second anchor's attach (ready_s) or
                                               detach (ours: bench/anchor.py, os_brick: cinder local-attach)

The drivers of both approaches print the same shapes (bench/guest/*_driver.py).
"""
from __future__ import annotations

import argparse
import json
import sys


def sample(approach: str, measure: str, value) -> dict:
    return {"approach": approach, "measure": measure, "value": value}


def from_module(phases, approach: str, name: str) -> list:
    """iscsi_volume's own seconds (total and per phase) as <name>_s, <name>_<phase>."""
    if not phases:
        return []
    return [sample(approach, name + ("_s" if key == "total_s" else "_" + key), value)
            for key, value in sorted(phases.items())]


def from_cycle(data: dict, approach: str, prefix: str) -> list:
    out = []
    for run in data["runs"]:
        if run.get("ready"):
            out.append(sample(approach, prefix + "attach_s", run["ready_s"]))
        out.append(sample(approach, prefix + "attach_return_s", run["connect_s"]))
        out.append(sample(approach, prefix + "detach_s", run.get("detach_s")))
        if run.get("module"):  # the task's span beyond the module's own time: Ansible's cost
            out.append(sample(approach, prefix + "attach_task_cost_s",
                              round(run["connect_s"] - run["module"]["total_s"], 3)))
        out += from_module(run.get("module"), approach, prefix + "module_attach")
        out += from_module(run.get("detach_module"), approach, prefix + "module_detach")
    return out


def from_scale(data: dict, approach: str, count: int, prefix: str) -> list:
    if "volumes" in data:  # attach
        ok = all(vol.get("ready", True) for vol in data["volumes"])
        total = data["total_s"] if ok else None
        out = [sample(approach, prefix + "scale_%d_s" % count, total)]
        if total is not None:
            out.append(sample(approach, prefix + "scale_%d_per_volume_s" % count,
                              round(total / count, 3)))
        phases = data["volumes"][0].get("module") if data["volumes"] else None
        if phases:
            out.append(sample(approach, prefix + "module_scale_%d_s" % count, phases["total_s"]))
        return out
    out = [sample(approach, prefix + "detach_%d_s" % count, data["total_s"])]
    if data.get("module_total_s") is not None:
        out.append(sample(approach, prefix + "module_detach_%d_s" % count, data["module_total_s"]))
    return out


def from_dead(data: dict, approach: str, prefix: str) -> list:
    vol = data["volumes"][0]
    return [sample(approach, prefix + "dead_portal_attach_s",
                   vol["ready_s"] if vol.get("ready") else None),
            sample(approach, prefix + "dead_portal_return_s", vol["connect_s"])] + from_module(
                vol.get("module"), approach, prefix + "module_dead_portal")


def from_stall(data: dict, approach: str) -> list:
    io, watch = data["io"], data["watch"]
    return [sample(approach, "io_stall_s", io["max_gap_s"]),
            sample(approach, "io_errors", io["io_errors"]),
            sample(approach, "mismatches", io["mismatches"]),
            sample(approach, "bytes_verified", io["bytes_verified"]),
            sample(approach, "path_failed_s", watch.get("path_failed_after_cut_s")),
            sample(approach, "path_back_s", watch.get("path_back_s"))]


def from_trace(data: dict, approach: str) -> list:
    out = [sample(approach, "peak_rss_kib", data.get("peak_rss_kib"))]
    for group, count in data.get("commands", {}).items():
        out.append(sample(approach, "commands_" + group, count))
    return out


def from_overhead(data: dict, approach: str) -> list:
    return [sample(approach, "task_" + key, run[key]) for run in data["runs"] for key in ("raw_s", "ping_s")]


def from_anchor(data: dict, approach: str) -> list:
    if "ready_s" in data:  # attach
        return [sample(approach, "anchor_attach_s", data["ready_s"]),
                sample(approach, "anchor_attach_return_s", data["return_s"])]
    return [sample(approach, "anchor_detach_s", data["return_s"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("cycle", "scale", "dead", "stall", "trace", "overhead", "anchor"))
    parser.add_argument("approach", choices=("ours", "os_brick"))
    parser.add_argument("count", nargs="?", type=int, default=1)
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    data = json.load(sys.stdin)
    if args.kind == "cycle":
        lines = from_cycle(data, args.approach, args.prefix)
    elif args.kind == "scale":
        lines = from_scale(data, args.approach, args.count, args.prefix)
    elif args.kind == "dead":
        lines = from_dead(data, args.approach, args.prefix)
    elif args.kind == "stall":
        lines = from_stall(data, args.approach)
    elif args.kind == "overhead":
        lines = from_overhead(data, args.approach)
    elif args.kind == "anchor":
        lines = from_anchor(data, args.approach)
    else:
        lines = from_trace(data, args.approach)
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
