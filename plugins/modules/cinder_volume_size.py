#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cinder_volume_size
short_description: Extend a Cinder volume, attached or not, and wait until Cinder reports the new size
version_added: 0.1.0
description:
  - Makes a volume O(size) GiB. When it is smaller, asks Cinder to extend it (the C(os-extend) volume action) and,
    with O(wait=true), waits until Cinder reports it at that size in its status of before (C(in-use) or
    C(available)).
  - An attached (C(in-use)) volume is extended online through block-storage microversion 3.42; a server that offers
    less, or that forbids it by policy, fails the task, and nothing changes.
  - Cinder only ever grows a volume. A volume already larger than O(size) fails the task; one of that size is left
    as it is.
  - A volume being extended already (C(extending)) is waited for first. One left in C(error_extending) by an
    earlier failure fails the task; Cinder's administrators must reset its status.
  - Cinder's answer only says that the backend grew the volume. A host sees the new size once it has rescanned
    every path and resized its map; the C(volume_attach) role run again does that (the playbook
    C(cinder_local.iscsi_multipath.extend_volume) runs this module, then that role).
  - Runs on the controller and talks to the Cinder API only.
author:
  - cinder_local maintainers (@cinder-local)
extends_documentation_fragment:
  - cinder_local.iscsi_multipath.openstack
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - Reports whether the volume would be extended; no call that changes Cinder's state is made.
  diff_mode:
    description: Will return details on what has changed when in diff mode.
    support: none
  idempotent:
    description: Run twice with the same arguments, the second run reports no change.
    support: full
