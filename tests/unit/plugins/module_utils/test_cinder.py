# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_cinder: error bodies of real Cinder answers, microversions, retries, the adapter seam."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._cinder import (
    CinderClient,
    CinderError,
    error_message,
    is_uuid,
    microversion_tuple,
    negotiate_microversion,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "cinder_api")


def captured(name):
    with open(os.path.join(FIXTURES, name + ".json")) as handle:
        response = json.load(handle)["response"]
    return response["status"], json.dumps(response["body"])


@pytest.mark.parametrize("name, message", [
    ("filelvm__30_err_init_conn_unknown_volume", "Volume 00000000-0000-0000-0000-000000000000 could not be found."),
    ("filelvm__41_err_microversion_too_high", "Version 3.99 is not supported by the API. Minimum is 3.0 and maximum is 3.71."),
    ("keystone__k05_err_bad_token", "The request you have made requires authentication."),
    ("two_backends__87_err_attachment_create_tgtd_down", "Unable to create attachment for volume."),
])
def test_error_message_of_real_bodies(name, message):
    status, text = captured(name)
    assert error_message(status, text) == message


def test_error_message_of_odd_bodies():
    assert error_message(502, "") == "HTTP 502 with an empty body"
    assert error_message(502, "<html>Bad Gateway</html>") == "<html>Bad Gateway</html>"


def test_microversions():
    assert microversion_tuple("3.54") == (3, 54)
    assert microversion_tuple(None) is None
    with pytest.raises(ValueError, match="looks like 3.54"):
        microversion_tuple("3.x")
    assert negotiate_microversion((3, 0), (3, 71), (3, 54)) == (3, 54)
    assert negotiate_microversion((3, 0), (3, 50), (3, 54)) == (3, 50)
    assert negotiate_microversion((3, 0), (3, 71), (3, 54), cap=(3, 44)) == (3, 44)
    assert negotiate_microversion((3, 30), (3, 71), (3, 54), cap=(3, 27)) is None


def test_is_uuid():
    assert is_uuid("2e177094-798d-492b-833d-2052f6dcd725")
    assert not is_uuid("fixture-vol-1")


class Response:
    def __init__(self, status, text):
        self.status_code, self.text = status, text


class Adapter:
    """Records what the client hands to keystoneauth's Adapter.request."""

    def __init__(self, answers):
        self.answers, self.calls = list(answers), []

    def request(self, url, method, **kwargs):
        self.calls.append((url, method, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Response(*answer)


class Timeout(Exception):
    pass


def test_send_passes_microversion_and_json_to_the_adapter():
    adapter = Adapter([captured("filelvm__12_attachment_complete_mv3.44")])
    CinderClient(adapter).complete_attachment("a1", "3.44")
    assert adapter.calls == [("/attachments/a1/action", "POST",
                              {"raise_exc": False, "microversion": "3.44", "json": {"os-complete": None}})]


def test_idempotent_call_retries_timeouts_and_5xx_then_gives_up():
    sleeps = []
    adapter = Adapter([Timeout("timed out"), captured("two_backends__86_err_init_conn_tgtd_down"),
                       (503, ""), (503, "")])
    client = CinderClient(adapter, retriable_errors=(Timeout,), sleep=sleeps.append)
    with pytest.raises(CinderError) as caught:
        client.get_volume("v1")
    assert caught.value.status == 503
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(adapter.calls) == 4


def test_timeout_of_a_non_idempotent_call_is_reported_at_once():
    client = CinderClient(Adapter([Timeout("read timed out")]), retriable_errors=(Timeout,), sleep=None)
    with pytest.raises(CinderError, match="create attachment failed: no answer from Cinder: read timed out"):
        client.create_attachment("v1", {"initiator": "iqn.x"}, "rw", "3.54")


def test_4xx_is_never_retried():
    adapter = Adapter([captured("filelvm__36_err_attachment_create_unknown_volume")])
    with pytest.raises(CinderError) as caught:
        CinderClient(adapter, sleep=None).list_attachments("v1", "3.54")
    assert caught.value.status == 404


def test_find_volume_by_name_must_be_unique():
    listing = json.loads(captured("two_backends__68_volume_list_after_errors")[1])
    twice = listing["volumes"] + [dict(listing["volumes"][0], id="11111111-2222-3333-4444-555555555555")]
    adapter = Adapter([(200, json.dumps({"volumes": twice}))])
    with pytest.raises(CinderError, match="2 volumes have this name"):
        CinderClient(adapter).find_volume("two-portal-vol")
    assert adapter.calls[0][0] == "/volumes/detail?name=two-portal-vol"


def test_delete_of_unknown_attachment_is_false():
    adapter = Adapter([captured("filelvm__36_err_attachment_create_unknown_volume")])
    assert CinderClient(adapter).delete_attachment("gone", "3.54") is False


class EndpointData:
    def __init__(self, min_microversion, max_microversion):
        self.min_microversion, self.max_microversion = min_microversion, max_microversion


class DiscoveringAdapter:
    def __init__(self, data):
        self.data = data

    def get_endpoint_data(self):
        return self.data


def test_server_microversions_from_keystoneauth_discovery():
    assert CinderClient(DiscoveringAdapter(EndpointData((3, 0), (3, 71)))).server_microversions() == ((3, 0), (3, 71))
    assert CinderClient(DiscoveringAdapter(EndpointData(None, None))).server_microversions() == (None, None)
    assert CinderClient(DiscoveringAdapter(None)).server_microversions() == (None, None)
