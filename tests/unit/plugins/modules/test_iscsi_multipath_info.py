# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_multipath_info
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call, replay, replay_steps

STEPS = replay_steps()
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
WWID = '360000000000000000000000000000001'


def test_info_reports_sessions_nodes_and_maps(harness, sysfs):
    sysfs.add_session(0, 5)
    sysfs.add_session(1, 6)
    sysfs.add_device(0, 5, 1, 'sda', 'naa.60000000000000000000000000000001', 64 << 20)
    result, failed = harness.run(iscsi_multipath_info.main, {}, [
        replay(STEPS['session_two']), replay(STEPS['node_list_after_discovery']),
        replay(STEPS['multipathd_status']), replay(STEPS['maps_json'])], check_mode=True)
    assert not failed and not result['changed'] and result['multipathd_running']
    assert result['sessions'][0] == {'sid': 5, 'transport': 'tcp', 'portal': '192.0.2.1:3260', 'tpgt': 1, 'iqn': IQN,
                                     'scsi_host': 0, 'devices': {'1': 'sda'}}
    assert result['sessions'][1]['devices'] == {}
    assert result['nodes'] == [{'portal': '192.0.2.1:3260', 'iqn': IQN, 'tpgt': 1}]
    assert result['maps'][0]['wwid'] == WWID and len(result['maps'][0]['paths']) == 2


def test_info_on_an_empty_host(harness, sysfs):
    result, failed = harness.run(iscsi_multipath_info.main, {}, [
        replay(STEPS['session_none']), replay(STEPS['node_list_none']),
        call(STEPS['multipathd_status']['argv'], rc=1, stderr='ux_socket_connect: No such file or directory\n')])
    assert not failed
    assert (result['sessions'], result['nodes'], result['maps'], result['multipathd_running']) == ([], [], [], False)


VOL_A = '0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11'
VOL_B = '7c3e9d1a-2b4f-4e8a-b6c5-1f0d9e8a7b22'


def attach_record(volume_id, lun=1):
    target = {'portal': '192.0.2.1:3260', 'iqn': IQN, 'lun': lun}
    return {'version': 1, 'volume_id': volume_id, 'attachment_id': 'att-' + volume_id, 'host': 'compute-1',
            'initiator': 'iqn.1994-05.com.redhat:compute-1', 'controller': 'controller-1', 'wwid': WWID,
            'device': '/dev/mapper/' + WWID, 'size_bytes': 64 << 20, 'targets': [target],
            'own_sessions': [target], 'own_nodes': [target]}


@pytest.fixture
def record_dir(tmp_path):
    """A root-only record directory holding the attach record of VOL_A."""
    path = tmp_path / 'attachments'
    path.mkdir()
    path.chmod(0o700)
    write_record(path, VOL_A, attach_record(VOL_A))
    return path


def write_record(directory, volume_id, record):
    path = directory / (volume_id + '.json')
    path.write_text(json.dumps(record))
    path.chmod(0o600)
    return path


def no_binaries(monkeypatch):
    """iscsiadm and multipathd are not installed: any look-up of a binary fails the test."""
    def get_bin_path(module, name, required=False):
        raise AssertionError('looked up %s' % name)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', get_bin_path)


def test_info_gathers_only_records_without_any_command(harness, record_dir, monkeypatch):
    write_record(record_dir, VOL_B, attach_record(VOL_B, lun=2))
    no_binaries(monkeypatch)
    result, failed = harness.run(iscsi_multipath_info.main, {
        'gather': ['records'], 'record_dir': str(record_dir), 'volume_ids': [VOL_A, VOL_B]}, [])
    assert not failed and not result['changed']
    assert harness.made == []
    assert result['records'] == {VOL_A: attach_record(VOL_A), VOL_B: attach_record(VOL_B, lun=2)}
    assert not set(result) & {'sessions', 'nodes', 'maps', 'multipathd_running'}


def test_info_leaves_out_a_volume_without_a_record(harness, record_dir):
    result, failed = harness.run(iscsi_multipath_info.main, {
        'gather': ['records'], 'record_dir': str(record_dir), 'volume_ids': [VOL_A, VOL_B]}, [])
    assert not failed and harness.made == []
    assert result['records'] == {VOL_A: attach_record(VOL_A)}


def test_info_without_a_record_dir_returns_no_records(harness, tmp_path):
    result, failed = harness.run(iscsi_multipath_info.main, {
        'gather': ['records'], 'record_dir': str(tmp_path / 'absent'), 'volume_ids': [VOL_A]}, [])
    assert not failed and result['records'] == {}


def test_info_refuses_a_symlinked_record(harness, record_dir, tmp_path):
    elsewhere = tmp_path / 'elsewhere.json'
    elsewhere.write_text(json.dumps(attach_record(VOL_B)))
    os.symlink(str(elsewhere), str(record_dir / (VOL_B + '.json')))
    result, failed = harness.run(iscsi_multipath_info.main, {
        'gather': ['records'], 'record_dir': str(record_dir), 'volume_ids': [VOL_A, VOL_B]}, [])
    assert failed and harness.made == []
    assert str(record_dir / (VOL_B + '.json')) in result['msg'] and 'records' not in result


