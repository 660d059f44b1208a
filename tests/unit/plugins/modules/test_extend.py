# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Online extend on the host: a volume Cinder extended grows on every path and its map (multipath_device, and
iscsi_volume as the volume_attach role runs it again), and its filesystem when asked."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _filesystem, _locks
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._filesystem import (
    parse_dumpe2fs, parse_mountinfo, parse_xfs_info)
from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_volume, multipath_device
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import (
    FIXTURES, call, parallel, replay, replay_steps)


def _capture():
    """{step name: step} and the sizes sysfs showed, of tests/unit/fixtures/lab/capture_resize.py's run in the lab
    guest (a 64 MiB LUN with ext4, grown to 128 MiB on the storage node; an XFS loop device grown by 64 MiB)."""
    with open(os.path.join(FIXTURES, 'lab', 'resize.json')) as handle:
        document = json.load(handle)
    return dict((step['name'], step) for step in document['steps']), document['sizes']


STEPS = replay_steps()
RESIZE, RESIZE_SIZES = _capture()  # real
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
A, B = '192.0.2.1:3260', '198.51.100.1:3260'
WWID = '360000000000000000000000000000001'  # real, capture.json
SYSFS_WWID = 'naa.60000000000000000000000000000001'
SIZE = 64 << 20
BIG = 128 << 20
TARGETS = [{'portal': A, 'iqn': IQN, 'lun': 1}, {'portal': B, 'iqn': IQN, 'lun': 1}]
SESSIONS = replay(STEPS['session_two'])
MAPS = replay(STEPS['maps_json'])
MPATHD = '/usr/sbin/multipathd'
MAP_DEVT = '254:0'
VOLUME_ID = '5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10'
ADM = '/usr/sbin/iscsiadm'
NODE = {A: [ADM, '-m', 'node', '-T', IQN, '-p', A], B: [ADM, '-m', 'node', '-T', IQN, '-p', B]}
SHOW = dict((portal, STEPS['node_show_' + name]['stdout'].replace('node.startup = manual', 'node.startup = automatic'))
            for portal, name in ((A, 'a'), (B, 'b')))


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    path = str(tmp_path / 'locks')
    monkeypatch.setattr(_locks, 'DEFAULT_LOCK_DIR', path)
    return path


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: seen.append(text))
    return seen


@pytest.fixture
def attached(sysfs, monkeypatch):
    """The volume attached at 64 MiB: sda (session 5), sdb (session 6) in dm-0; /proc/self/mountinfo in the fake tree
    for the filesystem lookups too."""
    monkeypatch.setattr(_filesystem, 'DEFAULT_ROOT', sysfs.root)
    sysfs.add_session(0, 5)
    sysfs.add_session(1, 6)
    sysfs.add_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    sysfs.add_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    sysfs.add_map('dm-0', WWID, WWID, ['sda', 'sdb'], devt=MAP_DEVT)
    return sysfs


def _extended(sysfs, devs=('sda', 'sdb'), size=BIG):
    """Cinder extended the volume: the target presents the new size, which a path shows after its rescan."""
    for dev in devs:
        sysfs.reuse_lun(dev, SYSFS_WWID, size)


