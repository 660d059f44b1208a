#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cinder_attachment
short_description: Attach a Cinder volume to a host that is not a Nova instance (iSCSI)
version_added: 0.1.0
description:
  - Creates, completes or deletes the Cinder attachment of one volume for one host, through
    the attachments API (default) or the legacy volume actions.
  - O(state=present) asks Cinder to export the volume to the host described by O(connector)
    and returns the connection details, including every target portal as a normalized
    RV(targets) list ready for iSCSI log-in. The host logs in and assembles its multipath
    device next; then O(state=attached) tells Cinder the volume is in use.
    O(state=absent) deletes the attachment once the host has let go of the device.
  - Runs on the controller and talks to the Cinder API only; it never touches the host's
    iSCSI or multipath state (see the C(iscsi_connector) and C(iscsi_session) modules).
  - When a create fails, Cinder 29 can leave a C(reserved) attachment behind (for example
    after HTTP 500 for a connector without C(initiator)); the module deletes what its own
    failed create left before it reports the failure.
  - Read-only calls and idempotent actions are retried with back-off (1, 2, 4 s) on time-outs
    and HTTP 5xx answers; other calls are never repeated.
author:
  - cinder_local maintainers (@cinder-local)
extends_documentation_fragment:
  - cinder_local.iscsi_multipath.openstack
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - Reports what would change; no call that changes Cinder's state is made.
  diff_mode:
    description: Will return details on what has changed when in diff mode.
    support: none
  idempotent:
    description: Run twice with the same arguments, the second run reports no change.
    support: full
    details:
      - Cinder does not tell which host a not yet completed attachment belongs to. On a volume that is
        not multiattach only one can exist, so a lone pending attachment is taken as this host's.
        On a multiattach volume a pending attachment is only found again through O(attachment_id).
