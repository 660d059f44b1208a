# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cinder_attachment against replayed real Cinder 29 responses; every request is asserted exactly."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._cinder import CinderClient
from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import cinder_attachment

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "cinder_api")
VOL = "2e177094-798d-492b-833d-2052f6dcd725"       # filelvm run (two portals)
ATT = "dbb93937-fb46-4e86-88d6-887d9af2eec6"       # its attachment, attached to host "test"
NEW_ATT = ATT                                      # filelvm__10 created it
ONE_PORTAL_VOL = "e4075bbe-d314-483a-accb-ff8d3c7e7657"
CONNECTOR = {"host": "test", "initiator": "iqn.1993-08.org.debian:01:test", "ip": "127.0.0.1", "multipath": True}
SERVER_VERSIONS = ((3, 0), (3, 71))  # filelvm__00_versions: min_version 3.0, version 3.71


def fixture(name):
    """(status, body text) of a captured response."""
    with open(os.path.join(FIXTURES, name + ".json")) as handle:
        response = json.load(handle)["response"]
    body = response["body"]
    return response["status"], json.dumps(body) if body not in ("", None) else ""


def body_of(name):
    return json.loads(fixture(name)[1])


def listed(*attachments):
    """An /attachments/detail answer (same shape as filelvm__15) holding these attachments."""
    return 200, json.dumps({"attachments": list(attachments)})


EMPTY_LIST = fixture("filelvm__16_attachment_delete")   # {"attachments": []}, 200
PENDING = body_of("filelvm__10_attachment_create_with_connector_mv3.54")["attachment"]
ATTACHED = body_of("filelvm__15_attachment_list")["attachments"][0]
RESERVE_ONLY = body_of("filelvm__20_attachment_create_no_connector_mv3.27")["attachment"]


class Replay(CinderClient):
    """CinderClient whose network seam checks each request against a script and replays answers."""

    def __init__(self, script, versions=SERVER_VERSIONS):
        super().__init__(adapter=None, sleep=self.record_sleep)
        self.script = list(script)
        self.versions = versions
        self.sleeps = []

    def record_sleep(self, seconds):
        self.sleeps.append(seconds)

    def server_microversions(self):
        return self.versions

    def _send(self, method, path, body=None, microversion=None):
        assert self.script, "unexpected request %s %s %r" % (method, path, body)
        expected, answer = self.script.pop(0)
        assert (method, path, body, microversion) == expected
        if isinstance(answer, Exception):
            raise answer
        return answer


def run(args, script, capsys, versions=SERVER_VERSIONS):
    """Run the module; return (result dict, replay client, raw stdout)."""
    client = Replay(script, versions)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            cinder_attachment.CinderAttachmentModule(client=client)()
    out = capsys.readouterr().out
    assert client.script == [], "requests not made: %r" % client.script
    return json.loads(out), client, out


def args(**extra):
    base = {"volume": VOL, "connector": CONNECTOR}
    base.update(extra)
    return base


GET_VOLUME = ("GET", "/volumes/%s" % VOL, None, None)
LIST = ("GET", "/attachments/detail?volume_id=%s" % VOL, None, "3.54")


def test_present_creates_attachment_and_masks_chap(capsys):
    create = ("POST", "/attachments",
              {"attachment": {"volume_uuid": VOL, "connector": CONNECTOR, "mode": "rw"}}, "3.54")
    result, dummy, out = run(args(), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (LIST, EMPTY_LIST),
        (create, fixture("filelvm__10_attachment_create_with_connector_mv3.54")),
    ], capsys)
    assert result["changed"] is True
    assert result["attachment_id"] == NEW_ATT
    assert result["microversion"] == "3.54"
    assert result["volume"] == {"id": VOL, "name": "fixture-vol-1", "status": "available", "multiattach": False,
                                "size": 1}
    iqn = "iqn.2010-10.org.openstack:volume-%s" % VOL
    assert result["targets"] == [{"portal": "127.0.0.1:3260", "iqn": iqn, "lun": 1},
                                 {"portal": "127.0.0.2:3260", "iqn": iqn, "lun": 1}]
    assert result["single_portal"] is False
    assert result["auth"] == {"method": "CHAP", "username": PENDING["connection_info"]["auth_username"],
                              "password": "********"}
    assert result["connection_info"]["auth_password"] == "********"
    assert PENDING["connection_info"]["auth_password"] not in out
    assert result["host_volume"] == {"volume_id": VOL, "attachment_id": NEW_ATT, "targets": result["targets"],
                                     "auth": result["auth"], "discovery_auth": None, "size_bytes": 1 << 30}


