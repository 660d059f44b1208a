# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Managed mounts: the fstab line, what may be made or mounted, and what a detach may remove (pure functions)."""

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._mount import (
    checked_mount, fstab_added, fstab_line, fstab_removed, mount_state, parse_blkid, signature_decision)

VOLUME = '5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10'
DEVICE = '/dev/disk/by-id/dm-uuid-mpath-360000000000000000000000000000001'
SPEC = checked_mount({'path': '/srv/db'}, 'mounts[x]')
LINE = ('%s /srv/db ext4 defaults,_netdev,nofail,x-systemd.after=iscsid.service,x-systemd.after=multipathd.service,'
        'x-systemd.device-timeout=90s 0 0' % DEVICE)
FSTAB = 'UUID=1234 / ext4 errors=remount-ro 0 1\n'
MARK = '# cinder_local.iscsi_multipath volume ' + VOLUME


def test_the_line_mounts_by_wwid_after_the_network_and_the_daemons_and_never_holds_the_boot():
    assert fstab_line(DEVICE, SPEC) == LINE
    spec = checked_mount({'path': '/srv/db', 'fstype': 'xfs', 'options': 'noatime,nofail',
                          'device_timeout': 30}, 'm')
    assert fstab_line(DEVICE, spec).split()[2:4] == ['xfs', 'noatime,nofail,_netdev,x-systemd.after=iscsid.service,'
                                                     'x-systemd.after=multipathd.service,x-systemd.device-timeout=30s']


@pytest.mark.parametrize('spec, why', [
    ({'path': 'srv/db'}, 'path must be an absolute'),
    ({'path': '/srv/../etc'}, 'path must be an absolute'),
    ({'path': '/'}, 'path must be an absolute'),
    ({'path': '/srv/my db'}, 'white space'),
    ({'path': '/srv/db', 'fstype': 'btrfs'}, 'fstype must be one of ext4, xfs'),
    ({'path': '/srv/db', 'options': 'rw noatime'}, 'options must be'),
    ({'path': '/srv/db', 'device_timeout': 0}, 'device_timeout must be 1 to 600'),
    ({'path': '/srv/db', 'size': 1}, 'unknown keys size'),
])
def test_a_mount_spec_that_cannot_be_written_plainly_is_refused(spec, why):
    with pytest.raises(ValueError, match=why):
        checked_mount(spec, 'mounts[x]')


def test_the_line_is_added_once_after_its_marker():
    added = fstab_added(FSTAB, LINE, VOLUME)
    assert added == FSTAB + MARK + '\n' + LINE + '\n'
    assert fstab_added(added, LINE, VOLUME) is None
    assert fstab_added('', LINE, VOLUME) == MARK + '\n' + LINE + '\n'


def test_a_line_this_collection_did_not_write_for_the_mount_point_or_device_is_refused():
    theirs = FSTAB + '/dev/sdz1 /srv/db ext4 defaults 0 2\n'
    with pytest.raises(ValueError, match='line 2 .* this collection did not write it'):
        fstab_added(theirs, LINE, VOLUME)
    with pytest.raises(ValueError, match='did not write it'):
        fstab_added(FSTAB + DEVICE + ' /mnt/other ext4 defaults 0 0\n', LINE, VOLUME)


def test_our_marked_line_with_other_options_is_replaced_in_place():
    old = FSTAB + MARK + '\n' + LINE.replace('90s', '30s') + '\nUUID=9 /home ext4 defaults 0 2\n'
    assert fstab_added(old, LINE, VOLUME) == FSTAB + MARK + '\n' + LINE + '\nUUID=9 /home ext4 defaults 0 2\n'


def test_only_the_marked_line_is_removed():
    assert fstab_removed(FSTAB + MARK + '\n' + LINE + '\n', LINE, VOLUME) == FSTAB
    assert fstab_removed(FSTAB + LINE + '\n', LINE, VOLUME) is None  # same text, no marker: not ours
    assert fstab_removed(FSTAB, LINE, VOLUME) is None
    other = '# cinder_local.iscsi_multipath volume 0000'
    assert fstab_removed(FSTAB + other + '\n' + LINE + '\n', LINE, VOLUME) is None


def test_blkid_output_no_signature_and_ambivalent_probes():
    assert parse_blkid(2, '') == {}
    assert parse_blkid(0, 'DEVNAME=/dev/dm-0\nUUID=ab-cd\nVERSION=1.0\nTYPE=ext4\nUSAGE=filesystem\n') == {
        'DEVNAME': '/dev/dm-0', 'UUID': 'ab-cd', 'VERSION': '1.0', 'TYPE': 'ext4', 'USAGE': 'filesystem'}
    with pytest.raises(ValueError, match='rc 8'):
        parse_blkid(8, '')


def test_a_filesystem_is_made_only_on_a_device_without_any_signature():
    assert signature_decision({}, 'ext4', DEVICE) == 'mkfs'
    assert signature_decision({'TYPE': 'ext4', 'USAGE': 'filesystem'}, 'ext4', DEVICE) == 'keep'
    with pytest.raises(ValueError, match=r'holds TYPE=xfs, USAGE=filesystem, not a ext4 filesystem: refusing'):
        signature_decision({'TYPE': 'xfs', 'USAGE': 'filesystem'}, 'ext4', DEVICE)
    with pytest.raises(ValueError, match='PTTYPE=gpt'):
        signature_decision({'PTTYPE': 'gpt', 'PTUUID': 'x'}, 'ext4', DEVICE)
    with pytest.raises(ValueError, match='LVM2_member'):
        signature_decision({'TYPE': 'LVM2_member', 'USAGE': 'raid'}, 'xfs', DEVICE)


def mount(devt, path, source='/dev/mapper/x'):
    return {'devt': devt, 'root': '/', 'mountpoint': path, 'fstype': 'ext4', 'source': source}


def test_mount_state():
    root = mount('254:1', '/')
    assert mount_state([root], '254:0', '/srv/db') is None
    assert mount_state([root, mount('254:0', '/srv/db')], '254:0', '/srv/db') == 'mounted'
    with pytest.raises(ValueError, match='/srv/db is already a mount point \\(of /dev/sdz1\\)'):
        mount_state([root, mount('8:1', '/srv/db', '/dev/sdz1')], '254:0', '/srv/db')
    with pytest.raises(ValueError, match='already mounted on /mnt/x: refusing to mount it on /srv/db too'):
        mount_state([root, mount('254:0', '/mnt/x')], '254:0', '/srv/db')