def _resize(sysfs, size=BIG, step='resize_map'):
    """multipathd resize map (captured), which makes the kernel show the map at its paths' size."""
    return replay(RESIZE[step], argv=[MPATHD, 'resize', 'map', WWID],
                  effect=lambda: sysfs.write('sys/block/dm-0/size', '%d\n' % (size // 512)))


def _map_size(sysfs):
    return int(sysfs.read('sys/block/dm-0/size')) * 512


def test_the_capture_shows_a_rescan_grows_a_path_and_resize_map_the_map():
    """What the engine relies on, as the lab guest showed it (kernel 6.1, multipath-tools 0.9.4)."""
    before, grown, rescanned, resized = (RESIZE_SIZES[name] for name in (
        'before', 'grown_on_target', 'after_rescan', 'after_resize'))
    assert before == grown  # the target grew: the kernel still shows the cached size
    devs = sorted(dev for dev in before if not dev.startswith('dm-'))
    dm = [dev for dev in before if dev.startswith('dm-')][0]
    assert all(rescanned[dev] == 2 * before[dev] for dev in devs) and rescanned[dm] == before[dm]
    assert all(size == 2 * before[dm] for size in resized.values())
    assert RESIZE['resize_map']['stdout'] == 'ok\n' and RESIZE['resize_map']['rc'] == 0


def test_an_extended_volume_grows_on_every_path_and_its_map(harness, attached):
    _extended(attached)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': BIG},
                                 [SESSIONS, _resize(attached), MAPS])
    assert not failed, result
    assert result['changed'] and result['resized'] and result['dm'] == 'dm-0'
    assert (result['previous_size_bytes'], result['size_bytes']) == (SIZE, BIG)
    assert [p['size_bytes'] for p in result['paths']] == [BIG, BIG] and _map_size(attached) == BIG
    assert attached.read('sys/block/sda/device/rescan') == '1' and attached.read('sys/block/sdb/device/rescan') == '1'
    assert harness.clock.slept == 0  # both paths grew on the first rescan: no wait


def test_once_grown_nothing_changes(harness, attached):
    for dev in ('sda', 'sdb', 'dm-0'):
        attached.write('sys/block/%s/size' % dev, '%d\n' % (BIG // 512))
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': BIG},
                                 [SESSIONS, MAPS])
    assert not failed and not result['changed'] and not result['resized'] and 'previous_size_bytes' not in result


def test_check_mode_predicts_the_growth_without_a_rescan(harness, attached):
    _extended(attached)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': BIG},
                                 [SESSIONS, MAPS], check_mode=True)
    assert not failed, result
    assert result['changed'] and result['resized'] and (result['previous_size_bytes'], result['size_bytes']) == (SIZE, BIG)
    assert attached.read('sys/block/sda/device/rescan') == '' and _map_size(attached) == SIZE


def test_a_path_that_does_not_grow_is_an_error_naming_it(harness, attached):
    _extended(attached, devs=['sda'])
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': BIG},
                                 [SESSIONS])
    assert failed and result['msg'] == (
        'Cinder reports %d bytes for the volume (extended), but /dev/sdb (%s %s LUN 1) did not grow (still %d bytes '
        'after its rescans). The map was not resized (does the target present the new size on that path?)' % (
            BIG, B, IQN, SIZE))
    assert _map_size(attached) == SIZE and attached.exists('sys/block/sdb')  # nothing else touched
    assert harness.clock.slept == pytest.approx(20)  # rescanned every second up to device_timeout


def test_a_path_whose_target_shows_the_size_a_moment_later_grows_on_a_later_rescan(harness, attached):
    _extended(attached, devs=['sda'])
    sleeps = []

    def target_catches_up():
        sleeps.append(1)
        if len(sleeps) == 3:
            _extended(attached, devs=['sdb'])
    harness.clock.hooks.append(target_catches_up)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': BIG},
                                 [SESSIONS, _resize(attached), MAPS])
    assert not failed and result['resized'], result
    assert harness.clock.slept == pytest.approx(3)  # grown on the rescan after the 3rd wait


def test_a_path_the_kernel_will_not_rescan_is_named_with_its_state(harness, attached, monkeypatch, warnings):
    """A path down when the volume grew: the kernel refuses its rescan and keeps its old size."""
    _extended(attached)
    attached.write('sys/block/sdb/device/state', 'transport-offline\n')
    real = multipath_device.Scsi.rescan_device
    monkeypatch.setattr(multipath_device.Scsi, 'rescan_device', lambda scsi, dev: dev != 'sdb' and real(scsi, dev))
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': BIG},
                                 [SESSIONS])
    assert failed and '/dev/sdb (%s %s LUN 1) did not grow (still %d bytes after its rescans, state ' \
        'transport-offline)' % (B, IQN, SIZE) in result['msg']
    assert _map_size(attached) == SIZE
    assert warnings[0].startswith('could not rescan /dev/sdb')


