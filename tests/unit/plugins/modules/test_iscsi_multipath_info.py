# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

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
