# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _device, _locks
from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import multipath_device
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import (
    call,
    replay,
    replay_steps,
    with_path_states,
)

STEPS = replay_steps()
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
A, B = '192.0.2.1:3260', '198.51.100.1:3260'
WWID = '360000000000000000000000000000001'  # real, capture.json
SYSFS_WWID = 'naa.60000000000000000000000000000001'
SIZE = 64 << 20
TARGETS = [{'portal': A, 'iqn': IQN, 'lun': 1}, {'portal': B, 'iqn': IQN, 'lun': 1}]
SESSIONS = replay(STEPS['session_two'])
MPATHD = '/usr/sbin/multipathd'
MAPS = replay(STEPS['maps_json'])
# the same listing after the kernel failed both paths (checker down): no path can do IO
FAILED = call(MAPS['argv'], stdout=with_path_states(MAPS['stdout'], dm_st='failed', chk_st='faulty'))
SETTLE = call(['/usr/sbin/udevadm', 'settle', '--timeout=30'])


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    """The default lock directory of these runs: a fresh one per test, never the host's /run."""
    path = str(tmp_path / 'locks')
    monkeypatch.setattr(_locks, 'DEFAULT_LOCK_DIR', path)
    return path


@pytest.fixture
def two_sessions(sysfs):
    sysfs.add_session(0, 5, with_target=False)  # manual scan: no target directory before the first scan (real)
    sysfs.add_session(1, 6, with_target=False)
    return sysfs


def _devices(sysfs, wwid_b=SYSFS_WWID, size_b=SIZE):
    sysfs.add_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    sysfs.add_device(1, 6, 1, 'sdb', wwid_b, size_b)


def _pend(sysfs):
    sysfs.pend_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    sysfs.pend_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)


def test_present_scans_builds_map_and_waits_for_io(harness, two_sessions):
    sysfs = two_sessions
    _pend(sysfs)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [
        SESSIONS,
        replay(STEPS['multipath_a']),
        replay(STEPS['add_path_sda']),
        replay(STEPS['add_path_sdb'], effect=lambda: sysfs.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])),
        MAPS])
    assert not failed, result
    assert sysfs.read('sys/class/scsi_host/host0/scan') == '- - 1'
    assert sysfs.read('sys/class/scsi_host/host1/scan') == '- - 1'
    assert result['changed'] and result['wwid'] == WWID and result['size_bytes'] == SIZE
    assert (result['dm'], result['device'], result['by_id']) == (
        'dm-0', '/dev/mapper/' + WWID, '/dev/disk/by-id/dm-uuid-mpath-' + WWID)
    assert [(p['portal'], p['dev'], p['sid'], p['dm_st'], p['chk_st']) for p in result['paths']] == [
        (A, 'sda', 5, 'active', 'ready'), (B, 'sdb', 6, 'active', 'ready')]
    assert result['missing_paths'] == []


def test_devices_udev_has_not_recorded_are_settled_after_a_bounded_wait(harness, two_sessions):
    two_sessions.add_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE, udev=False)
    two_sessions.add_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [
        SESSIONS, SETTLE, replay(STEPS['multipath_a']), replay(STEPS['add_path_sda']),
        replay(STEPS['add_path_sdb'], effect=lambda: two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])),
        MAPS])
    assert not failed and result['dm'] == 'dm-0'
    assert harness.clock.slept == pytest.approx(10)  # waited for udev's entry of sda, then udevadm settle


def test_present_again_changes_nothing(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [SESSIONS, MAPS])
    assert not failed and not result['changed'] and result['dm'] == 'dm-0'


def test_check_mode_predicts_a_scan_and_changes_nothing(harness, two_sessions):
    _pend(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [SESSIONS], check_mode=True)
    assert not failed and result['changed']
    assert two_sessions.read('sys/class/scsi_host/host0/scan') == ''


def test_check_mode_when_done_is_unchanged(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [SESSIONS, MAPS], check_mode=True)
    assert not failed and not result['changed']


def test_check_mode_predicts_map_creation(harness, two_sessions):
    _devices(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [SESSIONS], check_mode=True)
    assert result['changed'] and 'dm' not in result