def test_a_new_path_of_the_new_size_joins_after_the_map_grew(harness, sysfs):
    """multipathd refuses a path of another size than its map: the map is resized before the path is added."""
    sysfs.add_session(0, 5)
    sysfs.add_session(1, 6, with_target=False)
    sysfs.add_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    sysfs.add_map('dm-0', WWID, WWID, ['sda'], devt=MAP_DEVT)
    _extended(sysfs, devs=['sda'])
    sysfs.pend_device(1, 6, 1, 'sdb', SYSFS_WWID, BIG)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': BIG}, [
        SESSIONS, _resize(sysfs),
        replay(STEPS['add_path_sdb'], effect=lambda: sysfs.add_map('dm-0', WWID, WWID, ['sda', 'sdb'], devt=MAP_DEVT)),
        MAPS])
    assert not failed and result['resized'], result
    made = [argv[1:3] for argv in harness.made if argv[0] == MPATHD]
    assert made.index(['resize', 'map']) < made.index(['add', 'path'])


def test_a_device_larger_than_cinder_is_still_refused(harness, attached):
    _extended(attached)  # the LUN shows 128 MiB, Cinder says 64 MiB: not this volume, or Cinder is wrong
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': SIZE},
                                 [SESSIONS])
    assert failed and 'is not this volume (it is %d bytes, Cinder reports %d for the volume) but is held by dm-0' % (
        BIG, SIZE) in result['msg']
    assert _map_size(attached) == SIZE


def test_a_map_larger_than_cinder_is_still_refused(harness, attached):
    attached.write('sys/block/dm-0/size', '%d\n' % (BIG // 512))
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': SIZE},
                                 [SESSIONS])
    assert failed and result['msg'].startswith('multipath map dm-0 (%s) is %d bytes but the paths are %d bytes' % (
        WWID, BIG, SIZE))


def test_without_the_wwid_a_smaller_map_is_not_taken_for_the_volume(harness, attached):
    """No WWID given (no record): a map smaller than its paths may be another volume's at a reused LUN."""
    _extended(attached)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'size_bytes': BIG}, [SESSIONS])
    assert failed and 'it is left from another volume at this LUN' in result['msg']
    assert _map_size(attached) == SIZE


def test_a_resize_multipathd_refuses_fails_with_its_answer(harness, attached):
    _extended(attached)
    unknown = RESIZE['resize_map_unknown']  # real: what multipathd answers when it cannot resize
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': BIG}, [
        SESSIONS, call([MPATHD, 'resize', 'map', WWID], unknown['rc'], unknown['stdout'], unknown['stderr'])])
    assert failed and result['msg'] == 'multipathd resize map %s failed' % WWID
    assert (result['rc'], result['stdout']) == (unknown['rc'], unknown['stdout'])


def test_a_map_the_kernel_still_shows_at_the_old_size_is_an_error(harness, attached):
    _extended(attached)
    result, failed = harness.run(multipath_device.main, {'targets': TARGETS, 'wwid': WWID, 'size_bytes': BIG}, [
        SESSIONS, replay(RESIZE['resize_map'], argv=[MPATHD, 'resize', 'map', WWID])])
    assert failed and result['msg'] == (
        'multipath map dm-0 (%s) is %d bytes after multipathd resize map, not the %d bytes of its paths and of the '
        'volume in Cinder' % (WWID, SIZE, BIG))


