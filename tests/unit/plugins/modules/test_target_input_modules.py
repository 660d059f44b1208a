# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules take LUNs and target names exactly as meant: bad ones fail before any command; a flat space
LUN (os-brick's addressing_mode SAM2 from LUN 256) is the one scanned."""

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import normalize_connection_info
from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_session, iscsi_volume, multipath_device
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import replay, replay_steps

STEPS = replay_steps()
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
INSPUR = 'target.inspur.db01.example.com-00042137'
A, B = '192.0.2.1:3260', '198.51.100.1:3260'
WWID = '360000000000000000000000000000001'  # real, capture.json
SYSFS_WWID = 'naa.60000000000000000000000000000001'
SIZE = 64 << 20


@pytest.mark.parametrize('lun', ['²', '١', '1e2', 1.5, True])
def test_lun_non_ascii_digit_refused_by_the_modules(harness, tmp_path, lun):
    """Ansible's int type would read '١' as 1 (and '1e2' as 100 in ansible-core 2.21): the modules take raw."""
    result, failed = harness.run(iscsi_session.main, {'portal': A, 'iqn': IQN, 'lun': lun, 'state': 'absent',
                                                      'lock_dir': str(tmp_path / 'locks')}, [])
    assert failed and result['msg'] == 'lun must be an integer, got %r' % (lun,)
    result, failed = harness.run(multipath_device.main, {'targets': [{'portal': A, 'iqn': IQN, 'lun': lun}]}, [])
    assert failed and result['msg'] == 'targets[0].lun must be an integer, got %r' % (lun,)


def test_iqn_ending_in_newline_refused_by_the_modules(harness, tmp_path):
    result, failed = harness.run(iscsi_session.main, {'portal': A, 'iqn': IQN + '\n',
                                                      'lock_dir': str(tmp_path / 'locks')}, [])
    assert failed and result['msg'].startswith('iqn %r holds a control or format character (U+000A)' % (IQN + '\n'))
    volumes = [{'targets': [{'portal': A, 'iqn': IQN, 'lun': 1}]},
               {'targets': [{'portal': B, 'iqn': 'x' * 224, 'lun': 1}]}]
    result, failed = harness.run(iscsi_volume.main, {'volumes': volumes, 'lock_dir': str(tmp_path / 'locks')}, [])
    assert failed and result['msg'] == 'volumes[1].targets[0].iqn is 224 bytes long, an iSCSI name has at most 223 (RFC 3720)'


def test_inspur_target_name_accepted(harness, tmp_path):
    node = ['/usr/sbin/iscsiadm', '-m', 'node', '-T', INSPUR, '-p', A, '-S']
    result, failed = harness.run(iscsi_session.main, {'portal': A, 'iqn': INSPUR, 'lock_dir': str(tmp_path / 'locks')}, [
        replay(STEPS['node_show_missing'], argv=node), replay(STEPS['session_none'])], check_mode=True)
    assert not failed and result['changed'] and result['iqn'] == INSPUR


def test_sam2_lun_300_scans_the_flat_space_lun(harness, sysfs):
    """Pure sends addressing_mode SAM2: its LUN 300 is the kernel's 16684, scanned and found under that number."""
    info = {'driver_volume_type': 'iscsi', 'data': {
        'addressing_mode': 'SAM2', 'target_portals': [A, B], 'target_iqns': [IQN, IQN], 'target_luns': [300, 300]}}
    targets = normalize_connection_info(info)['targets']
    assert [t['lun'] for t in targets] == [16684, 16684]
    sysfs.add_session(0, 5, with_target=False)
    sysfs.add_session(1, 6, with_target=False)
    sysfs.pend_device(0, 5, 16684, 'sda', SYSFS_WWID, SIZE)
    sysfs.pend_device(1, 6, 16684, 'sdb', SYSFS_WWID, SIZE)
    result, failed = harness.run(multipath_device.main, {'targets': targets}, [
        replay(STEPS['session_two']),
        replay(STEPS['multipath_a']),
        replay(STEPS['add_path_sda']),
        replay(STEPS['add_path_sdb'], effect=lambda: sysfs.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])),
        replay(STEPS['maps_json'])])
    assert not failed, result
    assert sysfs.read('sys/class/scsi_host/host0/scan') == '- - 16684'
    assert sysfs.read('sys/class/scsi_host/host1/scan') == '- - 16684'
    assert [(p['dev'], p['lun']) for p in result['paths']] == [('sda', 16684), ('sdb', 16684)]
