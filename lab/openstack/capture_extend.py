# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Record real answers of the lab Cinder to os-extend, for the cinder_volume_size unit-test fixtures.

usage: OS_CLOUD=... python capture_extend.py OUTDIR     (uses a throwaway volume 'capture-extend')
Each file: {"request": {method, path, body, microversion}, "response": {status, body}}, like capture.py.
The volume is extended while available (1 -> 2 GiB), then attached to a made-up host through the attachments API
(no host logs in) and extended in use (2 -> 3 GiB, microversion 3.42), with the refusals around it.
"""

import json
import os
import sys
import time

import openstack

CONNECTOR = {"host": "capture", "initiator": "iqn.1993-08.org.debian:01:capture", "ip": "192.0.2.10",
             "multipath": True}


def main():
    outdir = sys.argv[1]
    storage = openstack.connect().block_storage
    volume = storage.create_volume(name="capture-extend", size=1, volume_type="two-portal")
    volume = storage.wait_for_status(volume, status="available", wait=120)
    show = "/volumes/%s" % volume.id
    action = show + "/action"

    def record(name, method, path, body=None, microversion=None):
        kwargs = {"raise_exc": False, "microversion": microversion}
        if body is not None:
            kwargs["json"] = body
        start = time.monotonic()
        response = storage.request(path, method, **kwargs)
        text = response.text
        with open(os.path.join(outdir, "lab__%s.json" % name), "w") as handle:
            json.dump({"request": {"method": method, "path": path, "body": body, "microversion": microversion},
                       "response": {"status": response.status_code, "body": json.loads(text) if text else ""},
                       "elapsed_s": round(time.monotonic() - start, 3)}, handle, indent=2, sort_keys=True)
        print(name, response.status_code, file=sys.stderr)
        return json.loads(text) if text else None

    def until(name, status, size, microversion=None):
        """Poll the volume (recording the first answer that is not yet done as NAME_pending) until status/size."""
        pending = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = storage.request(show, "GET", raise_exc=False, microversion=microversion).json()["volume"]
            if found["status"] == status and found["size"] == size:
                record(name, "GET", show, microversion=microversion)
                return
            if not pending:
                record(name + "_pending", "GET", show, microversion=microversion)
                pending = True
            time.sleep(0.1)
        raise SystemExit("volume never became %s at %d GiB" % (status, size))

    attachment = None
    try:
        record("volume_show_available_1g", "GET", show, microversion="3.42")
        record("os_extend_available", "POST", action, {"os-extend": {"new_size": 2}}, "3.42")
        until("volume_show_available_2g", "available", 2, "3.42")
        record("os_extend_same_size", "POST", action, {"os-extend": {"new_size": 2}}, "3.42")
        attachment = storage.post("/attachments", json={"attachment": {"volume_uuid": volume.id, "connector": CONNECTOR}},
                                  microversion="3.54").json()["attachment"]
        storage.post("/attachments/%s/action" % attachment["id"], json={"os-complete": None}, microversion="3.44")
        record("volume_show_in_use_2g", "GET", show, microversion="3.42")
        record("os_extend_in_use_mv3.41", "POST", action, {"os-extend": {"new_size": 3}}, "3.41")
        record("os_extend_in_use_smaller", "POST", action, {"os-extend": {"new_size": 1}}, "3.42")
        record("os_extend_in_use", "POST", action, {"os-extend": {"new_size": 3}}, "3.42")
        until("volume_show_in_use_3g", "in-use", 3, "3.42")
        record("os_extend_unknown_volume", "POST", "/volumes/00000000-0000-0000-0000-000000000000/action",
               {"os-extend": {"new_size": 3}}, "3.42")
    finally:
        if attachment:
            storage.delete("/attachments/%s" % attachment["id"], microversion="3.27")
        storage.delete_volume(volume, force=True)


if __name__ == "__main__":
    main()