@pytest.mark.parametrize('wwid_b, size_b, message', [
    ('naa.60000000000000000e00000000010002', SIZE, 'disagree on the WWID'),
    (SYSFS_WWID, SIZE // 2, 'disagree on the size'),
])
def test_refuses_paths_that_are_not_the_same_volume(harness, two_sessions, wwid_b, size_b, message):
    two_sessions.pend_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    two_sessions.pend_device(1, 6, 1, 'sdb', wwid_b, size_b)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [SESSIONS])
    assert failed and message in result['msg'] and "another volume's data" in result['msg']
    assert two_sessions.read('sys/block/sda/device/delete') == '1'  # what this run scanned is dropped
    assert two_sessions.read('sys/block/sdb/device/delete') == '1'


def test_expected_wwid_mismatch(harness, two_sessions):
    _devices(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': '3600other'}, [SESSIONS])
    assert failed and 'not the expected 3600other' in result['msg']


def test_missing_session_warns_and_builds_with_one_path(harness, sysfs):
    sysfs.add_session(0, 5)
    sysfs.pend_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [
        call(['/usr/sbin/iscsiadm', '-m', 'session'], stdout='tcp: [5] %s,1 %s (non-flash)\n' % (A, IQN)),
        replay(STEPS['multipath_a']),
        replay(STEPS['add_path_sda'], effect=lambda: sysfs.add_map('dm-0', WWID, WWID, ['sda'])),
        MAPS])
    assert not failed and result['dm'] == 'dm-0'
    assert result['missing_paths'] == [{'portal': B, 'iqn': IQN, 'lun': 1, 'reason': 'no iSCSI session'}]


def test_min_paths_fails_when_fewer_came_up(harness, sysfs):
    sysfs.add_session(0, 5)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'min_paths': 2, 'device_timeout': 4}, [
        call(['/usr/sbin/iscsiadm', '-m', 'session'], stdout='tcp: [5] %s,1 %s (non-flash)\n' % (A, IQN))])
    assert failed and 'only 0 of 2 paths came up (min_paths=2)' in result['msg']
    assert 'no SCSI device for the LUN after 4 s' in result['msg'] and 'no iSCSI session' in result['msg']
    assert harness.clock.slept == pytest.approx(4, abs=1)  # bounded wait, rescanned half-way


def test_map_never_usable_fails_bounded(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'map_timeout': 1},
                                 [SESSIONS, FAILED, FAILED, FAILED])
    assert failed and result['msg'] == ("multipath map dm-0 (%s) has no usable path after 1 s (no active path in "
                                        "multipathd's listing)" % WWID)
    assert harness.clock.slept == pytest.approx(1)


@pytest.mark.parametrize('first', [replay(STEPS['maps_json_empty']), FAILED], ids=['not_listed_yet', 'paths_failed'])
def test_map_usable_on_the_second_listing_gives_its_states(harness, two_sessions, first):
    _pend(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [
        SESSIONS, replay(STEPS['multipath_a']), replay(STEPS['add_path_sda']),
        replay(STEPS['add_path_sdb'], effect=lambda: two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])),
        first, MAPS])
    assert not failed, result
    assert [(p['dev'], p['dm_st'], p['chk_st']) for p in result['paths']] == [
        ('sda', 'active', 'ready'), ('sdb', 'active', 'ready')]  # from the listing that proved it usable


def test_listed_wwid_skips_multipath_a(harness, two_sessions):
    _pend(two_sessions)
    two_sessions.list_wwid(WWID)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [
        SESSIONS, replay(STEPS['add_path_sda']),
        replay(STEPS['add_path_sdb'], effect=lambda: two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])), MAPS])
    assert not failed and result['changed'] and result['dm'] == 'dm-0'


def test_missing_wwids_file_runs_multipath_a(harness, two_sessions):
    _pend(two_sessions)
    os.remove(two_sessions.path('etc/multipath/wwids'))
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [
        SESSIONS, replay(STEPS['multipath_a']), replay(STEPS['add_path_sda']),
        replay(STEPS['add_path_sdb'], effect=lambda: two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])), MAPS])
    assert not failed and result['dm'] == 'dm-0'


