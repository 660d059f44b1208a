# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible.module_utils import basic

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
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: seen.append(text))
    return seen


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
    assert harness.clock.slept == pytest.approx(30)  # waited map_timeout for udev's entry of sda, then udevadm settle


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
    """Devices that were there already and show another WWID are replaced by a fresh scan (their identity may be
    stale); when the target still gives that other volume, the fresh devices are refused and dropped again."""
    _devices(two_sessions)
    two_sessions.pend_device(0, 5, 1, 'sdc', SYSFS_WWID, SIZE)
    two_sessions.pend_device(1, 6, 1, 'sdd', SYSFS_WWID, SIZE)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': '3600other'}, [
        SESSIONS, BUFS[0], BUFS[1]])
    assert failed and 'not the expected 3600other' in result['msg']
    assert not two_sessions.exists('sys/block/sda') and two_sessions.read('sys/block/sdc/device/delete') == '1'


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


# Issue 11, items 1-3: identity - never trust what merely sits at a LUN (the OSSA-2023-003 class). A target that
# reuses LUN numbers gives LUN 1 to volume Y after volume X's devices were made there.
WWID_Y = '360000000000000000000000000000002'
SYSFS_WWID_Y = 'naa.60000000000000000000000000000002'
SIZE_Y = 96 << 20


def _listing(wwid, dm, devs):
    """The captured listing (dm-0 on sda, sdb) as multipathd would show another map."""
    stdout = MAPS['stdout'].replace(WWID, wwid).replace('"dm-0"', '"%s"' % dm)
    return call(MAPS['argv'], stdout=stdout.replace('"sda"', '"%s"' % devs[0]).replace('"sdb"', '"%s"' % devs[1]))


def _build_y(sysfs, devs, dm='dm-1'):
    """multipath -a, add path of each device and the listing: the map of volume Y on the devices."""
    return [call(['/usr/sbin/multipath', '-a', WWID_Y], stdout="wwid '%s' added\n" % WWID_Y),
            call([MPATHD, 'add', 'path', '/dev/' + devs[0]], stdout='ok\n'),
            call([MPATHD, 'add', 'path', '/dev/' + devs[1]], stdout='ok\n',
                 effect=lambda: sysfs.add_map(dm, WWID_Y, WWID_Y, devs, devt='254:1')),
            _listing(WWID_Y, dm, devs)]


def _lun_reused(sysfs, wwid=SYSFS_WWID_Y, size=SIZE_Y):
    """X's sda and sdb stay; the target now has Y at LUN 1: a rescan shows it, a new scan finds it as sdc, sdd."""
    sysfs.reuse_lun('sda', wwid, size)
    sysfs.reuse_lun('sdb', wwid, size)
    sysfs.pend_device(0, 5, 1, 'sdc', wwid, size)
    sysfs.pend_device(1, 6, 1, 'sdd', wwid, size)


def test_stale_device_at_reused_lun_is_replaced(harness, two_sessions, warnings):
    _devices(two_sessions)  # X's devices, no map holds them any more
    _lun_reused(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': SIZE_Y},
                                 [SESSIONS, BUFS[0], BUFS[1]] + _build_y(two_sessions, ['sdc', 'sdd']))
    assert not failed, result
    assert (result['wwid'], result['size_bytes'], result['dm']) == (WWID_Y, SIZE_Y, 'dm-1')
    assert [p['dev'] for p in result['paths']] == ['sdc', 'sdd']
    assert [(r['dev'], r['reason']) for r in result['replaced_devices']] == [
        ('sda', 'its WWID changed from %s to %s on rescan' % (WWID, WWID_Y)),
        ('sdb', 'its WWID changed from %s to %s on rescan' % (WWID, WWID_Y))]
    assert not two_sessions.exists('sys/block/sda') and not two_sessions.exists('sys/block/sdb')
    assert two_sessions.read('sys/class/scsi_host/host0/scan') == '0 0 1'  # only LUN 1 scanned again
    assert len(warnings) == 2 and 'was left from another volume' in warnings[0]


def test_device_of_the_same_wwid_is_used_once_its_rescan_shows_the_size(harness, two_sessions):
    """tgt without scsi_id derives the WWID from target and LUN: X and Y look alike but for the size. Read from
    the kernel's cache X's devices are 64 MiB and would be refused; after the rescan they are Y, as Cinder says."""
    _devices(two_sessions)
    _lun_reused(two_sessions, wwid=SYSFS_WWID)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': SIZE_Y}, [
        SESSIONS, replay(STEPS['multipath_a']), replay(STEPS['add_path_sda']),
        replay(STEPS['add_path_sdb'], effect=lambda: two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])), MAPS])
    assert not failed, result
    assert result['size_bytes'] == SIZE_Y and [p['dev'] for p in result['paths']] == ['sda', 'sdb']
    assert result['replaced_devices'] == []


