# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test helper: create / show / delete a lab volume with openstacksdk (cloud from OS_CLOUD).

usage: volume.py create NAME TYPE | show NAME | delete NAME   -> prints the volume as JSON
       volume.py endpoint NAME                                 -> prints the block-storage endpoint
"""

import json
import sys

import openstack

TIMEOUT = 120


def main():
    action, name = sys.argv[1], sys.argv[2]
    conn = openstack.connect()
    storage = conn.block_storage
    if action == "endpoint":
        print(storage.get_endpoint())
        return
    volume = storage.find_volume(name)
    if action == "create":
        if volume is None:
            volume = storage.create_volume(name=name, size=1, volume_type=sys.argv[3])
        volume = storage.wait_for_status(volume, status="available", failures=["error"], wait=TIMEOUT)
    elif action == "delete":
        if volume is not None:
            storage.delete_volume(volume)
            storage.wait_for_delete(volume, wait=TIMEOUT)
        print(json.dumps({"deleted": volume is not None}))
        return
    print(json.dumps({key: volume[key] for key in ("id", "name", "status", "volume_type", "attachments")}))


if __name__ == "__main__":
    main()