# iscsi_volume, as the volume_attach role runs it again: the WWID from the attach record, the size from Cinder.
def _role_args(tmp_path, size=BIG, **extra):
    record_dir = tmp_path / 'records'
    record_dir.mkdir(mode=0o700)
    record = {'version': 1, 'volume_id': VOLUME_ID, 'attachment_id': 'att-1', 'wwid': WWID,
              'device': '/dev/mapper/' + WWID, 'size_bytes': SIZE, 'targets': TARGETS,
              'own_sessions': TARGETS, 'own_nodes': TARGETS}
    (record_dir / (VOLUME_ID + '.json')).write_text(json.dumps(record))
    return dict({'volumes': [{'volume_id': VOLUME_ID, 'attachment_id': 'att-1', 'targets': TARGETS,
                              'auth': {'username': 'hmuser', 'password': 'hmsecret-0001'}, 'size_bytes': size}],
                 'record_dir': str(record_dir), 'replacement_timeout': 15, 'noop_out_interval': 5,
                 'noop_out_timeout': 10, 'login_retries': 2}, **extra)


def _rerun(sysfs, *after_map):
    """The role's call on an attached volume: sessions kept, node records unchanged, then the map's steps."""
    return [SESSIONS, call([ADM, '-m', 'node'], stdout='%s,1 %s\n%s,1 %s\n' % (A, IQN, B, IQN)),
            parallel([call(NODE[A] + ['-S'], stdout=SHOW[A])], [call(NODE[B] + ['-S'], stdout=SHOW[B])]),
            SESSIONS] + list(after_map)


def _record(tmp_path):
    return json.loads((tmp_path / 'records' / (VOLUME_ID + '.json')).read_text())


def test_a_rerun_of_the_attach_grows_a_volume_cinder_extended_and_records_the_size(harness, attached, tmp_path):
    _extended(attached)
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path), _rerun(attached, _resize(attached), MAPS))
    assert not failed, result
    volume = result['volumes'][0]
    assert result['changed'] and volume['resized'] and (volume['previous_size_bytes'], volume['size_bytes']) == (SIZE, BIG)
    assert _record(tmp_path)['size_bytes'] == BIG and _map_size(attached) == BIG


def test_the_rerun_in_check_mode_predicts_it(harness, attached, tmp_path):
    _extended(attached)
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path), _rerun(attached, MAPS), check_mode=True)
    assert not failed and result['changed'] and result['volumes'][0]['resized'], result
    assert _record(tmp_path)['size_bytes'] == SIZE and _map_size(attached) == SIZE


# grow_filesystem: captured dumpe2fs/resize2fs on the lab's ext4 map, xfs_info/xfs_growfs on an XFS loop device.
def _mounted(sysfs, fstype, mountpoint='/srv/db', devt=MAP_DEVT):
    source = '/dev/mapper/' + WWID
    sysfs.write('proc/self/mountinfo', '22 1 0:21 / / rw - ext4 /dev/vda1 rw\n'
                '97 22 %s / %s rw,relatime shared:50 - %s %s rw\n' % (devt, mountpoint.replace(' ', '\\040'),
                                                                      fstype, source))


def _fs_step(name, argv):
    return replay(RESIZE[name], argv=argv)


DUMPE2FS = ['/usr/sbin/dumpe2fs', '-h', '/dev/mapper/' + WWID]


def test_grow_filesystem_grows_the_mounted_ext4_after_the_map(harness, attached, tmp_path):
    _extended(attached)
    _mounted(attached, 'ext4')
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, grow_filesystem=True), _rerun(
        attached, _resize(attached), MAPS, _fs_step('dumpe2fs_before', DUMPE2FS),
        _fs_step('resize2fs', ['/usr/sbin/resize2fs', '/dev/mapper/' + WWID]), _fs_step('dumpe2fs_after', DUMPE2FS)))
    assert not failed, result
    assert result['volumes'][0]['filesystem'] == {
        'mountpoint': '/srv/db', 'fstype': 'ext4', 'device': '/dev/mapper/' + WWID, 'grown': True,
        'previous_size_bytes': parse_dumpe2fs(RESIZE['dumpe2fs_before']['stdout']),
        'size_bytes': parse_dumpe2fs(RESIZE['dumpe2fs_after']['stdout'])}


