# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_cinder_attachment: which attachment is this host's, and secret masking, on real Cinder bodies."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._cinder_attachment import (
    AttachmentConflict,
    connection_secrets,
    legacy_attachment,
    mask_secrets,
    select_attachment,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "cinder_api")


def body(name):
    with open(os.path.join(FIXTURES, name + ".json")) as handle:
        return json.load(handle)["response"]["body"]


ATTACHED_VOLUME = body("filelvm__13_volume_show_after_complete")["volume"]   # attached to host "test"
ATTACHING_VOLUME = body("filelvm__11_volume_show_after_attachment_create")["volume"]
ATTACHED = body("filelvm__15_attachment_list")["attachments"]
PENDING = body("filelvm__10_attachment_create_with_connector_mv3.54")["attachment"]
DEBRIS = body("two_backends__62_attachments_after_failed_attachment")["attachments"][0]


def test_attached_to_this_host():
    assert select_attachment(ATTACHED_VOLUME, ATTACHED, "test")["id"] == ATTACHED[0]["id"]


def test_attached_to_another_host():
    with pytest.raises(AttachmentConflict, match="attached to host test"):
        select_attachment(ATTACHED_VOLUME, ATTACHED, "other")


def test_host_hidden_from_non_admin():
    volume = json.loads(json.dumps(ATTACHED_VOLUME))
    volume["attachments"][0]["host_name"] = None
    with pytest.raises(AttachmentConflict, match="does not name to this user; pass attachment_id"):
        select_attachment(volume, ATTACHED, "test")
    assert select_attachment(volume, ATTACHED, "test", attachment_id=ATTACHED[0]["id"])["id"] == ATTACHED[0]["id"]


def test_multiattach_other_host_is_no_conflict():
    volume = dict(ATTACHED_VOLUME, multiattach=True)
    assert select_attachment(volume, ATTACHED, "other") is None


def test_lone_pending_attachment_is_reused():
    assert select_attachment(ATTACHING_VOLUME, [PENDING], "test")["id"] == PENDING["id"]


def test_several_pending_attachments_are_ambiguous():
    with pytest.raises(AttachmentConflict, match="2 pending attachments"):
        select_attachment(ATTACHING_VOLUME, [PENDING, DEBRIS], "test")


def test_deleted_attachments_are_ignored():
    assert select_attachment(ATTACHING_VOLUME, [dict(PENDING, status="detached")], "test") is None


def test_unknown_attachment_id():
    assert select_attachment(ATTACHED_VOLUME, ATTACHED, "test", attachment_id="nope") is None


def test_legacy_attachment():
    assert legacy_attachment(ATTACHED_VOLUME, "test")["attachment_id"] == ATTACHED[0]["id"]
    assert legacy_attachment(ATTACHED_VOLUME, "other") is None
    assert legacy_attachment(ATTACHED_VOLUME, None, ATTACHED[0]["id"])["host_name"] == "test"


def test_mask_flat_and_nested():
    flat = PENDING["connection_info"]
    nested = body("filelvm__03_initialize_connection_multipath_true")["connection_info"]
    assert mask_secrets(flat)["auth_password"] == "********"
    assert mask_secrets(nested)["data"]["auth_password"] == "********"
    assert flat["auth_password"] != "********"
    assert connection_secrets(nested) == [nested["data"]["auth_password"]]
    assert connection_secrets(dict(flat, discovery_auth_password="d")) == [flat["auth_password"], "d"]


def test_pending_attachment_of_nova_instance_is_not_adopted():
    nova = dict(PENDING, instance="6f1f2a4e-0c4b-4d43-9b7e-2b7c9e0f7c11")
    with pytest.raises(AttachmentConflict, match="belongs to instance 6f1f2a4e.*Nova's"):
        select_attachment(ATTACHING_VOLUME, [nova], "test")


def test_attachment_id_of_nova_instance_is_not_adopted():
    nova = dict(PENDING, instance="6f1f2a4e-0c4b-4d43-9b7e-2b7c9e0f7c11")
    with pytest.raises(AttachmentConflict, match="not taken over"):
        select_attachment(ATTACHING_VOLUME, [nova], "test", attachment_id=nova["id"])
