"""Drive the collection the way a user does: ansible-playbook on the lab host as the controller,
ssh into the guest as the managed host (--inventory, the lab's inventory), or with ansible's local
connection inside the guest (no --inventory; the strace command counts use that).

  ours_driver.py cycle  --ci A.json --runs N [--mode volume|modules|role]
  ours_driver.py attach --ci A.json [--ci B.json ...] --state S [--paths 2] [--mode ...]
  ours_driver.py detach --state S [--mode ...]
  ours_driver.py setup                 roles initiator + multipath with their defaults
  ours_driver.py overhead --runs N     spans of a raw task and of the ping module (Ansible's own cost)

Modes: volume = one iscsi_volume call per volume (several volumes: all at once, async);
modules = the chain iscsi_session per portal + multipath_device; role = volume_attach/detach.
One ansible-playbook process per command (bench/ansible/*.yml), ANSIBLE_PIPELINING on; the
bench_timer callback records every task. Times are task spans (first task start to last task
end of a step), so ansible-playbook's own start-up is excluded and reported apart as
playbook_wall_s; iscsi_volume's own seconds per phase are reported as `module`.
Prints the same JSON shapes as osbrick_driver.py.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
WORK = "/tmp/bench"


def run_playbook(play: str, extra: dict, args: argparse.Namespace) -> tuple[list, float]:
    timer = os.path.join(WORK, "timer-%s-%d.jsonl" % (play, os.getpid()))
    vars_file = os.path.join(WORK, "vars-%d.json" % os.getpid())
    extra = dict(extra, bench_mode=args.mode, bench_guest_dir=HERE,
                 ansible_python_interpreter=args.interpreter)
    with open(vars_file, "w", encoding="utf-8") as handle:
        json.dump(extra, handle)
    ci_dir = os.path.dirname(os.path.abspath(args.ci[0])) if args.ci else WORK
    env = dict(os.environ, BENCH_TIMER_OUT=timer, BENCH_CI_DIR=ci_dir, ANSIBLE_COLLECTIONS_PATH=args.collections,
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(BENCH, "ansible", "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="bench_timer", ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    where = ["-i", args.inventory] if args.inventory else ["-i", "localhost,", "-c", "local"]
    cmd = [args.ansible_playbook, *where, os.path.join(BENCH, "ansible", play + ".yml"), "-e", "@" + vars_file]
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = round(time.monotonic() - started, 3)
    os.unlink(vars_file)
    lines = []
    if os.path.exists(timer):
        with open(timer, encoding="utf-8") as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
        os.unlink(timer)
    if proc.returncode != 0:
        failed = [line for line in lines if line["status"] == "failed"]
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit("ansible-playbook %s failed (rc %d): %s"
                         % (play, proc.returncode, failed[-1:] or "see above"))
    return lines, wall


def step(line: dict) -> str | None:
    """attach / wait / detach / run marker of a task line (by name prefix or role)."""
    if line.get("role"):  # the role name may come fully qualified
        role = line["role"].rsplit(".", 1)[-1]
        return {"volume_attach": "attach", "volume_detach": "detach"}.get(role)
    name = line["name"]
    return name.split("|", 1)[0].lower() if "|" in name else None


def split_runs(lines: list) -> list:
    """Group the task lines by the `run|N` marker tasks, then by step."""
    runs = []
    for line in lines:
        kind = step(line)
        if kind == "run" and line["status"] != "skipped":
            runs.append({})
        elif kind and runs and line["status"] != "skipped":
            runs[-1].setdefault(kind, []).append(line)
    return runs


def span(lines: list) -> float:
    return round(max(x["end"] for x in lines) - min(x["start"] for x in lines), 3) if lines else 0.0


def module_sum(lines: list) -> float:
    """Seconds spent in module tasks (tasks that run code on the host) of a step."""
    return round(sum(x["end"] - x["start"] for x in lines
                     if x["action"].startswith("cinder_local.")), 3)


def waited(lines: list) -> dict:
    for line in lines:
        if "json" in line:
            return line["json"]
    return {"ready": False, "elapsed_s": 0.0}


def module_phases(lines: list) -> dict | None:
    """iscsi_volume's own seconds per phase; several calls at once: the slowest of each phase."""
    found = [e for x in lines for e in x.get("elapsed") or []]
    if not found:
        return None
    return dict((key, max(e.get(key, 0.0) for e in found)) for key in sorted(set().union(*found)))