def test_present_return_secrets(capsys):
    create = ("POST", "/attachments",
              {"attachment": {"volume_uuid": VOL, "connector": CONNECTOR, "mode": "rw"}}, "3.54")
    result, dummy, dummy = run(args(return_secrets=True), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (LIST, EMPTY_LIST),
        (create, fixture("filelvm__10_attachment_create_with_connector_mv3.54")),
    ], capsys)
    secret = PENDING["connection_info"]["auth_password"]
    assert result["auth"]["password"] == secret
    assert result["connection_info"]["auth_password"] == secret
    assert result["host_volume"]["auth"]["password"] == secret  # what the role hands to iscsi_volume (no_log)


def test_present_is_idempotent_for_attached_volume(capsys):
    result, dummy, dummy = run(args(), [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (LIST, fixture("filelvm__15_attachment_list")),
    ], capsys)
    assert result["changed"] is False
    assert result["attachment_id"] == ATT
    assert result["status"] == "attached"
    assert len(result["targets"]) == 2


def test_volume_size_is_returned_as_cinder_reports_it(capsys):
    shown = body_of("filelvm__13_volume_show_after_complete")
    shown["volume"]["size"] = 20
    result, dummy, dummy = run(args(), [
        (GET_VOLUME, (200, json.dumps(shown))),
        (LIST, fixture("filelvm__15_attachment_list")),
    ], capsys)
    assert result["changed"] is False
    assert result["volume"]["size"] == 20 and isinstance(result["volume"]["size"], int)
    assert result["volume"]["id"] == VOL and result["volume"]["status"] == shown["volume"]["status"]


def test_present_reuses_lone_pending_attachment(capsys):
    result, dummy, dummy = run(args(), [
        (GET_VOLUME, fixture("filelvm__11_volume_show_after_attachment_create")),
        (LIST, listed(PENDING)),
    ], capsys)
    assert result["changed"] is False
    assert result["attachment_id"] == NEW_ATT


def test_present_gives_connector_to_reserve_only_attachment(capsys):
    update = ("PUT", "/attachments/%s" % RESERVE_ONLY["id"], {"attachment": {"connector": CONNECTOR}}, "3.54")
    result, dummy, dummy = run(args(), [
        (GET_VOLUME, fixture("filelvm__11_volume_show_after_attachment_create")),
        (LIST, listed(RESERVE_ONLY)),
        (update, fixture("filelvm__21_attachment_update_with_connector_mv3.27")),
    ], capsys)
    assert result["changed"] is True
    assert result["attachment_id"] == RESERVE_ONLY["id"]
    assert len(result["targets"]) == 2


def test_present_check_mode_makes_no_change(capsys):
    result, dummy, dummy = run(args(_ansible_check_mode=True), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (LIST, EMPTY_LIST),
    ], capsys)
    assert result["changed"] is True
    assert result["attachment_id"] is None


def test_present_capped_microversion_sends_mode_in_connector(capsys):
    connector = dict(CONNECTOR, mode="ro")
    create = ("POST", "/attachments", {"attachment": {"volume_uuid": VOL, "connector": connector}}, "3.44")
    result, dummy, dummy = run(args(max_microversion="3.44", mode="ro"), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (("GET", "/attachments/detail?volume_id=%s" % VOL, None, "3.44"), EMPTY_LIST),
        (create, fixture("filelvm__10_attachment_create_with_connector_mv3.54")),
    ], capsys)
    assert result["microversion"] == "3.44"