def test_multipathd_never_builds_the_map(harness, two_sessions):
    _devices(two_sessions)
    # real (lab, TCG): "fail" when udev had not stored the WWID yet; retried once, then a clear error
    refused = call([MPATHD, 'add', 'path', '/dev/sdb'], rc=1, stdout='fail\n')
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'map_timeout': 2}, [
        SESSIONS, replay(STEPS['multipath_a']),
        replay(STEPS['add_path_sda']), refused, replay(STEPS['add_path_sda']), refused])
    assert failed and 'multipathd did not put sda, sdb in one map' in result['msg']
    assert '(multipathd add path refused sdb)' in result['msg']
    assert harness.clock.slept == pytest.approx(2, abs=0.6)


def test_add_path_refused_then_accepted_on_retry(harness, two_sessions):
    _devices(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'map_timeout': 2}, [
        SESSIONS, replay(STEPS['multipath_a']),
        call([MPATHD, 'add', 'path', '/dev/sda'], rc=1, stdout='fail\n'), replay(STEPS['add_path_sdb']),
        replay(STEPS['add_path_sda'], effect=lambda: two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])),
        MAPS])
    assert not failed and result['dm'] == 'dm-0'


def test_add_missing_path_to_existing_map(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_map('dm-0', WWID, WWID, ['sda'])
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [
        SESSIONS,
        replay(STEPS['add_path_sdb'], effect=lambda: two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])),
        MAPS])
    assert not failed and result['changed']


@pytest.mark.parametrize('targets, message', [
    ([{'portal': A, 'iqn': IQN, 'lun': 1}, {'portal': '198.51.100.1', 'iqn': IQN, 'lun': 1}],
     "targets[1].portal '198.51.100.1' has no port"),
    ([{'portal': A, 'iqn': IQN, 'lun': 40000}], 'targets[0].lun 40000 is out of range 0..32767'),
    ([{'portal': A, 'iqn': 'x y', 'lun': 1}], "targets[0].iqn 'x y' holds white space"),
    ([], 'targets is empty'),
])
def test_bad_targets_fail_before_any_command(harness, targets, message):
    result, failed = harness.run(multipath_device.main, {'targets': targets}, [])
    assert failed and message in result['msg']


def test_min_paths_above_target_count(harness):
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'min_paths': 3}, [])
    assert failed and 'min_paths is 3 but only 2 targets' in result['msg']


def _attached(sysfs):
    _devices(sysfs)
    sysfs.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])


FLUSH = replay(STEPS['flush'])
STATUS = replay(STEPS['multipathd_status'])
MAPS_AFTER = replay(STEPS['maps_json_after'])
BUFS = [replay(STEPS['flushbufs_sda']), replay(STEPS['flushbufs_sdb'])]


def test_absent_flushes_map_and_deletes_devices(harness, two_sessions):
    _attached(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [
        SESSIONS, call(FLUSH['argv'], effect=lambda: two_sessions.remove_map('dm-0')), BUFS[0], BUFS[1],
        STATUS, MAPS_AFTER])
    assert not failed, result
    assert result['changed'] and result['removed_devices'] == ['sda', 'sdb'] and result['dm'] == 'dm-0'
    assert not two_sessions.exists('sys/block/sda') and not two_sessions.exists('sys/block/sdb')


def test_absent_again_changes_nothing(harness, two_sessions):
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent', 'wwid': WWID},
                                 [SESSIONS, MAPS_AFTER])
    assert not failed and not result['changed']


def test_absent_check_mode(harness, two_sessions):
    _attached(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [SESSIONS],
                                 check_mode=True)
    assert result['changed'] and result['removed_devices'] == ['sda', 'sdb']
    assert two_sessions.exists('sys/block/dm-0') and two_sessions.read('sys/block/sda/device/delete') == ''