def test_device_udev_still_knows_by_an_old_wwid_is_replaced(harness, two_sessions):
    """Rescanned earlier (the kernel shows Y) but udev, which multipathd asks, still has X's WWID."""
    two_sessions.add_device(0, 5, 1, 'sda', SYSFS_WWID_Y, SIZE_Y)
    two_sessions.add_device(1, 6, 1, 'sdb', SYSFS_WWID_Y, SIZE_Y)
    two_sessions.write('run/udev/data/b8:0', 'E:ID_SERIAL=%s\n' % WWID)
    two_sessions.pend_device(0, 5, 1, 'sdc', SYSFS_WWID_Y, SIZE_Y)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [
        SESSIONS, BUFS[0], call(['/usr/sbin/multipath', '-a', WWID_Y], stdout="wwid '%s' added\n" % WWID_Y),
        call([MPATHD, 'add', 'path', '/dev/sdc'], stdout='ok\n'),
        call([MPATHD, 'add', 'path', '/dev/sdb'], stdout='ok\n',
             effect=lambda: two_sessions.add_map('dm-1', WWID_Y, WWID_Y, ['sdb', 'sdc'], devt='254:1')),
        _listing(WWID_Y, 'dm-1', ['sdc', 'sdb'])])
    assert not failed, result
    assert [(r['dev'], r['reason']) for r in result['replaced_devices']] == [
        ('sda', 'udev still records WWID %s for it, not %s' % (WWID, WWID_Y))]
    assert [p['dev'] for p in result['paths']] == ['sdc', 'sdb']


def test_held_stale_device_is_an_error(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])  # X's map still holds them
    _lun_reused(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': SIZE_Y}, [SESSIONS])
    assert failed
    assert result['msg'] == (
        '/dev/sda (%s %s LUN 1) existed before this attach and is not this volume (its WWID changed from %s to %s on '
        'rescan) but is held by dm-0 (%s); /dev/sdb (%s %s LUN 1) existed before this attach and is not this volume '
        '(its WWID changed from %s to %s on rescan) but is held by dm-0 (%s). Refusing to replace them while in use: '
        'detach the volume it belongs to first; nothing was removed' % (
            A, IQN, WWID, WWID_Y, WWID, B, IQN, WWID, WWID_Y, WWID))
    assert two_sessions.exists('sys/block/dm-0')
    assert two_sessions.read('sys/block/sda/device/delete') == '' and two_sessions.read('sys/block/sdb/device/delete') == ''
    assert two_sessions.read('sys/class/scsi_host/host0/scan') == ''


def test_open_stale_device_is_an_error(harness, two_sessions):
    _devices(two_sessions)
    _lun_reused(two_sessions)
    two_sessions.write('proc/4242/comm', 'dd\n')
    os.makedirs(two_sessions.path('proc/4242/fd'))
    os.symlink('/dev/sdb', two_sessions.path('proc/4242/fd/3'))
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [SESSIONS])
    assert failed and 'but is open by dd[4242]' in result['msg'] and 'nothing was removed' in result['msg']
    assert two_sessions.read('sys/block/sda/device/delete') == ''  # the unused one is not removed either


def test_map_with_foreign_path_is_refused(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_device(0, 5, 2, 'sdc', SYSFS_WWID, SIZE)  # LUN 2: not a path of this volume
    two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb', 'sdc'])
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [SESSIONS])
    assert failed and result['msg'] == (
        "multipath map dm-0 (%s) holds /dev/sdc, which is not a device at one of this volume's (portal, IQN, LUN): "
        "refusing to use it (a map left from another volume would expose its data)" % WWID)


def test_map_of_the_wwid_holding_only_a_foreign_path_is_refused(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_device(0, 5, 2, 'sdc', SYSFS_WWID, SIZE)
    two_sessions.add_map('dm-0', WWID, WWID, ['sdc'])  # multipathd would add sda, sdb to it
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS}, [SESSIONS])
    assert failed and 'multipath map dm-0 (%s) holds /dev/sdc' % WWID in result['msg']


def test_map_left_by_a_volume_of_the_same_wwid_is_refused(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])
    two_sessions.reuse_lun('sda', SYSFS_WWID, SIZE_Y)  # same derived WWID, Y's size after the rescan
    two_sessions.reuse_lun('sdb', SYSFS_WWID, SIZE_Y)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': SIZE_Y}, [SESSIONS])
    assert failed and result['msg'].startswith(
        'multipath map dm-0 (%s) is %d bytes but the paths are %d bytes: it is left from another volume at this LUN'
        % (WWID, SIZE, SIZE_Y))


