"""What the lab scenario proves, checked in the guest after converge and side_effect."""

import json

import jmespath
import pytest

IQN = "iqn.2026-11.example.lab:molecule-lab"
PORTALS = {"192.0.2.1:3260", "198.51.100.1:3260"}


@pytest.fixture(name="maps")
def fixture_maps(host):
    return json.loads(host.check_output("multipathd show maps json"))


def test_two_sessions_one_per_portal(host):
    sessions = host.check_output("iscsiadm -m session").splitlines()
    portals = {line.split()[2].split(",")[0] for line in sessions if IQN in line}
    assert portals == PORTALS


@pytest.mark.parametrize("portal", sorted(PORTALS))
def test_sessions_use_chap(host, portal):
    record = host.check_output(f"iscsiadm -m node -T {IQN} -p {portal}")
    assert "node.session.auth.authmethod = CHAP" in record


def test_one_map_with_two_active_paths(maps):
    assert len(maps["maps"]) == 1
    states = jmespath.search("maps[0].path_groups[].paths[].[dm_st, chk_st]", maps)
    assert states == [["active", "ready"], ["active", "ready"]]


def test_pattern_reads_back_identical_through_the_map(host, maps):
    device = "/dev/mapper/" + jmespath.search("maps[0].name", maps)
    assert host.file(device).exists
    host.check_output(f"dd if={device} bs=1M count=16 iflag=direct status=none | cmp - /root/pattern")


def test_io_continued_through_the_cut_without_errors(host):
    results = [line.split()[1] for line in host.file("/root/io-loop.log").content_string.splitlines()]
    assert results.count("ok") >= 13
    assert "ERR" not in results


def test_no_map_or_path_reports_a_fault(maps):
    assert jmespath.search("maps[?dm_st != 'active'].name", maps) == []
    assert jmespath.search("maps[].path_groups[].paths[?chk_st != 'ready'][].dev", maps) == []
