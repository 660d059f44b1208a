# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iscsi_volume mounts and unmount, as the volume_attach and volume_detach roles run them: a filesystem only on a
blank map, mounted by WWID with its fstab line, idempotent; a detach refused while mounted unless asked."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _mount
from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_volume
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.test_extend import (  # noqa: F401  # pylint: disable=unused-import
    MAP_DEVT, MAPS, NODE, SESSIONS, SHOW, SIZE, VOLUME_ID, WWID, A, B, _record, _role_args, attached, lock_dir, warnings)
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call, parallel

BY_ID = '/dev/disk/by-id/dm-uuid-mpath-' + WWID
OPTIONS = ('defaults,_netdev,nofail,x-systemd.after=iscsid.service,x-systemd.after=multipathd.service,'
           'x-systemd.device-timeout=90s')
LINE = '%s /srv/db ext4 %s 0 0' % (BY_ID, OPTIONS)
MARK = '# cinder_local.iscsi_multipath volume ' + VOLUME_ID
ROOT_FS = 'UUID=1234 / ext4 errors=remount-ro 0 1\n'
PROBE = ['/usr/sbin/blkid', '-p', '-o', 'export', BY_ID]
MOUNT = ['/usr/sbin/mount', '-t', 'ext4', '-o', OPTIONS, BY_ID, '/srv/db']
MOUNTS = {VOLUME_ID: {'path': '/srv/db'}}


@pytest.fixture
def host(attached, monkeypatch):
    """The attached volume's map dm-0 with its by-id link, an fstab with the root filesystem, systemd not running."""
    monkeypatch.setattr(_mount, 'DEFAULT_ROOT', attached.root)
    attached.write('dev/dm-0', '')
    os.makedirs(attached.path('dev/disk/by-id'))
    os.symlink('../../dm-0', attached.path(BY_ID.lstrip('/')))
    attached.write('etc/fstab', ROOT_FS)
    return attached


def _mounted(sysfs):
    sysfs.write('proc/self/mountinfo', '22 1 0:21 / / rw - ext4 /dev/vda1 rw\n'
                '97 22 %s / /srv/db rw,relatime - ext4 /dev/mapper/%s rw\n' % (MAP_DEVT, WWID))


def _fstab(sysfs):
    with open(sysfs.path('etc/fstab')) as handle:
        return handle.read()


def test_a_blank_volume_gets_ext4_mounted_by_wwid_and_its_fstab_line_then_a_rerun_changes_nothing(harness, host, tmp_path):
    args = _role_args(tmp_path, size=SIZE, mounts=MOUNTS)
    result, failed = harness.run(iscsi_volume.main, args, [
        SESSIONS, SESSIONS, MAPS,                                        # the heal path: both sessions kept
        call(PROBE, rc=2),                                               # no signature at all
        call(['/usr/sbin/mkfs.ext4', BY_ID]),
        call(MOUNT, effect=lambda: _mounted(host))])
    assert not failed, result
    assert result['changed']
    mount = result['volumes'][0]['mount']
    assert mount.pop('elapsed_s') >= 0
    assert mount == {'path': '/srv/db', 'fstype': 'ext4', 'device': BY_ID, 'fstab': LINE, 'created_filesystem': True,
                     'mkfs': True, 'mounted': True, 'fstab_changed': True}
    assert _fstab(host) == ROOT_FS + MARK + '\n' + LINE + '\n'
    record = _record(tmp_path)
    assert record['version'] == 2 and record['mount'] == {'path': '/srv/db', 'fstype': 'ext4', 'device': BY_ID,
                                                          'fstab': LINE, 'created_filesystem': True}

    result, failed = harness.run(iscsi_volume.main, dict(args), [SESSIONS, SESSIONS, MAPS])
    assert not failed and not result['changed'], result
    assert result['volumes'][0]['mount']['mkfs'] is False and _fstab(host) == ROOT_FS + MARK + '\n' + LINE + '\n'
    assert 'changed' not in result['volumes'][0]['mount']


def test_a_volume_holding_the_filesystem_keeps_its_data_no_mkfs(harness, host, tmp_path):
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, size=SIZE, mounts=MOUNTS), [
        SESSIONS, SESSIONS, MAPS, call(PROBE, stdout='DEVNAME=%s\nUUID=ab\nTYPE=ext4\nUSAGE=filesystem\n' % BY_ID),
        call(MOUNT, effect=lambda: _mounted(host))])
    assert not failed, result
    mount = result['volumes'][0]['mount']
    assert (mount['mkfs'], mount['created_filesystem'], mount['mounted']) == (False, False, True)
    assert 'changed' not in mount


