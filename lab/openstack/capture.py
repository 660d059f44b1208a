# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Record real answers of the lab Cinder to the legacy volume actions, for the unit-test fixtures.

usage: OS_CLOUD=... python capture.py OUTDIR     (uses a throwaway volume 'capture-legacy')
Each file: {"request": {method, path, body, microversion}, "response": {status, body}}.
"""

import json
import os
import sys

import openstack

CONNECTOR = {"host": "capture", "initiator": "iqn.1993-08.org.debian:01:capture", "ip": "192.0.2.10",
             "multipath": True}


def main():
    outdir = sys.argv[1]
    storage = openstack.connect().block_storage
    volume = storage.create_volume(name="capture-legacy", size=1, volume_type="two-portal")
    volume = storage.wait_for_status(volume, status="available", wait=120)
    action = "/volumes/%s/action" % volume.id

    def record(name, method, path, body=None, microversion=None):
        kwargs = {"raise_exc": False, "microversion": microversion}
        if body is not None:
            kwargs["json"] = body
        response = storage.request(path, method, **kwargs)
        text = response.text
        with open(os.path.join(outdir, "lab__%s.json" % name), "w") as handle:
            json.dump({"request": {"method": method, "path": path, "body": body, "microversion": microversion},
                       "response": {"status": response.status_code, "body": json.loads(text) if text else ""}},
                      handle, indent=2, sort_keys=True)
        print(name, response.status_code, file=sys.stderr)

    try:
        record("os_reserve", "POST", action, {"os-reserve": {}})
        record("os_unreserve", "POST", action, {"os-unreserve": {}})
        record("os_reserve_again", "POST", action, {"os-reserve": {}})
        record("os_attach", "POST", action, {"os-attach": {"mountpoint": "/dev/dm-0", "host_name": "capture",
                                                           "mode": "rw"}})
        record("volume_show_attached", "GET", "/volumes/%s" % volume.id)
        attachment_id = storage.get_volume(volume.id).attachments[0]["attachment_id"]
        record("os_begin_detaching", "POST", action, {"os-begin_detaching": {}})
        record("os_roll_detaching", "POST", action, {"os-roll_detaching": {}})
        record("os_begin_detaching_again", "POST", action, {"os-begin_detaching": {}})
        record("os_terminate_connection", "POST", action, {"os-terminate_connection": {"connector": CONNECTOR}})
        record("os_detach", "POST", action, {"os-detach": {"attachment_id": attachment_id}})
        record("volume_show_unknown", "GET", "/volumes/00000000-0000-0000-0000-000000000000")
        record("attachment_create_mv3.99", "POST", "/attachments",
               {"attachment": {"volume_uuid": volume.id, "connector": CONNECTOR}}, "3.99")
    finally:
        storage.delete_volume(volume, force=True)


if __name__ == "__main__":
    main()
