# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection_info shapes real Cinder iSCSI drivers return, and the targets os-brick would log in to.

Each shape follows the driver's initialize_connection as written in openstack/cinder (master, 2026-08):
cinder/volume/targets/iscsi.py (LVM with tgt or LIO), drivers/pure.py, drivers/synology/synology_common.py,
drivers/inspur/as13000/as13000_driver.py, drivers/netapp/utils.py, drivers/dell_emc/powerstore/adapter.py,
drivers/dell_emc/unity/adapter.py, drivers/hpe/hpe_3par_iscsi.py, drivers/huawei/huawei_driver.py. Cinder's volume
manager adds access_mode and encrypted to every answer. The expected targets are os-brick's
(connectors/base_iscsi.py _get_all_targets, connectors/iscsi.py, linuxscsi.py lun_for_addressing). Addresses,
names and secrets are examples.
"""

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import normalize_connection_info

MANAGER = {'access_mode': 'rw', 'encrypted': False}  # cinder/volume/manager.py initialize_connection
CHAP = {'auth_method': 'CHAP', 'auth_username': 'chapuser', 'auth_password': 'chapsecret'}
AUTH = {'method': 'CHAP', 'username': 'chapuser', 'password': 'chapsecret'}
LVM_IQN = 'iqn.2010-10.org.openstack:volume-0736e4a3-3d5c-4a3b-9d0e-5a0b0c7a1f11'
PURE_IQN = 'iqn.2010-06.com.purestorage:flasharray.6f2b7a9e1c3d4e5f'
SYNO_IQN = 'iqn.2000-01.com.synology:ds1621.Target-1.4a5b6c7d8e'
INSPUR = 'target.inspur.db01.example.com-00042137'  # _TARGET_NAME_PATTERN 'target.inspur.%(host)s-%(padding)s'
ONTAP_IQN = 'iqn.1992-08.com.netapp:sn.0f8e7d6c5b4a39281706f5e4d3c2b1a0:vs.3'
PSTORE_A = 'iqn.2015-10.com.dell:dellemc-powerstore-fnm00190700001-a-1c3d5e7f'
PSTORE_B = 'iqn.2015-10.com.dell:dellemc-powerstore-fnm00190700001-b-2d4e6f80'
UNITY_A = 'iqn.1992-04.com.emc:cx.fnm00150600267.a0'
UNITY_B = 'iqn.1992-04.com.emc:cx.fnm00150600267.b0'
HPE_0 = 'iqn.2000-05.com.3pardata:20210002ac00383d'
HPE_1 = 'iqn.2000-05.com.3pardata:21210002ac00383d'
HUAWEI_A = 'iqn.2006-08.com.huawei:oceanstor:2100a0f4791c9e5a::20001:192.0.2.91'
HUAWEI_B = 'iqn.2006-08.com.huawei:oceanstor:2100a0f4791c9e5a::1020001:198.51.100.91'


def legacy(data):
    """os-initialize_connection: {driver_volume_type, data}."""
    return {'driver_volume_type': 'iscsi', 'data': dict(data, **MANAGER)}


def attachment(data):
    """Attachments API: the data keys beside driver_volume_type."""
    return dict(data, driver_volume_type='iscsi', attachment_id='5e3a1c2b-0d4f-4e6a-8b7c-9d0e1f2a3b4c', **MANAGER)


def t(portal, iqn, lun):
    return {'portal': portal, 'iqn': iqn, 'lun': lun}


SHAPES = [
    # LVM, tgt (LUN 1: LUN 0 is tgt's controller), one portal: the singular keys only
    pytest.param(legacy(dict(
        target_discovered=False, target_portal='192.0.2.10:3260', target_iqn=LVM_IQN, target_lun=1,
        volume_id='0736e4a3-3d5c-4a3b-9d0e-5a0b0c7a1f11', **CHAP)),
        [t('192.0.2.10:3260', LVM_IQN, 1)], True, AUTH, id='lvm-tgt-singular'),
    # LVM, tgt with target_secondary_ip_addresses: plural keys beside the singular ones
    pytest.param(attachment(dict(
        target_discovered=False, target_portal='192.0.2.10:3260', target_iqn=LVM_IQN, target_lun=1,
        target_portals=['192.0.2.10:3260', '198.51.100.10:3260'], target_iqns=[LVM_IQN] * 2, target_luns=[1] * 2,
        volume_id='0736e4a3-3d5c-4a3b-9d0e-5a0b0c7a1f11', **CHAP)),
        [t('192.0.2.10:3260', LVM_IQN, 1), t('198.51.100.10:3260', LVM_IQN, 1)], False, AUTH, id='lvm-tgt-plural'),
    # Pure: plural keys only, addressing_mode SAM2; LUN 12 is peripheral addressed, unchanged
    pytest.param(legacy(dict(
        target_discovered=False, discard=True, addressing_mode='SAM2', wwn='3624a93706f2b7a9e1c3d4e5f00011a2b',
        target_luns=[12] * 4, target_iqns=[PURE_IQN] * 4,
        target_portals=['192.0.2.21:3260', '192.0.2.22:3260', '198.51.100.21:3260', '198.51.100.22:3260'])),
        [t(p, PURE_IQN, 12) for p in ('192.0.2.21:3260', '192.0.2.22:3260', '198.51.100.21:3260', '198.51.100.22:3260')],
        False, None, id='pure-sam2'),
    # Pure, LUN 300: SAM2 puts LUNs from 256 in flat space, which the kernel numbers 16384 + 300
    pytest.param(attachment(dict(
        target_discovered=False, discard=True, addressing_mode='SAM2',
        target_luns=[300, 300], target_iqns=[PURE_IQN] * 2, target_portals=['192.0.2.21:3260', '198.51.100.21:3260'],
        **CHAP)),
        [t('192.0.2.21:3260', PURE_IQN, 16684), t('198.51.100.21:3260', PURE_IQN, 16684)], False, AUTH,
        id='pure-sam2-lun-300'),
    # Synology, default set-up: no target_lun at all (os-brick: LUN 0)
    pytest.param(legacy(dict(
        target_discovered=False, target_iqn=SYNO_IQN, target_portal='192.0.2.30:3260',
        volume_id='4a5b6c7d-8e9f-4a0b-8c1d-2e3f4a5b6c7d', access_mode='rw', discard=False,
        auth_method='CHAP', auth_username='syno', auth_password='synosecret')),
        [t('192.0.2.30:3260', SYNO_IQN, 0)], True, dict(AUTH, username='syno', password='synosecret'),
        id='synology-no-target-lun'),
    # Synology with target_secondary_ip_addresses: plural keys, target_lun 0
    pytest.param(attachment(dict(
        target_discovered=False, target_iqn=SYNO_IQN, target_portal='192.0.2.30:3260', access_mode='rw',
        discard=False, target_portals=['192.0.2.30:3260', '198.51.100.30:3260'], target_iqns=[SYNO_IQN] * 2,
        target_lun=0, target_luns=[0, 0])),
        [t('192.0.2.30:3260', SYNO_IQN, 0), t('198.51.100.30:3260', SYNO_IQN, 0)], False, None,
        id='synology-plural'),
    # Inspur AS13000, multipath connector: target names that are not iqn./eui./naa.
    pytest.param(legacy(dict(
        target_discovered=True, volume_id='9c8b7a6f-5e4d-4c3b-2a19-0f8e7d6c5b4a',
        target_portals=['192.0.2.41:3260', '[2001:db8::42]:3260'], target_luns=[3, 3], target_iqns=[INSPUR] * 2,
        **CHAP)),
        [t('192.0.2.41:3260', INSPUR, 3), t('[2001:db8::42]:3260', INSPUR, 3)], False, AUTH, id='inspur-as13000'),
    # Inspur AS13000, single-path connector
    pytest.param(legacy(dict(
        target_discovered=True, volume_id='9c8b7a6f-5e4d-4c3b-2a19-0f8e7d6c5b4a',
        target_portal='192.0.2.41:3260', target_lun=3, target_iqn=INSPUR)),
        [t('192.0.2.41:3260', INSPUR, 3)], True, None, id='inspur-as13000-single'),
    # NetApp ONTAP: singular keys, plural ones when the SVM has several LIFs (IPv6 escaped in brackets)
    pytest.param(legacy(dict(
        target_discovered=False, target_portal='192.0.2.51:3260', target_iqn=ONTAP_IQN, target_lun=0,
        volume_id='1b2c3d4e-5f60-4718-293a-4b5c6d7e8f90',
        target_portals=['192.0.2.51:3260', '[2001:db8::51]:3260'], target_iqns=[ONTAP_IQN] * 2, target_luns=[0, 0],
        **CHAP)),
        [t('192.0.2.51:3260', ONTAP_IQN, 0), t('[2001:db8::51]:3260', ONTAP_IQN, 0)], False, AUTH, id='netapp-ontap'),
    # Dell PowerStore: one IQN per node
    pytest.param(attachment(dict(
        target_discovered=False, target_portal='192.0.2.61:3260', target_iqn=PSTORE_A, target_lun=7,
        target_portals=['192.0.2.61:3260', '192.0.2.62:3260'], target_iqns=[PSTORE_A, PSTORE_B], target_luns=[7, 7])),
        [t('192.0.2.61:3260', PSTORE_A, 7), t('192.0.2.62:3260', PSTORE_B, 7)], False, None, id='dell-powerstore'),
    # Dell Unity: the singular portal is a random one of the list; the plural keys decide
    pytest.param(legacy(dict(
        target_luns=[5, 5], target_iqns=[UNITY_A, UNITY_B], target_portals=['192.0.2.71:3260', '192.0.2.72:3260'],
        target_lun=5, target_portal='192.0.2.72:3260', target_iqn=UNITY_B)),
        [t('192.0.2.71:3260', UNITY_A, 5), t('192.0.2.72:3260', UNITY_B, 5)], False, None, id='dell-unity'),
    # HPE 3PAR, multipath: plural keys only, and encrypted from the driver itself
    pytest.param(legacy(dict(
        target_portals=['192.0.2.81:3260', '198.51.100.81:3260'], target_iqns=[HPE_0, HPE_1], target_luns=[2, 2],
        target_discovered=True, **CHAP)),
        [t('192.0.2.81:3260', HPE_0, 2), t('198.51.100.81:3260', HPE_1, 2)], False, AUTH, id='hpe-3par'),
    # Huawei, multipath connector: plural keys only
    pytest.param(attachment(dict(
        target_discovered=False, volume_id='7d6c5b4a-3928-4170-8f6e-5d4c3b2a1908',
        target_iqns=[HUAWEI_A, HUAWEI_B], target_portals=['192.0.2.91:3260', '198.51.100.91:3260'],
        target_luns=[1, 1], **CHAP)),
        [t('192.0.2.91:3260', HUAWEI_A, 1), t('198.51.100.91:3260', HUAWEI_B, 1)], False, AUTH, id='huawei'),
]


@pytest.mark.parametrize('info, targets, single_portal, auth', SHAPES)
def test_driver_shapes(info, targets, single_portal, auth):
    assert normalize_connection_info(info) == {
        'targets': targets, 'auth': auth, 'discovery_auth': None, 'single_portal': single_portal}
