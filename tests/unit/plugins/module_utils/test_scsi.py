# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import (
    Scsi,
    parse_mountinfo_devices,
    parse_swaps,
    parse_udev_serial,
    udev_disagrees,
    wwid_from_sysfs,
    wwid_from_vpd_pg83,
)
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import FakeClock, FakeSysfs, lab_capture

WWID = '360000000000000000e00000000010001'


@pytest.fixture
def tree(tmp_path, monkeypatch):
    return FakeSysfs(tmp_path, monkeypatch, FakeClock())


@pytest.mark.parametrize('text, expected', [
    ('naa.60000000000000000E00000000010001\n', WWID),
    ('eui.0025385B71B0A1B2', '20025385b71b0a1b2'),
    ('t10.IET     VIRTUAL-DISK    hm0001\x00', '1IET_VIRTUAL-DISK_hm0001'),
    ('weird', 'weird'),
])
def test_wwid_from_sysfs(text, expected):
    assert wwid_from_sysfs(text) == expected


def test_wwid_from_vpd_pg83_prefers_naa_of_the_lu():
    t10 = bytes([0x02, 0x01, 0x00, 0x08]) + b'IET     '
    port_naa = bytes([0x01, 0x13, 0x00, 0x08]) + bytes(8)  # association 1 (port): ignored
    naa = bytes([0x01, 0x03, 0x00, 0x10]) + bytes.fromhex('60000000000000000e00000000010001')
    body = t10 + port_naa + naa
    page = bytes([0x00, 0x83, 0x00, len(body)]) + body
    assert wwid_from_vpd_pg83(page) == WWID
    eui = bytes([0x01, 0x02, 0x00, 0x08]) + bytes.fromhex('0025385b71b0a1b2')
    assert wwid_from_vpd_pg83(bytes([0, 0x83, 0, 12]) + eui) == '20025385b71b0a1b2'
    assert wwid_from_vpd_pg83(bytes([0, 0x83, 0, 12]) + t10) is None


def test_real_vpd_pg83_and_wwid_agree():
    dummy, snapshot = lab_capture('capture.json')
    files = snapshot['files']
    for dev in ('sda', 'sdb'):
        raw = bytes.fromhex(files['/sys/block/%s/device/vpd_pg83' % dev])
        assert wwid_from_vpd_pg83(raw) == wwid_from_sysfs(files['/sys/block/%s/device/wwid' % dev])
        assert 'mpath-' + wwid_from_vpd_pg83(raw) == files['/sys/block/dm-0/dm/uuid'].strip()


def test_session_hctl_and_devices(tree):
    tree.add_session(2, 1)
    tree.add_device(2, 1, 1, 'sda', 'naa.60000000000000000e00000000010001', 64 << 20)
    tree.add_device(2, 1, 2, 'sdc', 'naa.60000000000000000e00000000010002', 32 << 20)
    scsi = Scsi(None)
    assert scsi.session_hctl(1) == (2, '0', '0')
    assert scsi.session_devices(1) == {1: 'sda', 2: 'sdc'}
    assert scsi.wwid('sda') == WWID
    assert scsi.size_bytes('sda') == 64 << 20
    assert scsi.state('sda') == 'running'
    assert scsi.session_hctl(9) is None


def test_session_without_target_dir_scans_wildcards(tree):
    tree.add_session(3, 4, with_target=False)
    scsi = Scsi(None)
    assert scsi.session_hctl(4) == (3, '-', '-')
    scsi.scan_lun(3, '-', '-', 1)
    assert tree.read('sys/class/scsi_host/host3/scan') == '- - 1'


def test_holders_map_and_delete(tree):
    tree.add_session(2, 1)
    tree.add_device(2, 1, 1, 'sda', 'naa.60000000000000000e00000000010001', 64 << 20)
    tree.add_map('dm-0', WWID, WWID, ['sda'])
    scsi = Scsi(None)
    assert scsi.holders('sda') == ['dm-0']
    assert scsi.slaves('dm-0') == ['sda']
    assert scsi.dm_uuid('dm-0') == 'mpath-' + WWID
    assert scsi.dm_name('dm-0') == WWID
    assert scsi.in_use('dm-0') is None
    scsi.delete_device('sda')
    assert tree.read('sys/block/sda/device/delete') == '1'


def test_wwid_falls_back_to_vpd_pg83(tree):
    tree.add_session(2, 1)
    tree.add_device(2, 1, 1, 'sda', 'x', 512)
    import os
    os.remove(tree.path('sys/block/sda/device/wwid'))
    naa = bytes([0x01, 0x03, 0x00, 0x10]) + bytes.fromhex('60000000000000000e00000000010001')
    with open(tree.path('sys/block/sda/device/vpd_pg83'), 'wb') as handle:
        handle.write(bytes([0, 0x83, 0, len(naa)]) + naa)
    assert Scsi(None).wwid('sda') == WWID