def test_attached_needs_3_44(capsys):
    result, dummy, dummy = run(args(state="attached", max_microversion="3.27"), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
    ], capsys)
    assert result["failed"] is True
    assert "needs block-storage microversion 3.44" in result["msg"]
    assert "max_microversion is 3.27" in result["msg"]


def test_old_server_is_told_to_use_legacy(capsys):
    result, dummy, dummy = run(args(), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
    ], capsys, versions=((3, 0), (3, 20)))
    assert result["failed"] is True
    assert "supports 3.0 to 3.20" in result["msg"] and "api=legacy" in result["msg"]


def test_failed_create_deletes_reserved_debris(capsys):
    connector = {"host": "test", "ip": "127.0.0.1"}
    volume = ("GET", "/volumes/detail?name=one-portal-vol", None, None)
    listing = ("GET", "/attachments/detail?volume_id=%s" % ONE_PORTAL_VOL, None, "3.54")
    create = ("POST", "/attachments",
              {"attachment": {"volume_uuid": ONE_PORTAL_VOL, "connector": connector, "mode": "rw"}}, "3.54")
    debris = body_of("two_backends__62_attachments_after_failed_attachment")["attachments"][0]
    available = body_of("two_backends__68_volume_list_after_errors")
    for item in available["volumes"]:
        item["status"] = "available"
    result, dummy, dummy = run({"volume": "one-portal-vol", "connector": connector}, [
        (volume, (200, json.dumps(available))),
        (listing, EMPTY_LIST),
        (create, fixture("two_backends__60_err_attachment_connector_no_initiator")),
        (listing, listed(debris)),
        (("DELETE", "/attachments/%s" % debris["id"], None, "3.54"),
         fixture("two_backends__80_delete_leftover_reserved_attachment")),
    ], capsys)
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["cinder_status"] == 500
    assert result["cleaned_up"] == [debris["id"]]
    assert result["msg"] == (
        "create attachment failed: Cinder answered 500: Unable to create attachment for volume (Invalid input "
        "received: Connector doesn't have required information: initiator).; deleted the attachment(s) it left "
        "behind: %s" % debris["id"])


def test_create_is_not_retried_on_500(capsys):
    create = ("POST", "/attachments",
              {"attachment": {"volume_uuid": VOL, "connector": CONNECTOR, "mode": "rw"}}, "3.54")
    result, client, dummy = run(args(), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (LIST, EMPTY_LIST),
        (create, fixture("two_backends__87_err_attachment_create_tgtd_down")),
        (LIST, EMPTY_LIST),
    ], capsys)
    assert result["msg"] == "create attachment failed: Cinder answered 500: Unable to create attachment for volume."
    assert client.sleeps == []


def test_unknown_volume(capsys):
    missing = "00000000-0000-0000-0000-000000000000"
    result, dummy, dummy = run(args(volume=missing), [
        (("GET", "/volumes/%s" % missing, None, None), fixture("lab__volume_show_unknown")),
        (("GET", "/volumes/detail?name=%s" % missing, None, None),
         fixture("two_backends__68_volume_list_after_errors")),
    ], capsys)
    assert result["failed"] is True
    assert result["cinder_status"] == 404
    assert result["msg"] == "find volume %s failed: Cinder answered 404: no volume has this name or id" % missing


def test_bad_token_401(capsys):
    result, dummy, dummy = run(args(), [(GET_VOLUME, fixture("keystone__k05_err_bad_token"))], capsys)
    assert result["msg"] == ("show volume %s failed: Cinder answered 401: The request you have made requires "
                             "authentication." % VOL)


def test_other_host_holds_volume(capsys):
    result, dummy, dummy = run(args(connector=dict(CONNECTOR, host="other")), [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (LIST, fixture("filelvm__15_attachment_list")),
    ], capsys)
    assert result["msg"] == ("volume %s is attached to host test (attachment %s) and is not multiattach"
                             % (VOL, ATT))