def test_absent_by_wwid_after_sessions_are_gone(harness, two_sessions):
    _attached(two_sessions)
    result, failed = harness.run(multipath_device.main, {'wwid': WWID, 'state': 'absent'}, [
        MAPS, call(FLUSH['argv'], effect=lambda: two_sessions.remove_map('dm-0')), BUFS[0], BUFS[1],
        STATUS, MAPS_AFTER])
    assert not failed and result['removed_devices'] == ['sda', 'sdb']


def test_absent_refuses_a_mounted_map(harness, two_sessions):
    _attached(two_sessions)
    two_sessions.write('proc/self/mountinfo', '40 22 254:0 / /mnt rw - ext4 /dev/mapper/%s rw\n' % WWID)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [SESSIONS])
    assert failed and 'is mounted: refusing' in result['msg']
    assert two_sessions.exists('sys/block/dm-0')


def test_absent_flush_keeps_failing(harness, two_sessions):
    _attached(two_sessions)
    busy = replay(STEPS['flush_in_use'])
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'},
                                 [SESSIONS, busy, busy, busy])
    assert failed and result['rc'] == 1 and 'map in use' in result['stderr']
    assert harness.clock.slept == 4  # 3 attempts, 2 s apart
    assert two_sessions.read('sys/block/sda/device/delete') == ''


def test_absent_force_deletes_the_map_when_flush_fails(harness, two_sessions):
    _attached(two_sessions)
    busy = replay(STEPS['flush_in_use'])
    two_sessions.write('proc/self/mountinfo', '40 22 254:0 / /mnt rw - ext4 /dev/mapper/%s rw\n' % WWID)
    result, failed = harness.run(multipath_device.main, {
        'targets': TARGETS, 'state': 'absent', 'force': True, 'flush_retries': 1}, [
        SESSIONS, busy, BUFS[0], BUFS[1], STATUS, MAPS_AFTER,
        call([MPATHD, 'del', 'map', WWID], stdout='ok\n')])
    assert not failed and result['changed']


def test_absent_multipathd_keeps_paths_then_del_path(harness, two_sessions):
    _attached(two_sessions)
    result, failed = harness.run(multipath_device.main, {
        'targets': TARGETS, 'state': 'absent', 'remove_timeout': 1}, [
        SESSIONS, call(FLUSH['argv'], effect=lambda: two_sessions.remove_map('dm-0')), BUFS[0], BUFS[1],
        STATUS, MAPS, MAPS, MAPS, MAPS,
        call([MPATHD, 'del', 'path', '/dev/sda'], stdout='ok\n'), call([MPATHD, 'del', 'path', '/dev/sdb'], stdout='ok\n')])
    assert not failed and result['changed']


def test_absent_skips_flushbufs_on_dead_path(harness, two_sessions):
    _attached(two_sessions)
    two_sessions.write('sys/block/sdb/device/state', 'transport-offline\n')
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [
        SESSIONS, call(FLUSH['argv'], effect=lambda: two_sessions.remove_map('dm-0')), BUFS[0], STATUS, MAPS_AFTER])
    assert not failed


def test_consistency_problem_pure():
    paths = [{'dev': 'sda', 'portal': A, 'iqn': IQN, 'lun': 1, 'wwid': 'x', 'size_bytes': 1},
             {'dev': 'sdb', 'portal': B, 'iqn': IQN, 'lun': 1, 'wwid': None, 'size_bytes': 1}]
    assert _device.consistency_problem(paths) == 'cannot read the WWID of /dev/sdb'
    paths[1]['wwid'] = 'x'
    assert _device.consistency_problem(paths) is None


def test_the_map_is_built_under_the_locks_of_its_targets(harness, two_sessions, lock_dir, monkeypatch):
    held = []
    real = multipath_device.targets_locked

    def recording(keys, *args):
        held.extend(keys)
        return real(keys, *args)
    monkeypatch.setattr(multipath_device, 'targets_locked', recording)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [SESSIONS])
    assert not failed and not result['changed']
    assert sorted(held) == sorted((t['portal'], t['iqn']) for t in TARGETS)
    assert sorted(os.listdir(lock_dir)) == sorted(_locks.lock_name(t['portal'], t['iqn']) for t in TARGETS)