@pytest.mark.parametrize('mountinfo, swaps, holders, expected', [
    ('36 25 254:0 / /mnt rw - ext4 /dev/mapper/x rw\n', '', [], 'mounted'),
    ('', 'Filename Type Size Used Priority\n/dev/dm-0 partition 1 0 -2\n', [], 'used as swap'),
    ('', '', ['dm-1'], 'held by dm-1'),
])
def test_in_use(tree, mountinfo, swaps, holders, expected):
    tree.add_map('dm-0', WWID, WWID, [])
    tree.write('proc/self/mountinfo', mountinfo)
    tree.write('proc/swaps', swaps or 'Filename\n')
    for holder in holders:
        tree.write('sys/block/dm-0/holders/%s/x' % holder, '')
    assert Scsi(None).in_use('dm-0') == expected


def test_parsers():
    assert parse_mountinfo_devices('22 1 8:1 / / rw - ext4 /dev/sda1 rw\n') == {'8:1'}
    assert parse_swaps('Filename Type\n/dev/sdb partition\n') == ['/dev/sdb']


def test_rescan_device_and_identity_after_it(tree):
    tree.add_session(2, 1)
    tree.add_device(2, 1, 1, 'sda', 'naa.60000000000000000e00000000010001', 64 << 20)
    tree.reuse_lun('sda', 'naa.60000000000000000e00000000010002', 96 << 20)
    scsi = Scsi(None)
    assert scsi.wwid('sda') == WWID  # the kernel's cache until the rescan
    assert scsi.rescan_device('sda') and tree.read('sys/block/sda/device/rescan') == '1'
    assert (scsi.wwid('sda'), scsi.size_bytes('sda')) == ('360000000000000000e00000000010002', 96 << 20)
    assert scsi.udev_wwid('sda') == WWID  # udev has not seen it again
    assert not scsi.rescan_device('sdz')  # gone


def test_maps_of_wwid(tree):
    tree.add_map('dm-0', WWID, WWID, [])
    tree.add_map('dm-3', 'other', '3600other', [], devt='254:3')
    assert Scsi(None).maps_of_wwid(WWID) == ['dm-0'] and Scsi(None).maps_of_wwid('3600none') == []


def test_udev_parsers():
    assert parse_udev_serial('S:disk/by-id/x\nE:ID_SERIAL=%s\nE:ID_WWN=0x6\n' % WWID) == WWID
    assert parse_udev_serial('E:ID_VENDOR=LAB\n') is None
    assert udev_disagrees(WWID, '360000000000000000e00000000010002')
    assert not udev_disagrees(WWID, WWID) and not udev_disagrees(None, WWID)
    assert not udev_disagrees('1LAB_LABDISK_x', WWID)  # a T10 id is spelled differently by scsi_id: not compared


def _open(tree, pid, comm, node):
    tree.write('proc/%d/comm' % pid, comm + '\n')
    os.makedirs(tree.path('proc/%d/fd' % pid), exist_ok=True)
    os.symlink(node, tree.path('proc/%d/fd/%d' % (pid, 3 + len(os.listdir(tree.path('proc/%d/fd' % pid))))))


def test_openers_skip_multipathd_udev_and_this_process(tree):
    _open(tree, 10, 'dd', '/dev/sdb')
    _open(tree, 10, 'dd', '/dev/sdb')
    _open(tree, 11, 'multipathd', '/dev/sdb')
    _open(tree, 12, '(udev-worker)', '/dev/sdc')
    _open(tree, 13, 'bash', '/dev/pts/0')
    _open(tree, os.getpid(), 'python3', '/dev/sdd')
    assert Scsi(None).openers() == {'/dev/sdb': ['dd[10]'], '/dev/pts/0': ['bash[13]']}


def test_in_use_of_a_path_device_and_its_partitions(tree):
    tree.add_session(2, 1)
    tree.add_device(2, 1, 1, 'sdb', 'naa.60000000000000000e00000000010001', 64 << 20)
    tree.add_map('dm-0', WWID, WWID, ['sdb'])
    scsi = Scsi(None)
    assert scsi.in_use('sdb') == 'held by dm-0 (%s)' % WWID
    assert scsi.in_use('sdb', ignore=['dm-0']) is None  # its own map, removed first
    tree.write('sys/block/sdb/sdb1/partition', '1\n')
    tree.write('sys/block/sdb/sdb1/dev', '8:17\n')
    assert scsi.partitions('sdb') == ['sdb1']
    tree.write('proc/swaps', 'Filename\n/dev/sdb1 partition 1 0 -2\n')
    assert scsi.in_use('sdb', ignore=['dm-0']) == 'used as swap'
    tree.write('proc/self/mountinfo', '40 22 8:17 / /mnt rw - ext4 /dev/sdb1 rw\n')
    assert scsi.in_use('sdb', ignore=['dm-0']) == 'mounted (sdb1)'
    tree.write('proc/self/mountinfo', '')
    tree.write('proc/swaps', 'Filename\n')
    assert scsi.in_use('sdb', ignore=['dm-0'], openers={'/dev/sdb1': ['mkfs[9]']}) == 'open by mkfs[9]'
    assert scsi.in_use('dm-0', openers={'/dev/mapper/%s' % WWID: ['qemu[5]']}) == 'open by qemu[5]'