def test_attached_completes_pending(capsys):
    complete = ("POST", "/attachments/%s/action" % NEW_ATT, {"os-complete": None}, "3.54")
    result, dummy, dummy = run(args(state="attached"), [
        (GET_VOLUME, fixture("filelvm__11_volume_show_after_attachment_create")),
        (LIST, listed(PENDING)),
        (complete, fixture("filelvm__12_attachment_complete_mv3.44")),
    ], capsys)
    assert result["changed"] is True
    assert result["status"] == "attached"


def test_attached_is_idempotent(capsys):
    result, dummy, dummy = run({"volume": VOL, "attachment_id": ATT, "state": "attached"}, [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (LIST, fixture("filelvm__15_attachment_list")),
    ], capsys)
    assert result["changed"] is False


def test_attached_without_attachment_fails(capsys):
    result, dummy, dummy = run(args(state="attached"), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (LIST, EMPTY_LIST),
    ], capsys)
    assert "run state=present first" in result["msg"]


def test_absent_deletes(capsys):
    result, dummy, dummy = run(args(state="absent"), [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (LIST, fixture("filelvm__15_attachment_list")),
        (("DELETE", "/attachments/%s" % ATT, None, "3.54"), fixture("filelvm__16_attachment_delete")),
    ], capsys)
    assert result["changed"] is True
    assert result["status"] == "deleted"


def test_absent_check_mode(capsys):
    result, dummy, dummy = run(args(state="absent", _ansible_check_mode=True), [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (LIST, fixture("filelvm__15_attachment_list")),
    ], capsys)
    assert result["changed"] is True


def test_absent_nothing_to_do(capsys):
    result, dummy, dummy = run(args(state="absent"), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (LIST, EMPTY_LIST),
    ], capsys)
    assert result["changed"] is False


def test_absent_retries_delete_on_timeout(capsys):
    class Timeout(Exception):
        pass

    delete = ("DELETE", "/attachments/%s" % ATT, None, "3.54")
    client_script = [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (LIST, fixture("filelvm__15_attachment_list")),
        (delete, Timeout("read timed out")),
        (delete, fixture("filelvm__16_attachment_delete")),
    ]
    client = Replay(client_script)
    client.retriable_errors = (Timeout,)
    with patch_module_args(args(state="absent")):
        with pytest.raises(SystemExit):
            cinder_attachment.CinderAttachmentModule(client=client)()
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is True
    assert client.sleeps == [1.0]


LEGACY_ACTION = "/volumes/%s/action" % VOL


def test_legacy_present_reserves_and_connects(capsys):
    result, dummy, dummy = run(args(api="legacy"), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (("POST", LEGACY_ACTION, {"os-reserve": {}}, None), fixture("lab__os_reserve")),
        (("POST", LEGACY_ACTION, {"os-initialize_connection": {"connector": CONNECTOR}}, None),
         fixture("filelvm__03_initialize_connection_multipath_true")),
    ], capsys)
    assert result["changed"] is True
    assert result["microversion"] is None
    assert result["connection_info"]["data"]["auth_password"] == "********"
    assert [t["portal"] for t in result["targets"]] == ["127.0.0.1:3260", "127.0.0.2:3260"]


def test_legacy_present_unreserves_after_retried_500(capsys):
    init = ("POST", LEGACY_ACTION, {"os-initialize_connection": {"connector": CONNECTOR}}, None)
    result, client, dummy = run(args(api="legacy"), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (("POST", LEGACY_ACTION, {"os-reserve": {}}, None), fixture("lab__os_reserve")),
        (init, fixture("two_backends__86_err_init_conn_tgtd_down")),
        (init, fixture("two_backends__86_err_init_conn_tgtd_down")),
        (init, fixture("two_backends__86_err_init_conn_tgtd_down")),
        (init, fixture("two_backends__86_err_init_conn_tgtd_down")),
        (("POST", LEGACY_ACTION, {"os-unreserve": {}}, None), fixture("lab__os_unreserve")),
    ], capsys)
    assert client.sleeps == [1.0, 2.0, 4.0]
    assert result["msg"] == ("os-initialize_connection failed: Cinder answered 500: The server has either erred "
                             "or is incapable of performing the requested operation.; ran os-unreserve")