def summarise_run(run: dict) -> dict:
    wait = waited(run.get("wait", []))
    attach = span(run.get("attach", []))
    out = {"connect_s": attach, "ready_s": round(attach + wait["elapsed_s"], 3),
           "ready": wait["ready"], "active_paths": wait.get("paths"),
           "attach_modules_s": module_sum(run.get("attach", [])),
           "module": module_phases(run.get("attach", []) + run.get("collect", []))}
    if "detach" in run:
        out["detach_s"] = span(run["detach"])
        out["detach_module"] = module_phases(run["detach"])
    return out


def task_times(lines: list) -> list:
    """[name, seconds] of every task that ran: where the seconds go."""
    return [[x["name"][-60:], round(x["end"] - x["start"], 2)] for x in lines
            if x["status"] != "skipped" and x.get("start")]


def cmd_cycle(args) -> dict:
    lines, wall = run_playbook("cycle", {"bench_ci_files": args.ci[:1], "bench_runs": args.runs,
                                         "bench_paths": args.paths}, args)
    return {"runs": [summarise_run(run) for run in split_runs(lines)], "playbook_wall_s": wall,
            "tasks": task_times(lines)}


def cmd_attach(args) -> dict:
    """Modules: one run per volume; role: one run for all volumes (the role's own way)."""
    lines, wall = run_playbook("attach", {"bench_ci_files": args.ci, "bench_paths": args.paths},
                               args)
    volumes = [summarise_run(run) for run in split_runs(lines)]
    with open(args.state, "w", encoding="utf-8") as handle:
        json.dump({"ci": args.ci}, handle)
    return {"total_s": round(sum(v["ready_s"] for v in volumes), 3), "volumes": volumes,
            "playbook_wall_s": wall, "tasks": task_times(lines)}


def cmd_detach(args) -> dict:
    with open(args.state, encoding="utf-8") as handle:
        args.ci = json.load(handle)["ci"]
    lines, wall = run_playbook("detach", {"bench_ci_files": args.ci}, args)
    runs = split_runs(lines)
    per = [span(run.get("detach", [])) for run in runs]
    phases = [module_phases(run.get("detach", [])) for run in runs]
    module = round(sum(p["total_s"] for p in phases), 3) if all(phases) and phases else None
    return {"total_s": round(sum(per), 3), "per_run_s": per, "module_total_s": module,
            "playbook_wall_s": wall, "tasks": task_times(lines)}


def cmd_overhead(args) -> dict:
    lines, wall = run_playbook("overhead", {"bench_runs": args.runs}, args)
    return {"runs": [{"raw_s": span(run.get("raw", [])), "ping_s": span(run.get("ping", []))}
                     for run in split_runs(lines)], "playbook_wall_s": wall}


def cmd_setup(args) -> dict:
    lines, wall = run_playbook("setup", {}, args)
    return {"roles_s": span(lines), "playbook_wall_s": wall, "tasks": task_times(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cmd", choices=("cycle", "attach", "detach", "setup", "overhead"))
    parser.add_argument("--ci", action="append", default=[])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--paths", type=int, default=2)
    parser.add_argument("--mode", choices=("volume", "modules", "role"), default="volume")
    parser.add_argument("--state", default=os.path.join(WORK, "ours-state.json"))
    parser.add_argument("--collections", required=True)
    parser.add_argument("--inventory", help="the lab's inventory: run as the controller, over ssh")
    parser.add_argument("--ansible-playbook",
                        default=os.path.join(os.path.dirname(BENCH), ".venv", "bin", "ansible-playbook"))
    parser.add_argument("--interpreter", default="/usr/bin/python3")
    args = parser.parse_args()
    os.makedirs(WORK, exist_ok=True)
    result = {"cycle": cmd_cycle, "attach": cmd_attach, "detach": cmd_detach,
              "setup": cmd_setup, "overhead": cmd_overhead}[args.cmd](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