options:
  volume:
    description:
      - Name or id of the volume.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure an attachment with connection details exists for this host and returns them.
      - V(attached) marks it complete (attachments API C(os-complete), legacy C(os-attach)); run it after
        the host sees the device.
      - V(absent) removes it (attachments API delete; legacy C(os-begin_detaching),
        C(os-terminate_connection), C(os-detach)).
    type: str
    choices: [present, attached, absent]
    default: present
  api:
    description:
      - V(attachments) uses C(/attachments) with microversions negotiated with the server
        (3.27 to create and delete, 3.44 to complete, 3.54 to send O(mode)).
      - V(legacy) uses the volume actions C(os-reserve), C(os-initialize_connection), C(os-attach),
        C(os-begin_detaching), C(os-terminate_connection), C(os-detach) (C(os-unreserve) and
        C(os-roll_detaching) on failure), for clouds without the attachments API.
    type: str
    choices: [attachments, legacy]
    default: attachments
  connector:
    description:
      - The host's connector properties, as returned by the C(iscsi_connector) module, with at least
        C(initiator), C(host) and C(ip); C(multipath=true) makes Cinder list every portal.
      - Required for O(state=present); used by the legacy API to attach and terminate the connection.
    type: dict
  host_name:
    description:
      - Host name Cinder records for the attachment and by which the module finds it again.
      - Defaults to C(host) of O(connector).
    type: str
  attachment_id:
    description:
      - Act on this attachment instead of looking it up by host name (use RV(attachment_id) of an
        earlier O(state=present)).
    type: str
  mode:
    description:
      - Access mode. Sent as C(mode) from microversion 3.54, else as C(mode) in the connector.
    type: str
    choices: [rw, ro]
    default: rw
  mountpoint:
    description:
      - Device path recorded by the legacy C(os-attach), for example the multipath device. The
        attachments API records C(na) (Cinder's own default).
    type: str
    default: na
  max_microversion:
    description:
      - Highest block-storage microversion to use, for example V(3.44). Without it the highest
        version up to 3.54 that the server supports is used.
    type: str
  return_secrets:
    description:
      - Return the CHAP passwords in RV(connection_info) and RV(auth). The default masks them.
      - "Set it only on a task with C(no_log: true) whose result feeds the host's iSCSI log-in."
    type: bool
    default: false
requirements:
  - openstacksdk >= 1.0.0
seealso:
  - name: Cinder attachments API
    description: Block Storage API v3 reference, attachments.
    link: https://docs.openstack.org/api-ref/block-storage/v3/#attachments
"""

EXAMPLES = r"""
- name: Describe this host's iSCSI initiator
  cinder_local.iscsi_multipath.iscsi_connector:
    multipath: true
  register: host_connector

- name: Ask Cinder to export the volume to this host (CHAP secret needed for log-in)
  cinder_local.iscsi_multipath.cinder_attachment:
    cloud: mycloud
    volume: db-data
    connector: "{{ host_connector.connector }}"
    return_secrets: true
  delegate_to: localhost
  no_log: true
  register: attachment

- name: Tell Cinder the device is in use once the host has it
  cinder_local.iscsi_multipath.cinder_attachment:
    cloud: mycloud
    volume: db-data
    attachment_id: "{{ attachment.attachment_id }}"
    state: attached
  delegate_to: localhost

- name: Detach (after the host logged out)
  cinder_local.iscsi_multipath.cinder_attachment:
    cloud: mycloud
    volume: db-data
    attachment_id: "{{ attachment.attachment_id }}"
    state: absent
  delegate_to: localhost

- name: Same flow on a cloud without the attachments API
  cinder_local.iscsi_multipath.cinder_attachment:
    cloud: oldcloud
    volume: 5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10
    connector: "{{ host_connector.connector }}"
    api: legacy
  delegate_to: localhost
"""

RETURN = r"""
api:
  description: API used.
  returned: always
  type: str
  sample: attachments
microversion:
  description: Block-storage microversion used for the attachments API; null for the legacy API.
  returned: always
  type: str
  sample: "3.54"
volume:
  description: The volume as found before any change.
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
      description: Volume status before the task.
      type: str
    multiattach:
      description: Whether the volume may have several attachments.
      type: bool
    size:
      description: Size of the volume in GiB, as Cinder reports it.
      type: int
  sample: {id: 2e177094-798d-492b-833d-2052f6dcd725, name: db-data, status: available, multiattach: false, size: 10}
attachment_id:
  description:
    - Id of the attachment. Null in check mode before it exists, and for the legacy API before C(os-attach).
  returned: always
  type: str
  sample: dbb93937-fb46-4e86-88d6-887d9af2eec6
status:
  description: Attachment status after the task (C(reserved), C(attaching), C(attached), C(deleted)), or
    the volume status for the legacy API.
  returned: always
  type: str
  sample: attaching
attach_mode:
  description:
    - C(attach_mode) of the attachment record as Cinder reported it (V(null) when the mode travelled in the
      connector, before microversion 3.54). Note that C(access_mode) inside RV(connection_info) reflects the
      volume's admin metadata at the time of the call, not necessarily O(mode).
  returned: attachments API, when an attachment was found or made
  type: str
  sample: rw
connection_info:
  description:
    - Connection details exactly as Cinder returned them (flat for the attachments API, with C(data)
      for the legacy API), CHAP passwords masked unless O(return_secrets=true).
  returned: when Cinder returned them
  type: dict
  sample:
    driver_volume_type: iscsi
    target_portal: 192.0.2.1:3260
    target_portals: [192.0.2.1:3260, 198.51.100.1:3260]
    target_iqn: iqn.2010-10.org.openstack:volume-2e177094-798d-492b-833d-2052f6dcd725
    target_iqns: [iqn.2010-10.org.openstack:volume-2e177094-798d-492b-833d-2052f6dcd725,
                  iqn.2010-10.org.openstack:volume-2e177094-798d-492b-833d-2052f6dcd725]
    target_lun: 1
    target_luns: [1, 1]
    auth_method: CHAP
    auth_username: 3bKUjWzeSM5qfr4QKUZS
    auth_password: "********"
targets:
  description: Every (portal, iqn, lun) of RV(connection_info), normalized; one per path to log in to.
  returned: when Cinder returned connection details
  type: list
  elements: dict
  contains:
    portal:
      description: C(ip:port) (C([ipv6]:port)).
      type: str
    iqn:
      description: Target name.
      type: str
    lun:
      description: LUN number.
      type: int
  sample:
    - {portal: 192.0.2.1:3260, iqn: iqn.2010-10.org.openstack:volume-2e17, lun: 1}
    - {portal: 198.51.100.1:3260, iqn: iqn.2010-10.org.openstack:volume-2e17, lun: 1}
single_portal:
  description: True when Cinder gave only the singular target keys; the host should then
    discover the other portals itself.
  returned: when Cinder returned connection details
  type: bool
  sample: false
auth:
  description: Session CHAP credentials (C(method), C(username), C(password)); null without CHAP.
    The password is masked unless O(return_secrets=true).
  returned: when Cinder returned connection details
  type: dict
  sample: {method: CHAP, username: 3bKUjWzeSM5qfr4QKUZS, password: "********"}
discovery_auth:
  description: Discovery CHAP credentials, like RV(auth); null when the backend sets none.
  returned: when Cinder returned connection details
  type: dict
  sample: null
host_volume:
  description:
    - This volume as one entry of the O(cinder_local.iscsi_multipath.iscsi_volume#module:volumes) option of
      M(cinder_local.iscsi_multipath.iscsi_volume) - C(volume_id), C(attachment_id), C(targets), C(auth),
      C(discovery_auth) (passwords masked unless O(return_secrets=true)) and C(size_bytes) (the size Cinder reports).
  returned: when Cinder returned connection details
  type: dict
  sample: {volume_id: 2e177094-798d-492b-833d-2052f6dcd725, attachment_id: dbb93937-fb46-4e86-88d6-887d9af2eec6,
           targets: [{portal: 192.0.2.1:3260, iqn: iqn.2010-10.org.openstack:volume-2e17, lun: 1}],
           auth: {method: CHAP, username: 3bKUjWzeSM5qfr4QKUZS, password: "********"}, discovery_auth: null,
           size_bytes: 10737418240}
cleaned_up:
  description: Ids of attachments a failed create left behind and the module deleted.
  returned: on failure of a create
  type: list
  elements: str
  sample: [90d4d16c-7e14-4cae-9ad6-b9fe02503228]
"""

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._cinder import (
    ATTACHMENTS_MICROVERSION,
    COMPLETE_MICROVERSION,
    MODE_MICROVERSION,
    CinderClient,
    CinderError,
    microversion_text,
    microversion_tuple,
    negotiate_microversion,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._cinder_attachment import (
    AttachmentConflict,
    connection_secrets,
    has_connection,
    legacy_attachment,
    mask_auth,
    mask_secrets,
    select_attachment,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._openstack import OpenStackModule
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    TargetsError,
    normalize_connection_info,
)

GIB = 1024 ** 3


def host_volume(result):
    """The entry of the volume for iscsi_volume's ``volumes`` option, from this module's result."""
    volume = result.get("volume") or {}
    return {"volume_id": volume.get("id"), "attachment_id": result.get("attachment_id"),
            "targets": result["targets"], "auth": result["auth"], "discovery_auth": result["discovery_auth"],
            "size_bytes": volume["size"] * GIB if volume.get("size") else None}


# Attachment states a failed create may leave behind.
DEBRIS_STATES = ("reserved", "attaching", "error_attaching")


class CinderAttachmentModule(OpenStackModule):
    argument_spec = dict(
        volume=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "attached", "absent"]),
        api=dict(type="str", default="attachments", choices=["attachments", "legacy"]),
        connector=dict(type="dict"),
        host_name=dict(type="str"),
        attachment_id=dict(type="str"),
        mode=dict(type="str", default="rw", choices=["rw", "ro"]),
        mountpoint=dict(type="str", default="na"),
        max_microversion=dict(type="str"),
        return_secrets=dict(type="bool", default=False),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_if=[("state", "present", ["connector"])],
    )

    def __init__(self, client=None):
        super().__init__()
        self.client = client
        self.result = {"changed": False, "api": self.params["api"], "microversion": None,
                       "attachment_id": None, "status": None}

    # Set-up -------------------------------------------------------------------------------

    def make_client(self):
        conn = self.connect()
        return CinderClient(conn.block_storage, retriable_errors=(self.ksa_exceptions.RetriableConnectionFailure,))

    def host_name(self):
        connector = self.params["connector"] or {}
        return self.params["host_name"] or connector.get("host")

    def negotiate(self, needed):
        """Microversion text for the attachments API, or fail naming what the server offers."""
        try:
            cap = microversion_tuple(self.params["max_microversion"])
        except ValueError as exc:
            self.fail("max_microversion: %s" % exc, **self.result)
        server_min, server_max = self.client.server_microversions()
        if server_max is None:
            self.fail("the block-storage endpoint announces no microversions; the attachments API needs %s: "
                      "use api=legacy" % microversion_text(needed), **self.result)
        best = negotiate_microversion(server_min, server_max, MODE_MICROVERSION, cap)
        if best is None or best < needed:
            self.fail("this step needs block-storage microversion %s, but the server supports %s to %s%s; "
                      "use api=legacy" % (microversion_text(needed), microversion_text(server_min),
                                          microversion_text(server_max),
                                          " and max_microversion is %s" % self.params["max_microversion"]
                                          if cap else ""), **self.result)
        self.result["microversion"] = microversion_text(best)
        return best

    def find_volume(self, missing_ok=False):
        try:
            volume = self.client.find_volume(self.params["volume"])
        except CinderError as exc:
            if missing_ok and exc.status == 404:
                return None
            raise
        self.result["volume"] = {key: volume.get(key) for key in ("id", "name", "status", "multiattach", "size")}
        return volume

    # Results ------------------------------------------------------------------------------

    def report_connection(self, connection_info, undo=None):
        """Put connection_info and its normalized targets into the result, secrets masked by default.

        An answer this collection cannot use fails the task; undo() first takes back the export this
        run made for it, and says how that went.
        """
        if not connection_info:
            return
        try:
            normalized = normalize_connection_info(connection_info)
        except TargetsError as exc:
            msg = "Cinder returned connection details this collection cannot use: %s" % exc
            self.fail("%s; %s" % (msg, undo()) if undo else msg, **self.result)
        if self.params["return_secrets"]:
            self.result.update(connection_info=connection_info, auth=normalized["auth"],
                               discovery_auth=normalized["discovery_auth"])
        else:
            for secret in connection_secrets(connection_info):
                self.ansible.no_log_values.add(secret)
            self.result.update(connection_info=mask_secrets(connection_info), auth=mask_auth(normalized["auth"]),
                               discovery_auth=mask_auth(normalized["discovery_auth"]))
        self.result.update(targets=normalized["targets"], single_portal=normalized["single_portal"])
        self.result["host_volume"] = host_volume(self.result)

    def report_attachment(self, attachment, status=None, undo=None):
        self.result["attachment_id"] = attachment["id"]
        self.result["attach_mode"] = attachment.get("attach_mode")
        self.result["status"] = status or attachment.get("status")
        self.report_connection(attachment.get("connection_info"), undo)

    def connector_with_mode(self, microversion):
        """The connector to send; before 3.54 the access mode travels inside it."""
        connector = dict(self.params["connector"] or {})
        if microversion < MODE_MICROVERSION:
            connector["mode"] = self.params["mode"]
        return connector

    # Attachments API ----------------------------------------------------------------------

    def find_attachment(self, volume, microversion):
        attachments = self.client.list_attachments(volume["id"], microversion_text(microversion))
        try:
            found = select_attachment(volume, attachments, self.host_name(), self.params["attachment_id"])
        except AttachmentConflict as exc:
            self.fail(str(exc), **self.result)
        if self.params["attachment_id"] and found is None and self.params["state"] != "absent":
            self.fail("attachment %s is not an attachment of volume %s"
                      % (self.params["attachment_id"], volume["id"]), **self.result)
        return attachments, found

    def attachments_present(self):
        volume = self.find_volume()
        microversion = self.negotiate(ATTACHMENTS_MICROVERSION)
        text = microversion_text(microversion)
        attachments, found = self.find_attachment(volume, microversion)
        if has_connection(found):
            self.report_attachment(found)
            return
        self.result["changed"] = True
        if self.check_mode:
            self.result["attachment_id"] = found["id"] if found else None
            return
        connector = self.connector_with_mode(microversion)
        if found:
            # Made without a connector (reserve only): give it this host's connector.
            self.report_attachment(self.client.update_attachment(found["id"], connector, text))
            return
        mode = self.params["mode"] if microversion >= MODE_MICROVERSION else None
        before = {a["id"] for a in attachments}
        try:
            created = self.client.create_attachment(volume["id"], connector, mode, text)
        except CinderError as exc:
            self.fail_after_cleanup(exc, volume["id"], before, text)
        self.report_attachment(created, undo=lambda: self.undo_created(created["id"], text))

    def undo_created(self, attachment_id, microversion):
        """Delete the attachment this run created (Cinder unexports it); say how it went."""
        try:
            self.client.delete_attachment(attachment_id, microversion)
        except CinderError as exc:
            return "deleting the attachment %s it made failed too: %s" % (attachment_id, exc.describe())
        self.result["changed"] = False
        return "deleted the attachment %s it made" % attachment_id

    def fail_after_cleanup(self, error, volume_id, before, microversion):
        """Delete the attachments a failed create left behind, then fail with Cinder's message."""
        removed, problems = [], []
        try:
            leftovers = [a for a in self.client.list_attachments(volume_id, microversion)
                         if a["id"] not in before and a.get("status") in DEBRIS_STATES]
            for attachment in leftovers:
                self.client.delete_attachment(attachment["id"], microversion)
                removed.append(attachment["id"])
        except CinderError as exc:
            problems.append(exc.describe())
        msg = error.describe()
        if removed:
            msg += "; deleted the attachment(s) it left behind: %s" % ", ".join(removed)
        if problems:
            msg += "; cleaning up after it failed too: %s" % "; ".join(problems)
        self.result["changed"] = bool(problems)
        self.fail(msg, cleaned_up=removed, cinder_status=error.status, cinder_message=error.message, **self.result)

    def attachments_attached(self):
        volume = self.find_volume()
        microversion = self.negotiate(COMPLETE_MICROVERSION)
        dummy, found = self.find_attachment(volume, microversion)
        if found is None:
            self.fail("volume %s has no attachment for host %s to complete: run state=present first"
                      % (volume["id"], self.host_name()), **self.result)
        if found.get("status") == "attached":
            self.report_attachment(found)
            return
        if not has_connection(found):
            self.fail("attachment %s has no connection yet (made without a connector): run state=present first"
                      % found["id"], **self.result)
        self.result["changed"] = True
        if not self.check_mode:
            self.client.complete_attachment(found["id"], microversion_text(microversion))
        self.report_attachment(found, status="attached")

    def attachments_absent(self):
        volume = self.find_volume(missing_ok=True)
        if volume is None:
            return
        microversion = self.negotiate(ATTACHMENTS_MICROVERSION)
        dummy, found = self.find_attachment(volume, microversion)
        if found is None:
            return
        self.result["attachment_id"] = found["id"]
        self.result["status"] = found.get("status")
        if self.check_mode:
            self.result["changed"] = True
            return
        if self.client.delete_attachment(found["id"], microversion_text(microversion)):
            self.result.update(changed=True, status="deleted")

    # Legacy volume actions ----------------------------------------------------------------

    def legacy_reserve_and_connect(self, volume):
        """os-reserve + os-initialize_connection; os-unreserve if the second fails."""
        self.client.volume_action(volume["id"], "os-reserve", {})
        try:
            return self.legacy_connect(volume, unreserve=True)
        except CinderError as exc:
            self.legacy_undo(exc, volume, "os-unreserve")

    def legacy_connect(self, volume, unreserve=False):
        answer = self.client.volume_action(volume["id"], "os-initialize_connection",
                                           {"connector": self.params["connector"]}, idempotent=True)
        self.report_connection(answer["connection_info"],
                               undo=lambda: self.legacy_unexport(volume, unreserve))
        return answer["connection_info"]

    def legacy_unexport(self, volume, unreserve):
        """os-terminate_connection for the export just made (and os-unreserve); say how it went."""
        done = []
        try:
            self.client.volume_action(volume["id"], "os-terminate_connection",
                                      {"connector": self.params["connector"]}, idempotent=True)
            done.append("os-terminate_connection")
            if unreserve:
                self.client.volume_action(volume["id"], "os-unreserve", {})
                done.append("os-unreserve")
        except CinderError as exc:
            return "undoing it failed after %s: %s" % (", ".join(done) or "nothing", exc.describe())
        self.result["changed"] = False
        return "ran %s" % " and ".join(done)

    def legacy_undo(self, error, volume, action):
        """Run the undo action after `error`, then fail with both outcomes."""
        try:
            self.client.volume_action(volume["id"], action, {})
            msg = "%s; ran %s" % (error.describe(), action)
            self.result["changed"] = False
        except CinderError as exc:
            msg = "%s; %s failed too: %s" % (error.describe(), action, exc.describe())
        self.fail(msg, cinder_status=error.status, cinder_message=error.message, **self.result)

    def legacy_check_free(self, volume):
        """Fail unless the volume can be reserved for this host."""
        status = volume.get("status")
        if status == "available" or (status == "in-use" and volume.get("multiattach")):
            return
        owners = sorted({a.get("host_name") or "a host Cinder does not name" for a in volume.get("attachments") or []})
        self.fail("volume %s is %s%s; the legacy API attaches only an available volume"
                  % (volume["id"], status, " (attached to %s)" % ", ".join(owners) if owners else ""), **self.result)

    def legacy_pending(self, volume):
        """True when the volume is reserved (os-reserve done) and not attached: this host's earlier run."""
        return volume.get("status") == "attaching" and not volume.get("multiattach")

    def legacy_present(self):
        volume = self.find_volume()
        entry = legacy_attachment(volume, self.host_name(), self.params["attachment_id"])
        self.result["status"] = volume.get("status")
        if entry or self.legacy_pending(volume):
            self.result["attachment_id"] = entry and entry.get("attachment_id")
            if not self.check_mode:
                self.legacy_connect(volume)
            return
        self.legacy_check_free(volume)
        self.result["changed"] = True
        if not self.check_mode:
            self.legacy_reserve_and_connect(volume)
            self.result["status"] = "attaching"

    def legacy_attached(self):
        volume = self.find_volume()
        entry = legacy_attachment(volume, self.host_name(), self.params["attachment_id"])
        self.result["status"] = volume.get("status")
        if entry:
            self.result["attachment_id"] = entry.get("attachment_id")
            return
        if not self.legacy_pending(volume):
            self.legacy_check_free(volume)
            if not self.params["connector"]:
                self.fail("volume %s is not reserved yet: give connector (or run state=present first)"
                          % volume["id"], **self.result)
        self.result["changed"] = True
        if self.check_mode:
            return
        if not self.legacy_pending(volume):
            self.legacy_reserve_and_connect(volume)
        attach = {"mountpoint": self.params["mountpoint"], "host_name": self.host_name(), "mode": self.params["mode"]}
        try:
            self.client.volume_action(volume["id"], "os-attach", attach)
        except CinderError as exc:
            self.legacy_undo(exc, volume, "os-unreserve")
        volume = self.client.get_volume(volume["id"])
        entry = legacy_attachment(volume, self.host_name())
        self.result.update(status=volume.get("status"), attachment_id=entry and entry.get("attachment_id"))

    def legacy_absent(self):
        volume = self.find_volume(missing_ok=True)
        if volume is None:
            return
        entry = legacy_attachment(volume, self.host_name(), self.params["attachment_id"])
        self.result["status"] = volume.get("status")
        if not entry and not self.legacy_pending(volume):
            return
        self.result["changed"] = True
        self.result["attachment_id"] = entry and entry.get("attachment_id")
        if self.check_mode:
            return
        connector = {"connector": self.params["connector"]}
        if not entry:
            # Reserved (and maybe connected) by present, never attached.
            self.client.volume_action(volume["id"], "os-terminate_connection", connector, idempotent=True)
            self.client.volume_action(volume["id"], "os-unreserve", {})
            self.result["status"] = "available"
            return
        self.client.volume_action(volume["id"], "os-begin_detaching", {})
        try:
            self.client.volume_action(volume["id"], "os-terminate_connection", connector, idempotent=True)
            self.client.volume_action(volume["id"], "os-detach", {"attachment_id": entry["attachment_id"]})
        except CinderError as exc:
            self.legacy_undo(exc, volume, "os-roll_detaching")
        self.result["status"] = self.client.get_volume(volume["id"]).get("status")

    # Entry --------------------------------------------------------------------------------

    def run(self):
        if not self.host_name() and not self.params["attachment_id"]:
            self.fail("give host_name, a connector with 'host', or attachment_id to identify the attachment")
        steps = {
            ("attachments", "present"): self.attachments_present,
            ("attachments", "attached"): self.attachments_attached,
            ("attachments", "absent"): self.attachments_absent,
            ("legacy", "present"): self.legacy_present,
            ("legacy", "attached"): self.legacy_attached,
            ("legacy", "absent"): self.legacy_absent,
        }
        try:
            if self.client is None:
                self.client = self.make_client()
            steps[(self.params["api"], self.params["state"])]()
        except CinderError as exc:
            self.fail(exc.describe(), cinder_status=exc.status, cinder_message=exc.message, **self.result)
        except Exception as exc:  # keystoneauth / openstacksdk failures: auth, catalog, TLS
            if self.sdk is None or not isinstance(exc, (self.ksa_exceptions.ClientException,
                                                        self.sdk.exceptions.SDKException)):
                raise
            self.fail("OpenStack request failed: %s: %s" % (type(exc).__name__, exc),
                      cinder_status=getattr(exc, "http_status", None), **self.result)
        self.ansible.exit_json(**self.result)


def main():
    CinderAttachmentModule()()


if __name__ == "__main__":
    main()