def test_info_refuses_a_record_dir_others_can_write(harness, record_dir):
    record_dir.chmod(0o777)
    result, failed = harness.run(iscsi_multipath_info.main, {
        'gather': ['records'], 'record_dir': str(record_dir), 'volume_ids': [VOL_A]}, [])
    assert failed and 'not a directory only its owner can write' in result['msg']


def test_info_refuses_a_record_naming_another_volume(harness, record_dir):
    write_record(record_dir, VOL_B, attach_record(VOL_A))
    result, failed = harness.run(iscsi_multipath_info.main, {
        'gather': ['records'], 'record_dir': str(record_dir), 'volume_ids': [VOL_B]}, [])
    assert failed and 'names volume %r' % VOL_A in result['msg']


def test_info_records_need_volume_ids(harness, record_dir, monkeypatch):
    no_binaries(monkeypatch)
    result, failed = harness.run(iscsi_multipath_info.main, {'gather': ['sessions', 'records'],
                                                             'record_dir': str(record_dir)}, [])
    assert failed and harness.made == []
    assert 'volume_ids' in result['msg'] and 'records' in result['msg']


def test_info_refuses_an_unknown_part(harness):
    result, failed = harness.run(iscsi_multipath_info.main, {'gather': ['disks']}, [])
    assert failed and harness.made == [] and 'gather' in result['msg']


def test_info_runs_only_the_commands_of_the_chosen_parts(harness, record_dir):
    result, failed = harness.run(iscsi_multipath_info.main, {
        'gather': ['maps', 'records'], 'record_dir': str(record_dir), 'volume_ids': [VOL_A]}, [
        replay(STEPS['multipathd_status']), replay(STEPS['maps_json'])])
    assert not failed and result['multipathd_running'] and result['maps'][0]['wwid'] == WWID
    assert result['records'] == {VOL_A: attach_record(VOL_A)}
    assert 'sessions' not in result and 'nodes' not in result


def test_info_nodes_only_lists_node_records(harness):
    result, failed = harness.run(iscsi_multipath_info.main, {'gather': ['nodes']}, [
        replay(STEPS['node_list_after_discovery'])])
    assert not failed and set(result) == {'changed', 'nodes'}
    assert result['nodes'] == [{'portal': '192.0.2.1:3260', 'iqn': IQN, 'tpgt': 1}]


def test_info_default_gather_has_no_records(harness, sysfs):
    result, failed = harness.run(iscsi_multipath_info.main, {}, [
        replay(STEPS['session_none']), replay(STEPS['node_list_none']),
        replay(STEPS['multipathd_status']), replay(STEPS['maps_json'])])
    assert not failed
    assert set(result) == {'changed', 'sessions', 'nodes', 'maps', 'multipathd_running'}


def test_info_health_of_every_recorded_volume(harness, sysfs, record_dir):
    """Both records (no volume_ids): A's one path is active but the map also holds a device at none of its targets;
    B's LUN 2 has no device on the session."""
    write_record(record_dir, VOL_B, attach_record(VOL_B, lun=2))
    sysfs.add_session(0, 5)
    sysfs.add_device(0, 5, 1, 'sda', 'naa.60000000000000000000000000000001', 64 << 20)
    sysfs.add_map('dm-0', WWID, WWID, ['sda'])
    sysfs.write('sys/class/iscsi_session/session5/state', 'LOGGED_IN\n')
    sysfs.write('sys/class/iscsi_session/session5/ifacename', 'storage-a\n')
    result, failed = harness.run(iscsi_multipath_info.main, {
        'gather': ['health'], 'record_dir': str(record_dir), 'volume_sizes': {VOL_A: 64 << 20}}, [
        call(STEPS['session_two']['argv'], stdout='tcp: [5] 192.0.2.1:3260,1 %s (non-flash)\n' % IQN),
        replay(STEPS['multipathd_status']), replay(STEPS['maps_json'])], check_mode=True)
    assert not failed and not result['changed'] and set(result) == {
        'changed', 'health', 'health_summary', 'health_problems'}
    first, other = result['health']
    assert (first['volume_id'], first['status'], first['cinder_size_bytes']) == (VOL_A, 'degraded', 64 << 20)
    assert first['foreign_paths'] == ['sdb']  # the capture's map also lists sdb, at none of the record's targets
    assert result['health_summary'][:2] == [
        "%s: degraded, 1 of 1 paths active, /dev/mapper/%s (dm-0, %d bytes): the map holds sdb, not a device at one "
        "of the volume's targets" % (VOL_A, WWID, 64 << 20),
        '  192.0.2.1:3260 LUN 1: active, sda (session 5 LOGGED_IN, iface storage-a, dm active, checker ready)']
    assert other['paths'][0]['state'] == 'no_device' and other['status'] == 'degraded'
    assert len(result['health_problems']) == 2


def test_info_health_of_a_volume_without_record_is_missing(harness, sysfs, record_dir):
    result, failed = harness.run(iscsi_multipath_info.main, {
        'gather': ['health'], 'record_dir': str(record_dir), 'volume_ids': [VOL_B]}, [
        replay(STEPS['session_none']), replay(STEPS['multipathd_status']), replay(STEPS['maps_json_empty'])])
    assert not failed and result['health'][0]['status'] == 'missing'
    assert result['health_problems'] == ['%s: missing, no attach record in %s: not attached to this host' % (
        VOL_B, record_dir)]