def test_size_mismatch_with_cinder_is_refused(harness, two_sessions):
    _pend(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': SIZE_Y}, [SESSIONS])
    assert failed and result['msg'] == (
        '/dev/sda (%s %s LUN 1) is %d bytes; /dev/sdb (%s %s LUN 1) is %d bytes, but Cinder reports %d bytes for the '
        'volume. Refusing to build or use a map: the LUN holds another volume (or the volume was extended and the '
        'devices not rescanned)' % (A, IQN, SIZE, B, IQN, SIZE, SIZE_Y))
    assert two_sessions.read('sys/block/sda/device/delete') == '1'  # what this run scanned is dropped
    assert not [argv for argv in harness.made if argv[0] == '/usr/sbin/multipath']


def test_size_bytes_matching_builds_the_map(harness, two_sessions):
    _pend(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': SIZE}, [
        SESSIONS, replay(STEPS['multipath_a']), replay(STEPS['add_path_sda']),
        replay(STEPS['add_path_sdb'], effect=lambda: two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])), MAPS])
    assert not failed and result['size_bytes'] == SIZE and result['replaced_devices'] == []


def test_attached_volume_is_rescanned_and_kept(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': SIZE},
                                 [SESSIONS, MAPS])
    assert not failed and not result['changed'] and result['dm'] == 'dm-0'
    assert two_sessions.read('sys/block/sda/device/rescan') == '1' and two_sessions.read('sys/block/sdb/device/rescan') == '1'


def test_check_mode_predicts_replacing_a_stale_device(harness, two_sessions):
    _devices(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': SIZE_Y}, [SESSIONS],
                                 check_mode=True)
    assert not failed and result['changed']
    assert [r['dev'] for r in result['replaced_devices']] == ['sda', 'sdb']
    assert two_sessions.read('sys/block/sda/device/rescan') == '' and two_sessions.read('sys/block/sda/device/delete') == ''


def test_size_bytes_must_be_positive(harness):
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': 0}, [])
    assert failed and result['msg'] == 'size_bytes must be 1 or more, got 0'


def test_device_the_kernel_will_not_rescan_is_judged_on_its_cached_identity(
        harness, two_sessions, monkeypatch, warnings):
    """Linux 6.x refuses (EWOULDBLOCK) to rescan a device that is not running: a path down on a re-run."""
    _devices(two_sessions)
    two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])
    two_sessions.write('sys/block/sdb/device/state', 'transport-offline\n')
    real = multipath_device.Scsi.rescan_device
    monkeypatch.setattr(multipath_device.Scsi, 'rescan_device', lambda scsi, dev: dev != 'sdb' and real(scsi, dev))
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID}, [SESSIONS, MAPS])
    assert not failed and not result['changed'] and result['dm'] == 'dm-0'
    assert warnings == ['could not rescan /dev/sdb (%s %s LUN 1) (state transport-offline): it is judged on the '
                        'identity the kernel has cached' % (B, IQN)]


# Item 2: a detach removes only the volume (the recorded WWID, or one learned from its own devices and map).
def _y_attached(sysfs, wwid=SYSFS_WWID_Y, size=SIZE_Y):
    """Volume Y at LUN 1 (sdc, sdd in dm-1); X's devices and map are gone."""
    sysfs.add_device(0, 5, 1, 'sdc', wwid, size)
    sysfs.add_device(1, 6, 1, 'sdd', wwid, size)
    sysfs.add_map('dm-1', '3' + wwid[4:], '3' + wwid[4:], ['sdc', 'sdd'], devt='254:1')


def test_detach_leaves_other_volume_at_lun(harness, two_sessions, warnings):
    _y_attached(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'state': 'absent'}, [
        SESSIONS, _listing(WWID_Y, 'dm-1', ['sdc', 'sdd'])])
    assert not failed, result
    assert not result['changed'] and result['removed_devices'] == [] and 'dm' not in result
    assert result['foreign_devices'] == [
        {'dev': 'sdc', 'portal': A, 'iqn': IQN, 'lun': 1, 'wwid': WWID_Y, 'size_bytes': SIZE_Y,
         'reason': 'it shows WWID %s, not %s' % (WWID_Y, WWID)},
        {'dev': 'sdd', 'portal': B, 'iqn': IQN, 'lun': 1, 'wwid': WWID_Y, 'size_bytes': SIZE_Y,
         'reason': 'it shows WWID %s, not %s' % (WWID_Y, WWID)}]
    assert warnings and warnings[0].startswith('left alone, not this volume: /dev/sdc (%s %s LUN 1)' % (A, IQN))
    assert two_sessions.exists('sys/block/dm-1') and two_sessions.read('sys/block/sdc/device/delete') == ''