def test_another_signature_is_refused_before_any_change_and_the_attached_volume_is_kept(harness, host, tmp_path):
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, size=SIZE, mounts=MOUNTS), [
        SESSIONS, SESSIONS, MAPS, call(PROBE, stdout='TYPE=xfs\nUSAGE=filesystem\n')])
    assert failed
    assert result['msg'] == ('volume %s: %s holds TYPE=xfs, USAGE=filesystem, not a ext4 filesystem: refusing to create '
                             'a filesystem over it or to mount it (its data stays; mount it yourself, or wipe it once '
                             'you know it holds nothing)' % (VOLUME_ID, BY_ID))
    assert (result['kept'], result['rolled_back']) == ([VOLUME_ID], [])
    assert _fstab(host) == ROOT_FS and 'mount' not in _record(tmp_path)


def test_check_mode_predicts_the_mkfs_mount_and_line_without_making_them(harness, host, tmp_path):
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, size=SIZE, mounts=MOUNTS), [
        SESSIONS, SESSIONS, MAPS, call(PROBE, rc=2)], check_mode=True)
    assert not failed and result['changed'], result
    mount = result['volumes'][0]['mount']
    assert (mount['mkfs'], mount['mounted'], mount['fstab_changed']) == (True, True, True)
    assert _fstab(host) == ROOT_FS and 'mount' not in _record(tmp_path)


def _with_mount(tmp_path, host):
    """The record and fstab of a volume this collection mounted, mounted now."""
    path = tmp_path / 'records' / (VOLUME_ID + '.json')
    record = json.loads(path.read_text())
    record.update(version=2, mount={'path': '/srv/db', 'fstype': 'ext4', 'device': BY_ID, 'fstab': LINE,
                                    'created_filesystem': True})
    path.write_text(json.dumps(record))
    host.write('etc/fstab', ROOT_FS + MARK + '\n' + LINE + '\n')
    _mounted(host)


def test_a_detach_of_a_mounted_volume_is_refused_before_any_change_unless_unmount(harness, host, tmp_path):
    args = _role_args(tmp_path)
    _with_mount(tmp_path, host)
    result, failed = harness.run(iscsi_volume.main, {'volumes': [{'volume_id': VOLUME_ID}], 'state': 'absent',
                                                     'record_dir': args['record_dir']}, [])
    assert failed
    assert result['volumes'][0]['error'] == (
        'volume %s has a managed mount on /srv/db (mounted): refusing to detach it; set unmount=true (the volume_detach '
        'role: volume_detach_unmount) to unmount it and remove its fstab line, or unmount it yourself' % VOLUME_ID)
    assert _fstab(host) == ROOT_FS + MARK + '\n' + LINE + '\n'


def test_a_detach_in_check_mode_with_unmount_predicts_the_unmount(harness, host, tmp_path):
    args = _role_args(tmp_path)
    _with_mount(tmp_path, host)
    result, failed = harness.run(iscsi_volume.main, {'volumes': [{'volume_id': VOLUME_ID}], 'state': 'absent',
                                                     'unmount': True, 'record_dir': args['record_dir']},
                                 [SESSIONS, parallel([call(NODE[A] + ['-S'], stdout=SHOW[A])],
                                                     [call(NODE[B] + ['-S'], stdout=SHOW[B])])], check_mode=True)
    assert not failed and result['changed'], result
    assert result['volumes'][0]['mount'] == {'path': '/srv/db', 'unmounted': True, 'fstab_removed': True,
                                             'changed': True}
    assert _fstab(host) == ROOT_FS + MARK + '\n' + LINE + '\n'


def test_mounts_of_volumes_not_given_are_refused(harness, host, tmp_path):
    args = _role_args(tmp_path, mounts={'other': {'path': '/srv/x'}})
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and result['msg'] == 'mounts names volumes that are not in volumes: other'


def test_a_by_id_link_that_does_not_lead_to_the_verified_map_is_refused(harness, host, tmp_path, monkeypatch):
    monkeypatch.setattr(_mount, 'LINK_WAIT', 0)
    os.unlink(host.path(BY_ID.lstrip('/')))
    os.symlink('../../sdz', host.path(BY_ID.lstrip('/')))
    result, failed = harness.run(iscsi_volume.main, _role_args(tmp_path, size=SIZE, mounts=MOUNTS),
                                 [SESSIONS, SESSIONS, MAPS])
    assert failed and result['msg'] == '%s does not lead to the verified map dm-0 (/dev/mapper/%s): refusing to mount it' % (
        BY_ID, WWID)