options:
  volume:
    description:
      - Name or id of the volume.
    type: str
    required: true
  size:
    description:
      - Size the volume must have, in GiB (Cinder's unit).
    type: int
    required: true
  wait:
    description:
      - Wait until Cinder reports the volume at O(size) in its status of before (C(in-use) or C(available)).
      - Without it the module returns once Cinder accepted the request (status C(extending)).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait with O(wait=true), polled every 2 s.
    type: int
    default: 600
  max_microversion:
    description:
      - Highest block-storage microversion to use, for example V(3.42). An in-use volume needs 3.42.
    type: str
requirements:
  - openstacksdk >= 1.0.0
seealso:
  - name: Cinder volume actions
    description: Block Storage API v3 reference, extend a volume size.
    link: https://docs.openstack.org/api-ref/block-storage/v3/#extend-a-volume-size
  - module: cinder_local.iscsi_multipath.iscsi_volume
"""

EXAMPLES = r"""
- name: Make the database volume 200 GiB and wait for Cinder
  cinder_local.iscsi_multipath.cinder_volume_size:
    cloud: mycloud
    volume: db-data
    size: 200
  delegate_to: localhost
  register: extended

- name: Then grow it on the host it is attached to (rescans, multipathd resize map, checks every path)
  ansible.builtin.include_role:
    name: cinder_local.iscsi_multipath.volume_attach
  vars:
    volume_attach_volume_ids: ["{{ extended.volume.id }}"]
"""

RETURN = r"""
volume:
  description: The volume after the task (as Cinder reported it last).
  returned: when the volume exists
  type: dict
  contains:
    id:
      description: Volume id.
      type: str
    name:
      description: Volume name.
      type: str
    status:
      description: Volume status.
      type: str
    size:
      description: Size in GiB, as Cinder reports it (the old size while C(extending)).
      type: int
  sample: {id: 2e177094-798d-492b-833d-2052f6dcd725, name: db-data, status: in-use, size: 200}
previous_size:
  description: Size in GiB before the task.
  returned: when the volume exists
  type: int
  sample: 100
size_bytes:
  description: O(size) in bytes (the C(size_bytes) the host side compares its devices with).
  returned: always
  type: int
  sample: 214748364800
microversion:
  description: Block-storage microversion of the extend request; null when none was made or the server has none.
  returned: always
  type: str
  sample: "3.42"
elapsed_s:
  description: Seconds from the extend request until Cinder reported the new size (with O(wait=true)).
  returned: when the volume was extended
  type: float
  sample: 1.4
"""

import time

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._cinder import (
    EXTEND_IN_USE_MICROVERSION,
    CinderClient,
    CinderError,
    microversion_text,
    microversion_tuple,
    negotiate_microversion,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._openstack import OpenStackModule

GIB = 1024 ** 3
POLL = 2.0
EXTENDABLE = ("available", "in-use")


class CinderVolumeSizeModule(OpenStackModule):
    argument_spec = dict(
        volume=dict(type="str", required=True),
        size=dict(type="int", required=True),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
        max_microversion=dict(type="str"),
    )
    module_kwargs = dict(supports_check_mode=True)

    def __init__(self, client=None, clock=time.monotonic):
        super().__init__()
        self.client = client
        self.clock = clock
        self.result = {"changed": False, "microversion": None, "size_bytes": self.params["size"] * GIB}

    def make_client(self):
        conn = self.connect()
        return CinderClient(conn.block_storage, retriable_errors=(self.ksa_exceptions.RetriableConnectionFailure,))

    def report(self, volume):
        self.result["volume"] = {key: volume.get(key) for key in ("id", "name", "status", "size")}
        return volume

    def microversion(self, status):
        """The microversion of the request (3.42 when the server has it); fail when an in-use volume cannot have it."""
        try:
            cap = microversion_tuple(self.params["max_microversion"])
        except ValueError as exc:
            self.fail("max_microversion: %s" % exc, **self.result)
        server_min, server_max = self.client.server_microversions()
        best = None
        if server_max is not None:
            best = negotiate_microversion(server_min, server_max, EXTEND_IN_USE_MICROVERSION, cap)
        if status == "in-use" and (best is None or best < EXTEND_IN_USE_MICROVERSION):
            self.fail("volume %s is in-use: extending an attached volume needs block-storage microversion %s, but %s%s"
                      % (self.result["volume"]["id"], microversion_text(EXTEND_IN_USE_MICROVERSION),
                         "the server announces none" if server_max is None else "the server supports %s to %s" % (
                             microversion_text(server_min), microversion_text(server_max)),
                         " and max_microversion is %s" % self.params["max_microversion"] if cap else ""),
                      **self.result)
        return microversion_text(best) if best else None

    def wait_until(self, volume_id, done, what):
        """Poll the volume until done(volume) or O(timeout); fail on error_extending or when it runs out."""
        deadline = self.clock() + self.params["timeout"]
        while True:
            volume = self.report(self.client.get_volume(volume_id))
            if volume.get("status") == "error_extending":
                self.fail("Cinder could not extend volume %s (status error_extending; see Cinder's volume service "
                          "log and its user messages for the volume)" % volume_id, **self.result)
            if done(volume):
                return volume
            if self.clock() >= deadline:
                self.fail("volume %s is still %s at %s GiB after %s s, waiting for %s" % (
                    volume_id, volume.get("status"), volume.get("size"), self.params["timeout"], what), **self.result)
            self.client.sleep(POLL)

    def run(self):
        size = self.params["size"]
        if size < 1:
            self.fail("size must be 1 GiB or more, got %d" % size, **self.result)
        if self.params["timeout"] < 1:
            self.fail("timeout must be 1 or more, got %d" % self.params["timeout"], **self.result)
        try:
            if self.client is None:
                self.client = self.make_client()
            self.extend(size)
        except CinderError as exc:
            self.fail(exc.describe(), cinder_status=exc.status, cinder_message=exc.message, **self.result)
        except Exception as exc:  # keystoneauth / openstacksdk failures: auth, catalog, TLS
            if self.sdk is None or not isinstance(exc, (self.ksa_exceptions.ClientException,
                                                        self.sdk.exceptions.SDKException)):
                raise
            self.fail("OpenStack request failed: %s: %s" % (type(exc).__name__, exc),
                      cinder_status=getattr(exc, "http_status", None), **self.result)
        self.ansible.exit_json(**self.result)

    def extend(self, size):
        volume = self.report(self.client.find_volume(self.params["volume"]))
        if volume.get("status") == "extending" and self.params["wait"]:
            volume = self.wait_until(volume["id"], lambda v: v.get("status") != "extending",
                                     "the extend running already to finish")
        self.result["previous_size"] = volume.get("size")
        if volume.get("size") == size:
            return
        if volume.get("size") > size:
            self.fail("volume %s is %s GiB: Cinder cannot shrink it to %d GiB" % (volume["id"], volume["size"], size),
                      **self.result)
        status = volume.get("status")
        if status not in EXTENDABLE:
            self.fail("volume %s is %s: Cinder extends only an available or in-use volume" % (volume["id"], status),
                      **self.result)
        microversion = self.microversion(status)
        self.result["changed"] = True
        if self.check_mode:
            return
        started = self.clock()
        self.client.extend_volume(volume["id"], size, microversion)
        self.result["microversion"] = microversion
        if not self.params["wait"]:
            self.report(dict(volume, status="extending"))
            return
        self.wait_until(volume["id"], lambda v: v.get("size") == size and v.get("status") == status,
                        "%s at %d GiB" % (status, size))
        self.result["elapsed_s"] = round(self.clock() - started, 3)


def main():
    CinderVolumeSizeModule()()


if __name__ == "__main__":
    main()
