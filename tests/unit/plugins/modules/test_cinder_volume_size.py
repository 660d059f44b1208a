# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cinder_volume_size against replayed real answers of the lab's Cinder 29 (lab/openstack/capture_extend.py);
every request is asserted exactly."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import cinder_volume_size
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.test_cinder_attachment import (
    SERVER_VERSIONS, Replay, body_of, fixture)

SHOWN = body_of("lab__volume_show_in_use_2g")["volume"]
VOL = SHOWN["id"]
SHOW = ("GET", "/volumes/%s" % VOL, None, None)
GIB = 1 << 30


def extend(size, microversion="3.42"):
    return ("POST", "/volumes/%s/action" % VOL, {"os-extend": {"new_size": size}}, microversion)


def shown(name, **changes):
    """A captured volume show, with changes (hand-made states say so where they are used)."""
    body = body_of(name)
    body["volume"].update(changes)
    return 200, json.dumps(body)


class Clock:
    """time.monotonic of the module; the client's sleep advances it."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TimedReplay(Replay):
    def __init__(self, script, versions, clock):
        super().__init__(script, versions)
        self.clock = clock

    def record_sleep(self, seconds):
        super().record_sleep(seconds)
        self.clock.now += seconds


def run(args, script, capsys, versions=SERVER_VERSIONS):
    clock = Clock()
    client = TimedReplay(script, versions, clock)
    with patch_module_args(dict({"volume": VOL}, **args)):
        with pytest.raises(SystemExit):
            cinder_volume_size.CinderVolumeSizeModule(client=client, clock=clock)()
    out = capsys.readouterr().out
    assert client.script == [], "requests not made: %r" % client.script
    return json.loads(out), client


def test_an_in_use_volume_is_extended_at_3_42_and_waited_for(capsys):
    result, client = run({"size": 3}, [
        (SHOW, fixture("lab__volume_show_in_use_2g")),
        (extend(3), fixture("lab__os_extend_in_use")),
        (SHOW, fixture("lab__volume_show_in_use_3g_pending")),
        (SHOW, fixture("lab__volume_show_in_use_3g")),
    ], capsys)
    assert result["changed"] and result["microversion"] == "3.42"
    assert (result["previous_size"], result["volume"]["size"], result["volume"]["status"]) == (2, 3, "in-use")
    assert result["size_bytes"] == 3 * GIB and result["elapsed_s"] == 2.0 and client.sleeps == [2.0]


def test_the_pending_answer_is_extending_at_the_old_size():
    """Cinder reports the new size only with the status of before, at once: the module waits for both."""
    pending = body_of("lab__volume_show_in_use_3g_pending")["volume"]
    done = body_of("lab__volume_show_in_use_3g")["volume"]
    assert (pending["status"], pending["size"]) == ("extending", 2) and (done["status"], done["size"]) == ("in-use", 3)
    assert fixture("lab__os_extend_in_use") == (202, "")


def test_a_volume_of_that_size_is_left_alone(capsys):
    result, dummy = run({"size": 2}, [(SHOW, fixture("lab__volume_show_in_use_2g"))], capsys)
    assert not result["changed"] and result["previous_size"] == 2 and "elapsed_s" not in result


def test_check_mode_makes_no_request_that_changes_cinder(capsys):
    result, dummy = run({"size": 3, "_ansible_check_mode": True}, [(SHOW, fixture("lab__volume_show_in_use_2g"))],
                        capsys)
    assert result["changed"] and result["volume"]["size"] == 2


def test_cinder_never_shrinks(capsys):
    result, dummy = run({"size": 1}, [(SHOW, fixture("lab__volume_show_in_use_2g"))], capsys)
    assert result["failed"] and result["msg"] == "volume %s is 2 GiB: Cinder cannot shrink it to 1 GiB" % VOL


def test_an_available_volume_is_extended_too(capsys):
    available = body_of("lab__volume_show_available_1g")["volume"]
    show = ("GET", "/volumes/%s" % available["id"], None, None)
    action = ("POST", "/volumes/%s/action" % available["id"], {"os-extend": {"new_size": 2}}, "3.42")
    clock = Clock()
    client = TimedReplay([(show, fixture("lab__volume_show_available_1g")),
                          (action, fixture("lab__os_extend_available")),
                          (show, fixture("lab__volume_show_available_2g"))], SERVER_VERSIONS, clock)
    with patch_module_args({"volume": available["id"], "size": 2}):
        with pytest.raises(SystemExit):
            cinder_volume_size.CinderVolumeSizeModule(client=client, clock=clock)()
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] and result["volume"]["status"] == "available" and result["volume"]["size"] == 2


def test_a_server_without_3_42_is_refused_before_any_change_for_an_in_use_volume(capsys):
    result, dummy = run({"size": 3}, [(SHOW, fixture("lab__volume_show_in_use_2g"))], capsys,
                        versions=((3, 0), (3, 27)))
    assert result["failed"] and result["msg"] == (
        "volume %s is in-use: extending an attached volume needs block-storage microversion 3.42, but the server "
        "supports 3.0 to 3.27" % VOL)


def test_cinder_refusing_the_request_fails_with_its_message(capsys):
    refused = fixture("lab__os_extend_in_use_mv3.41")  # real: an in-use extend asked below 3.42
    result, dummy = run({"size": 3}, [(SHOW, fixture("lab__volume_show_in_use_2g")), (extend(3), refused)], capsys)
    message = body_of("lab__os_extend_in_use_mv3.41")["badRequest"]["message"]
    assert result["failed"] and result["cinder_status"] == 400 and result["cinder_message"] == message
    assert result["msg"] == "os-extend failed: Cinder answered 400: %s" % message


def test_error_extending_fails_the_wait(capsys):
    result, dummy = run({"size": 3}, [
        (SHOW, fixture("lab__volume_show_in_use_2g")),
        (extend(3), fixture("lab__os_extend_in_use")),
        (SHOW, shown("lab__volume_show_in_use_3g_pending", status="error_extending")),  # hand-made status
    ], capsys)
    assert result["failed"] and result["msg"].startswith(
        "Cinder could not extend volume %s (status error_extending" % VOL)
    assert result["volume"]["status"] == "error_extending"


def test_the_wait_is_bounded(capsys):
    pending = fixture("lab__volume_show_in_use_3g_pending")
    result, client = run({"size": 3, "timeout": 5}, [
        (SHOW, fixture("lab__volume_show_in_use_2g")), (extend(3), fixture("lab__os_extend_in_use")),
        (SHOW, pending), (SHOW, pending), (SHOW, pending), (SHOW, pending)], capsys)
    assert result["failed"] and result["msg"] == (
        "volume %s is still extending at 2 GiB after 5 s, waiting for in-use at 3 GiB" % VOL)
    assert client.sleeps == [2.0, 2.0, 2.0]


def test_without_wait_it_returns_once_cinder_accepted(capsys):
    result, client = run({"size": 3, "wait": False}, [
        (SHOW, fixture("lab__volume_show_in_use_2g")), (extend(3), fixture("lab__os_extend_in_use"))], capsys)
    assert result["changed"] and result["volume"]["status"] == "extending" and client.sleeps == []


def test_an_extend_running_already_is_waited_for_first(capsys):
    result, dummy = run({"size": 3}, [
        (SHOW, fixture("lab__volume_show_in_use_3g_pending")),
        (SHOW, fixture("lab__volume_show_in_use_3g_pending")),
        (SHOW, fixture("lab__volume_show_in_use_3g")),
    ], capsys)
    assert not result["changed"] and result["previous_size"] == 3 and result["volume"]["status"] == "in-use"


def test_size_must_be_positive(capsys):
    result, dummy = run({"size": 0}, [], capsys)
    assert result["failed"] and result["msg"] == "size must be 1 GiB or more, got 0"