def test_detach_leaves_other_volume_of_the_same_wwid_and_another_size(harness, two_sessions):
    _y_attached(two_sessions, wwid=SYSFS_WWID)
    result, failed = harness.run(multipath_device.main, {
        'targets': TARGETS, 'wwid': WWID, 'size_bytes': SIZE, 'state': 'absent'}, [
        SESSIONS, _listing(WWID, 'dm-1', ['sdc', 'sdd'])])
    assert not failed and not result['changed'] and result['removed_devices'] == [], result
    assert [(f['dev'], f['reason']) for f in result['foreign_devices']] == [
        ('sdc', 'it is %d bytes, not %d' % (SIZE_Y, SIZE)), ('sdd', 'it is %d bytes, not %d' % (SIZE_Y, SIZE))]
    assert two_sessions.exists('sys/block/dm-1')


def test_detach_leaves_a_foreign_path_of_its_own_map(harness, two_sessions):
    """X's map still holds sdb, which a rescan showed to be Y now: the map goes, sdb stays."""
    _attached(two_sessions)
    two_sessions.write('sys/block/sdb/device/wwid', SYSFS_WWID_Y + '\n')
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'state': 'absent'}, [
        SESSIONS, MAPS, call(FLUSH['argv'], effect=lambda: two_sessions.remove_map('dm-0')), BUFS[0],
        STATUS, MAPS_AFTER])
    assert not failed, result
    assert result['removed_devices'] == ['sda'] and [f['dev'] for f in result['foreign_devices']] == ['sdb']
    assert not two_sessions.exists('sys/block/sda') and two_sessions.read('sys/block/sdb/device/delete') == ''


def test_detach_without_record_learns_wwid_from_own_map(harness, two_sessions):
    _attached(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [
        SESSIONS, call(FLUSH['argv'], effect=lambda: two_sessions.remove_map('dm-0')), BUFS[0], BUFS[1],
        STATUS, MAPS_AFTER])
    assert not failed and result['wwid'] == WWID and result['removed_devices'] == ['sda', 'sdb']
    assert result['foreign_devices'] == []


def test_detach_without_record_refuses_foreign_map(harness, two_sessions):
    _devices(two_sessions)
    two_sessions.add_device(0, 5, 2, 'sdc', SYSFS_WWID, SIZE)
    two_sessions.add_map('dm-0', WWID, WWID, ['sda', 'sdb', 'sdc'])
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [SESSIONS])
    assert failed and result['msg'] == (
        "multipath map dm-0 (%s) also holds /dev/sdc (not at one of its (portal, IQN, LUN), WWID %s), which is not "
        "this volume's. Without the WWID of the volume (wwid, from the attach record) it cannot tell which device is "
        "the volume: refusing to remove anything" % (WWID, WWID))
    assert two_sessions.exists('sys/block/dm-0')
    assert all(two_sessions.read('sys/block/%s/device/delete' % dev) == '' for dev in ('sda', 'sdb', 'sdc'))


def test_detach_without_record_refuses_disagreeing_devices(harness, two_sessions):
    _devices(two_sessions, wwid_b=SYSFS_WWID_Y)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [SESSIONS])
    assert failed and result['msg'].startswith(
        "the devices at the volume's LUNs show different WWIDs: /dev/sda (%s %s LUN 1): %s; /dev/sdb (%s %s LUN 1): "
        "%s. Without the WWID of the volume" % (A, IQN, WWID, B, IQN, WWID_Y))
    assert two_sessions.read('sys/block/sda/device/delete') == ''


def test_detach_without_record_leaves_devices_of_another_size(harness, two_sessions):
    """Without a record, Cinder's size still tells another volume at the LUN from this one."""
    _y_attached(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': SIZE, 'state': 'absent'},
                                 [SESSIONS])
    assert not failed and not result['changed'] and [f['dev'] for f in result['foreign_devices']] == ['sdc', 'sdd']


