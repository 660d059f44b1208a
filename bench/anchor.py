"""The second anchor (lab host side): the whole playbooks/attach_volume.yml run against the whole
`cinder local-attach` command, real Cinder and Keystone (lab/openstack), same volume type.

  anchor.py volume create [--type two-portal]    a 1 GiB volume, waits until available; prints
                                                 {"id", "iqn", "project_id"}
  anchor.py volume delete ID
  anchor.py playbook attach|detach ID --inventory INV --collections DIR --playbooks DIR --labctl LABCTL
                                                 ansible-playbook as an operator runs it (controller on
                                                 this host, ssh into the guest); attach also waits in the
                                                 guest until the map has 2 active paths and reads

Runs with the controller venv (openstacksdk), OS_CLIENT_CONFIG_FILE/OS_CLOUD from `openstack-lab env`.
Prints one JSON object; times are wall seconds from the process start (ansible-playbook's own
start-up and the Cinder calls included: what the operator waits for).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IQN_PREFIX = "iqn.2010-10.org.openstack:volume-"  # Cinder's default target_prefix


def connect():
    import openstack  # pylint: disable=import-outside-toplevel  # only the volume commands need it
    return openstack.connect()


def volume_create(args) -> dict:
    cloud = connect()
    volume = cloud.block_storage.create_volume(size=1, volume_type=args.type, name="bench-anchor")
    volume = cloud.block_storage.wait_for_status(volume, status="available", failures=["error"], interval=1,
                                                 wait=300)
    return {"id": volume.id, "iqn": IQN_PREFIX + volume.id, "project_id": cloud.current_project_id}


def volume_delete(args) -> dict:
    cloud = connect()
    cloud.block_storage.delete_volume(args.id, ignore_missing=True)
    cloud.block_storage.wait_for_delete(cloud.block_storage.get_volume(args.id), interval=1, wait=300)
    return {"deleted": args.id}


def playbook(args) -> dict:
    play = os.path.join(args.playbooks, "%s_volume.yml" % args.action)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=args.collections, ANSIBLE_PIPELINING="1", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0")
    cmd = [args.ansible_playbook, "-i", args.inventory, play, "-e", "target_hosts=all", "-e", "volume_ids=" + args.id]
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    result = {"return_s": round(time.monotonic() - started, 3)}
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit("%s failed (rc %d)" % (play, proc.returncode))
    if args.action == "attach":  # usable map: 2 active paths and a direct read (the guest's own clock)
        wait = subprocess.run([args.labctl, "exec", "--", "python3", os.path.join(HERE, "guest", "mpstate.py"), "wait",
                               "target:%s%s/1" % (IQN_PREFIX, args.id), "--paths", "2", "--timeout", "120"],
                              capture_output=True, text=True, check=True)
        waited = json.loads(wait.stdout)
        result.update(ready_s=round(result["return_s"] + waited["elapsed_s"], 3), waited=waited)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("volume", "playbook"))
    parser.add_argument("action", choices=("create", "delete", "attach", "detach"))
    parser.add_argument("id", nargs="?")
    parser.add_argument("--type", default="two-portal")
    parser.add_argument("--inventory")
    parser.add_argument("--collections")
    parser.add_argument("--playbooks")
    parser.add_argument("--labctl")
    parser.add_argument("--ansible-playbook", default=os.path.join(os.path.dirname(HERE), ".venv", "bin",
                                                                   "ansible-playbook"))
    args = parser.parse_args()
    if args.what == "volume":
        result = volume_create(args) if args.action == "create" else volume_delete(args)
    else:
        result = playbook(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
