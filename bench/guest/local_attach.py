"""The second anchor (in the lab guest): the whole `cinder local-attach` / `cinder local-detach` command of
python-brick-cinderclient-ext, as an operator runs it on the host, against the lab's real Cinder.

  local_attach.py attach VOLUME_ID --env ENV.json    then waits until the map has 2 active paths and reads
  local_attach.py detach VOLUME_ID --env ENV.json

ENV.json: {"venv": ..., "os": {OS_* and CINDER_ENDPOINT variables}} (bench/run.sh writes it). The command
runs as root with a `sudo` that only execs (the brick extension's root helper is `sudo`; privsep-helper and
cinder from the venv) and OSLO_LOCK_PATH for os-brick's locks. Prints one JSON object; times are wall seconds
from the command's start (its Python start-up, Keystone and Cinder calls, os-brick's connect included).

Both commands of python-brick-cinderclient-ext 2.8.0 end in an error here, each after its work on the host is
done (seen in the lab, 2026-12-04); the run counts that exit as the command's end, says so in "exit", and checks
the host (attach: the map is usable; detach: no device of the target is left):
- local-attach prints its result with cinderclient.utils.print_dict, which python-cinderclient 9 has in
  shell_utils only: exit 1 after the connect and Cinder's attachment complete.
- local-detach: the attachment it made names a random instance, so Cinder 29 asks Nova before it deletes it
  (the fix of Cinder bug 2004555); without Nova that is an HTTP 500: exit 1 after os-brick's disconnect, the
  attachment left in Cinder (the bench gives every local-attach a volume of its own).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = "/tmp/bench"
IQN_PREFIX = "iqn.2010-10.org.openstack:volume-"
KNOWN_EXITS = {"attach": "has no attribute 'print_dict'", "detach": "(HTTP 500)"}


def environment(spec: dict) -> dict:
    shim = os.path.join(WORK, "bin")
    os.makedirs(shim, exist_ok=True)
    os.makedirs(os.path.join(WORK, "locks"), exist_ok=True)
    sudo = os.path.join(shim, "sudo")
    with open(sudo, "w", encoding="utf-8") as handle:
        handle.write('#!/bin/sh\nexec "$@"\n')
    os.chmod(sudo, 0o755)
    return dict(os.environ, PATH="%s:%s/bin:%s" % (shim, spec["venv"], os.environ.get("PATH", "/usr/sbin:/usr/bin")),
                OSLO_LOCK_PATH=os.path.join(WORK, "locks"), PYTHONWARNINGS="ignore", **spec["os"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("attach", "detach"))
    parser.add_argument("volume")
    parser.add_argument("--env", required=True)
    args = parser.parse_args()
    with open(args.env, encoding="utf-8") as handle:
        spec = json.load(handle)
    env = environment(spec)
    cmd = [os.path.join(spec["venv"], "bin", "cinder"), "local-" + args.action, args.volume, "--multipath", "True"]
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    result = {"return_s": round(time.monotonic() - started, 3)}
    if proc.returncode != 0 and KNOWN_EXITS[args.action] in proc.stderr:
        result["exit"] = "rc %d: %s" % (proc.returncode, proc.stderr.strip().splitlines()[-1])
    elif proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit("cinder local-%s failed (rc %d)" % (args.action, proc.returncode))
    left = glob.glob("/dev/disk/by-path/*-iscsi-%s%s-lun-*" % (IQN_PREFIX, args.volume))
    if args.action == "detach" and left:
        raise SystemExit("cinder local-detach left %s" % ", ".join(left))
    if args.action == "attach":
        wait = subprocess.run([sys.executable, os.path.join(HERE, "mpstate.py"), "wait",
                               "target:%s%s/1" % (IQN_PREFIX, args.volume), "--paths", "2", "--timeout", "120"],
                              capture_output=True, text=True, check=True)
        waited = json.loads(wait.stdout)
        result.update(ready_s=round(result["return_s"] + waited["elapsed_s"], 3), waited=waited)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