def test_legacy_attached_from_reserved(capsys):
    attach = {"os-attach": {"mountpoint": "/dev/dm-0", "host_name": "test", "mode": "rw"}}
    result, dummy, dummy = run(args(api="legacy", state="attached", mountpoint="/dev/dm-0"), [
        (GET_VOLUME, fixture("filelvm__11_volume_show_after_attachment_create")),
        (("POST", LEGACY_ACTION, attach, None), fixture("lab__os_attach")),
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
    ], capsys)
    assert result["changed"] is True
    assert result["attachment_id"] == ATT
    assert result["status"] == "in-use"


def test_legacy_absent_detaches(capsys):
    result, dummy, dummy = run(args(api="legacy", state="absent"), [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (("POST", LEGACY_ACTION, {"os-begin_detaching": {}}, None), fixture("lab__os_begin_detaching")),
        (("POST", LEGACY_ACTION, {"os-terminate_connection": {"connector": CONNECTOR}}, None),
         fixture("filelvm__06_terminate_connection")),
        (("POST", LEGACY_ACTION, {"os-detach": {"attachment_id": ATT}}, None), fixture("lab__os_detach")),
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
    ], capsys)
    assert result["changed"] is True
    assert result["status"] == "available"


def test_legacy_absent_rolls_back_failed_detach(capsys):
    result, dummy, dummy = run(args(api="legacy", state="absent"), [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (("POST", LEGACY_ACTION, {"os-begin_detaching": {}}, None), fixture("lab__os_begin_detaching")),
        (("POST", LEGACY_ACTION, {"os-terminate_connection": {"connector": CONNECTOR}}, None),
         fixture("filelvm__06_terminate_connection")),
        (("POST", LEGACY_ACTION, {"os-detach": {"attachment_id": ATT}}, None),
         fixture("filelvm__37_err_attachment_create_in_use_volume")),
        (("POST", LEGACY_ACTION, {"os-roll_detaching": {}}, None), fixture("lab__os_roll_detaching")),
    ], capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("os-detach failed: Cinder answered 400: ")
    assert result["msg"].endswith("; ran os-roll_detaching")


def test_needs_some_identity(capsys):
    result, dummy, dummy = run({"volume": VOL, "state": "absent"}, [], capsys)
    assert "give host_name" in result["msg"]


def test_cloud_dict_secrets_never_printed(capsys):
    cloud = {"auth": {"auth_url": "http://127.0.0.1:5000/v3", "username": "admin", "password": "cloud-pw-4711"}}
    result, dummy, out = run(args(cloud=cloud, _ansible_verbosity=4), [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (LIST, fixture("filelvm__15_attachment_list")),
    ], capsys)
    assert result["changed"] is False
    assert "cloud-pw-4711" not in out
    if "invocation" in result:  # ansible-core 2.19 prints the arguments; 2.21 leaves them out
        assert result["invocation"]["module_args"]["cloud"]["auth"]["username"] == "admin"
    assert ATTACHED["connection_info"]["auth_password"] not in out


def test_cloud_dict_with_overrides_is_refused_before_any_call(capsys):
    with patch_module_args({"volume": VOL, "connector": CONNECTOR, "cloud": {"auth": {}}, "region_name": "r"}):
        with pytest.raises(SystemExit):
            cinder_attachment.CinderAttachmentModule()()
    result = json.loads(capsys.readouterr().out)
    assert result["msg"] == ("cloud is a dict (a complete cloud config), so these options must be left out: "
                             "region_name")


def test_legacy_present_is_idempotent_for_this_host(capsys):
    result, dummy, dummy = run(args(api="legacy"), [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
        (("POST", LEGACY_ACTION, {"os-initialize_connection": {"connector": CONNECTOR}}, None),
         fixture("filelvm__03_initialize_connection_multipath_true")),
    ], capsys)
    assert result["changed"] is False
    assert result["attachment_id"] == ATT
    assert len(result["targets"]) == 2


def test_legacy_refuses_volume_of_another_host(capsys):
    result, dummy, dummy = run(args(api="legacy", connector=dict(CONNECTOR, host="other")), [
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
    ], capsys)
    assert result["msg"] == ("volume %s is in-use (attached to test); the legacy API attaches only an available "
                             "volume" % VOL)


def test_legacy_attached_from_available_does_the_whole_sequence(capsys):
    result, dummy, dummy = run(args(api="legacy", state="attached"), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (("POST", LEGACY_ACTION, {"os-reserve": {}}, None), fixture("lab__os_reserve")),
        (("POST", LEGACY_ACTION, {"os-initialize_connection": {"connector": CONNECTOR}}, None),
         fixture("filelvm__03_initialize_connection_multipath_true")),
        (("POST", LEGACY_ACTION, {"os-attach": {"mountpoint": "na", "host_name": "test", "mode": "rw"}}, None),
         fixture("lab__os_attach")),
        (GET_VOLUME, fixture("filelvm__13_volume_show_after_complete")),
    ], capsys)
    assert result["changed"] is True
    assert result["attachment_id"] == ATT


