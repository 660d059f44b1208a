# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cinder_local.iscsi_multipath.plugins.filter.iscsi_targets import FilterModule

IQN = 'iqn.2010-10.org.openstack:volume-1'


def test_filter_is_registered_and_returns_targets():
    iscsi_targets = FilterModule().filters()['iscsi_targets']
    info = {'driver_volume_type': 'iscsi', 'data': {
        'target_portals': ['192.0.2.1:3260', '198.51.100.1:3260'], 'target_iqns': [IQN, IQN], 'target_luns': [1, 1],
        'auth_method': 'CHAP', 'auth_username': 'u', 'auth_password': 'p'}}
    assert iscsi_targets(info) == {
        'targets': [{'portal': '192.0.2.1:3260', 'iqn': IQN, 'lun': 1},
                    {'portal': '198.51.100.1:3260', 'iqn': IQN, 'lun': 1}],
        'auth': {'method': 'CHAP', 'username': 'u', 'password': 'p'},
        'discovery_auth': None, 'single_portal': False}


def test_filter_error_is_ansible_filter_error():
    iscsi_targets = FilterModule().filters()['iscsi_targets']
    with pytest.raises(AnsibleFilterError, match='iscsi_targets: target_luns is an empty list'):
        iscsi_targets({'target_portals': ['192.0.2.1:3260'], 'target_iqn': IQN, 'target_luns': []})