def test_detach_without_record_refuses_a_map_holding_a_device_of_another_size(harness, two_sessions):
    _attached(two_sessions)
    two_sessions.write('sys/block/sdb/size', '%d\n' % (SIZE_Y // 512))  # Y now, after a rescan
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': SIZE, 'state': 'absent'},
                                 [SESSIONS])
    assert failed and result['msg'].startswith(
        'multipath map dm-0 (%s) also holds /dev/sdb (%s %s LUN 1) (it is %d bytes, not %d), which is not this '
        "volume's. Without the WWID" % (WWID, B, IQN, SIZE_Y, SIZE))


# Item 3: the mounted / held / swap / open check covers each path device too.
def _mounted(sysfs, devt):
    sysfs.write('proc/self/mountinfo', '40 22 %s / /mnt rw - ext4 /dev/x rw\n' % devt)


def _opened(sysfs, dev, comm='dd', pid=4242):
    sysfs.write('proc/%d/comm' % pid, comm + '\n')
    os.makedirs(sysfs.path('proc/%d/fd' % pid), exist_ok=True)
    os.symlink('/dev/' + dev, sysfs.path('proc/%d/fd/%d' % (pid, len(os.listdir(sysfs.path('proc/%d/fd' % pid))) + 3)))


def _partition(sysfs, dev, number, devt):
    sysfs.write('sys/block/%s/%s%d/partition' % (dev, dev, number), '%d\n' % number)
    sysfs.write('sys/block/%s/%s%d/dev' % (dev, dev, number), devt + '\n')
    os.makedirs(sysfs.path('sys/block/%s/%s%d/holders' % (dev, dev, number)))


def test_mounted_path_device_refused_without_force(harness, two_sessions):
    _devices(two_sessions)  # bare devices, no map
    _mounted(two_sessions, '8:16')  # /dev/sdb
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [SESSIONS])
    assert failed and result['msg'] == (
        '/dev/sdb (%s %s LUN 1) is mounted: refusing to delete it (unmount it or use force)' % (B, IQN))
    assert two_sessions.read('sys/block/sda/device/delete') == ''  # refused before anything


@pytest.mark.parametrize('use, reason', [
    (lambda s: (_partition(s, 'sdb', 1, '8:17'), _mounted(s, '8:17')), 'mounted (sdb1)'),
    (lambda s: s.write('proc/swaps', 'Filename\tType\tSize\tUsed\tPriority\n/dev/sdb partition 1 0 -2\n'),
     'used as swap'),
    (lambda s: _opened(s, 'sdb'), 'open by dd[4242]'),
    (lambda s: (_partition(s, 'sdb', 1, '8:17'), _opened(s, 'sdb1', comm='postgres', pid=77)), 'open by postgres[77]'),
    (lambda s: (s.write('sys/block/dm-5/dm/name', 'vg-data\n'), os.makedirs(s.path('sys/block/sdb/holders/dm-5'))),
     'held by dm-5 (vg-data)'),
], ids=['mounted_partition', 'swap', 'open', 'open_partition', 'held_by_lvm'])
def test_path_device_in_use_refused_without_force(harness, two_sessions, use, reason):
    _attached(two_sessions)
    use(two_sessions)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [SESSIONS])
    assert failed and result['msg'] == '/dev/sdb (%s %s LUN 1) is %s: refusing to delete it (unmount it or use ' \
        'force)' % (B, IQN, reason)
    assert two_sessions.exists('sys/block/dm-0')  # the map was not flushed either


def test_mounted_path_device_deleted_with_force(harness, two_sessions, warnings):
    _devices(two_sessions)
    _mounted(two_sessions, '8:16')
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent', 'force': True}, [
        SESSIONS, BUFS[0], BUFS[1], STATUS, MAPS_AFTER])
    assert not failed and result['removed_devices'] == ['sda', 'sdb']
    assert warnings == ['/dev/sdb (%s %s LUN 1) is mounted; force: deleting it anyway' % (B, IQN)]


def test_paths_multipathd_and_udev_keep_open_are_removed(harness, two_sessions):
    _attached(two_sessions)
    _opened(two_sessions, 'sda', comm='multipathd', pid=600)
    _opened(two_sessions, 'sdb', comm='(udev-worker)', pid=601)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [
        SESSIONS, call(FLUSH['argv'], effect=lambda: two_sessions.remove_map('dm-0')), BUFS[0], BUFS[1],
        STATUS, MAPS_AFTER])
    assert not failed and result['removed_devices'] == ['sda', 'sdb']


def test_open_map_refused_without_force(harness, two_sessions):
    _attached(two_sessions)
    _opened(two_sessions, 'dm-0', comm='qemu-system-x86', pid=900)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'state': 'absent'}, [SESSIONS])
    assert failed and result['msg'] == 'multipath map %s (dm-0) is open by qemu-system-x86[900]: refusing to ' \
        'remove it (unmount it or use force)' % WWID