UNUSABLE = dict(PENDING, connection_info=dict(PENDING["connection_info"], driver_volume_type="fibre_channel"))


def test_unusable_answer_deletes_the_attachment_it_made(capsys):
    create = ("POST", "/attachments",
              {"attachment": {"volume_uuid": VOL, "connector": CONNECTOR, "mode": "rw"}}, "3.54")
    result, dummy, out = run(args(), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (LIST, EMPTY_LIST),
        (create, (200, json.dumps({"attachment": UNUSABLE}))),
        (("DELETE", "/attachments/%s" % NEW_ATT, None, "3.54"), fixture("filelvm__16_attachment_delete")),
    ], capsys)
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"].startswith("Cinder returned connection details this collection cannot use: ")
    assert result["msg"].endswith("; deleted the attachment %s it made" % NEW_ATT)
    assert PENDING["connection_info"]["auth_password"] not in out


def test_unusable_legacy_answer_terminates_and_unreserves(capsys):
    action = ("POST", "/volumes/%s/action" % VOL)
    connection_info = {"driver_volume_type": "fibre_channel", "data": {"target_wwn": ["500a0981"]}}
    result, dummy, dummy = run(args(api="legacy"), [
        (GET_VOLUME, fixture("filelvm__02_volume_show_available")),
        (action + ({"os-reserve": {}}, None), (202, "")),
        (action + ({"os-initialize_connection": {"connector": CONNECTOR}}, None),
         (200, json.dumps({"connection_info": connection_info}))),
        (action + ({"os-terminate_connection": {"connector": CONNECTOR}}, None), (202, "")),
        (action + ({"os-unreserve": {}}, None), (202, "")),
    ], capsys)
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"].endswith("; ran os-terminate_connection and os-unreserve")


def test_present_refuses_pending_attachment_of_nova_instance(capsys):
    nova = dict(PENDING, instance="6f1f2a4e-0c4b-4d43-9b7e-2b7c9e0f7c11")
    result, dummy, dummy = run(args(), [
        (GET_VOLUME, fixture("filelvm__11_volume_show_after_attachment_create")),
        (LIST, listed(nova)),
    ], capsys)
    assert result["failed"] is True
    assert result["changed"] is False
    assert "belongs to instance 6f1f2a4e-0c4b-4d43-9b7e-2b7c9e0f7c11 (Nova's)" in result["msg"]