def test_grow_filesystem_on_a_full_size_filesystem_changes_nothing(harness, attached, tmp_path):
    _mounted(attached, 'ext4')
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, size=SIZE, grow_filesystem=True),
                                 _rerun(attached, MAPS, _fs_step('dumpe2fs_before', DUMPE2FS)))
    assert not failed and not result['changed'], result
    assert result['volumes'][0]['filesystem']['grown'] is False


def test_grow_filesystem_grows_xfs_by_its_mountpoint(harness, attached, tmp_path):
    xfs_size = 384 << 20  # the captured XFS grew from 320 to 384 MiB
    _extended(attached, size=xfs_size)
    _mounted(attached, 'xfs', mountpoint='/srv/my db')
    info = ['/usr/sbin/xfs_info', '/srv/my db']
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, size=xfs_size, grow_filesystem=True),
                                 _rerun(attached, _resize(attached, xfs_size), MAPS,
                                        _fs_step('xfs_info_before', info),
                                        _fs_step('xfs_growfs', ['/usr/sbin/xfs_growfs', '-d', '/srv/my db']),
                                        _fs_step('xfs_info_after', info)))
    assert not failed, result
    entry = result['volumes'][0]['filesystem']
    assert entry['grown'] and entry['mountpoint'] == '/srv/my db' and entry['size_bytes'] > entry['previous_size_bytes']


def test_grow_filesystem_in_check_mode_only_measures(harness, attached, tmp_path):
    _extended(attached)
    _mounted(attached, 'ext4')
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, grow_filesystem=True),
                                 _rerun(attached, MAPS, _fs_step('dumpe2fs_before', DUMPE2FS)), check_mode=True)
    assert not failed and result['changed'] and result['volumes'][0]['filesystem']['grown'], result


def test_grow_filesystem_refuses_a_type_it_cannot_grow(harness, attached, tmp_path):
    _mounted(attached, 'btrfs')
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, size=SIZE, grow_filesystem=True),
                                 _rerun(attached, MAPS))
    assert failed and result['msg'] == (
        'grow_filesystem: /dev/mapper/%s is mounted on /srv/db as btrfs; only ext2, ext3, ext4 and xfs are grown' % WWID)


def test_grow_filesystem_leaves_a_map_mounted_through_a_partition_with_a_warning(harness, attached, tmp_path, warnings):
    os.makedirs(attached.path('sys/block/dm-0/holders/dm-1'))
    _mounted(attached, 'ext4', devt='254:1')
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, size=SIZE, grow_filesystem=True),
                                 _rerun(attached, MAPS))
    assert not failed and 'filesystem' not in result['volumes'][0], result
    assert warnings == ['grow_filesystem: nothing is mounted from /dev/mapper/%s itself; it is held by dm-1 (a '
                        'partition or LVM?), whose filesystem is not grown' % WWID]


def test_the_parsers_read_the_captured_outputs():
    mounts = parse_mountinfo(RESIZE['mountinfo_xfs']['stdout'])
    assert [m for m in mounts if m['mountpoint'] == '/mnt/capture-xfs'][0]['fstype'] == 'xfs'
    assert parse_dumpe2fs(RESIZE['dumpe2fs_after']['stdout']) == 2 * parse_dumpe2fs(RESIZE['dumpe2fs_before']['stdout'])
    assert parse_xfs_info(RESIZE['xfs_info_after']['stdout']) > parse_xfs_info(RESIZE['xfs_info_before']['stdout'])
    assert parse_mountinfo('1 2 8:1 / /a\\040b rw - ext4 /dev/sdb1 rw\n')[0]['mountpoint'] == '/a b'
