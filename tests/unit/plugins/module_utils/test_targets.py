# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    MAX_LUN,
    TargetsError,
    normalize_connection_info,
    normalize_lun,
    normalize_portal,
)

CAPTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'cinder')
IQN = 'iqn.2010-10.org.openstack:volume-1'
DATA = {
    'target_discovered': False,
    'target_portal': '192.0.2.1:3260', 'target_iqn': IQN, 'target_lun': 1,
    'target_portals': ['192.0.2.1:3260', '198.51.100.1:3260'],
    'target_iqns': [IQN, IQN], 'target_luns': [1, 1],
    'auth_method': 'CHAP', 'auth_username': 'user', 'auth_password': 'secret',
    'volume_id': '1',
}
TWO_TARGETS = [
    {'portal': '192.0.2.1:3260', 'iqn': IQN, 'lun': 1},
    {'portal': '198.51.100.1:3260', 'iqn': IQN, 'lun': 1},
]
CHAP = {'method': 'CHAP', 'username': 'user', 'password': 'secret'}


def _connection_infos(node):
    """Every connection_info dict inside a captured response."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'connection_info':
                yield value
            else:
                yield from _connection_infos(value)
    elif isinstance(node, list):
        for value in node:
            yield from _connection_infos(value)


def _captures():
    for name in sorted(os.listdir(CAPTURES)):
        if name.endswith('.json'):
            with open(os.path.join(CAPTURES, name)) as handle:
                for info in _connection_infos(json.load(handle)):
                    yield pytest.param(info, id=name)


@pytest.mark.parametrize('info', list(_captures()))
def test_every_captured_connection_info(info):
    data = info.get('data', info)
    if not data or 'target_portal' not in data:
        with pytest.raises(TargetsError, match='no target_portal'):
            normalize_connection_info(info)
        return
    result = normalize_connection_info(info)
    portals = data.get('target_portals', [data['target_portal']])
    assert [t['portal'] for t in result['targets']] == portals
    assert all(t['iqn'] == data['target_iqn'] and t['lun'] == data['target_lun'] for t in result['targets'])
    assert result['auth'] == {'method': 'CHAP', 'username': data['auth_username'],
                              'password': data['auth_password']}
    assert result['discovery_auth'] is None
    assert result['single_portal'] is ('target_portals' not in data)


def test_captures_cover_every_shape():
    shapes = set()
    for param in _captures():
        info = param.values[0]
        data = info.get('data', info)
        shapes.add(('nested' if 'data' in info else 'flat', 'target_portals' in data, bool(data)))
    assert shapes >= {('nested', True, True), ('flat', True, True), ('flat', False, True),
                      ('nested', False, True), ('flat', False, False)}


@pytest.mark.parametrize('shape', ['nested', 'flat', 'bare'])
def test_shapes_give_same_result(shape):
    wrapped = {
        'nested': {'driver_volume_type': 'iscsi', 'data': DATA, 'enforce_multipath': False},
        'flat': dict(DATA, driver_volume_type='iscsi', attachment_id='a'),
        'bare': DATA,
    }[shape]
    assert normalize_connection_info(wrapped) == {
        'targets': TWO_TARGETS, 'auth': CHAP, 'discovery_auth': None, 'single_portal': False}


def test_singular_keys_only():
    data = {'target_portal': '192.0.2.1:3260', 'target_iqn': IQN, 'target_lun': 0}
    result = normalize_connection_info(data)
    assert result == {'targets': [{'portal': '192.0.2.1:3260', 'iqn': IQN, 'lun': 0}],
                      'auth': None, 'discovery_auth': None, 'single_portal': True}


def test_plural_portals_without_target_iqns_mean_discovery_as_in_os_brick():
    """os-brick zips the plural lists only when target_iqns is there too; otherwise it discovers."""
    data = {'target_portals': ['192.0.2.1:3260', '198.51.100.1:3260'], 'target_iqn': IQN, 'target_lun': 1}
    result = normalize_connection_info(data)
    assert result['targets'] == TWO_TARGETS[:1] and result['single_portal'] is True
    data = {'target_portal': '198.51.100.1:3260', 'target_portals': ['192.0.2.1:3260'], 'target_iqn': IQN,
            'target_luns': [1]}
    assert normalize_connection_info(data)['targets'] == [dict(TWO_TARGETS[0], portal='198.51.100.1:3260')]


def test_different_iqns_and_luns_per_portal_kept_in_order():
    data = {'target_portals': ['198.51.100.1:3260', '192.0.2.1:3260'],
            'target_iqns': ['iqn.2000-01.example:b', 'iqn.2000-01.example:a'], 'target_luns': [7, 3]}
    assert normalize_connection_info(data)['targets'] == [
        {'portal': '198.51.100.1:3260', 'iqn': 'iqn.2000-01.example:b', 'lun': 7},
        {'portal': '192.0.2.1:3260', 'iqn': 'iqn.2000-01.example:a', 'lun': 3},
    ]


def test_duplicates_removed_after_normalisation():
    data = {'target_portals': ['192.0.2.1:3260', '192.0.2.1:03260', '[FE80::1]:3260', '[fe80::1]:3260'],
            'target_iqns': [IQN] * 4, 'target_luns': [1, '1', 1, 1]}
    assert normalize_connection_info(data)['targets'] == [
        {'portal': '192.0.2.1:3260', 'iqn': IQN, 'lun': 1},
        {'portal': '[fe80::1]:3260', 'iqn': IQN, 'lun': 1},
    ]


def test_discovery_auth():
    data = dict(DATA, discovery_auth_method='CHAP', discovery_auth_username='du', discovery_auth_password='dp')
    result = normalize_connection_info(data)
    assert result['discovery_auth'] == {'method': 'CHAP', 'username': 'du', 'password': 'dp'}
    assert result['auth'] == CHAP


@pytest.mark.parametrize('method', [None, 'chap'])
def test_auth_method_defaults_to_chap(method):
    data = dict(DATA, auth_method=method)
    assert normalize_connection_info(data)['auth'] == CHAP


def test_auth_method_none_means_no_auth():
    data = dict(DATA, auth_method='None', auth_username=None, auth_password=None)
    assert normalize_connection_info(data)['auth'] is None


@pytest.mark.parametrize('changes, message', [
    ({'target_portals': ['192.0.2.1:3260']}, 'target_iqns has 2 entries but target_portals has 1'),
    ({'target_luns': [1]}, 'target_luns has 1 entries but target_portals has 2'),
    ({'target_portals': [], 'target_iqns': [], 'target_luns': []}, 'target_portals is an empty list'),
    ({'target_luns': []}, 'target_luns is an empty list'),
    ({'target_portals': '192.0.2.1:3260'}, 'target_portals must be a list, got str'),
    ({'target_portals': ['192.0.2.1', '198.51.100.1:3260']}, r"target_portals\[0\] '192.0.2.1' has no port"),
    ({'target_portals': ['192.0.2.1:3260', '198.51.100.1:99999']},
     r"target_portals\[1\] '198.51.100.1:99999': port '99999' is not a number"),
    ({'target_portals': ['192.0.2.1:3260', 'fe80::1:3260']}, r'target_portals\[1\] .*brackets'),
    ({'target_portals': ['192.0.2.1:3260', 'storage.example:3260']}, r'target_portals\[1\] .*not an IP address'),
    ({'target_luns': [1, 'one']}, r"target_luns\[1\] must be an integer, got 'one'"),
    ({'target_luns': [1, True]}, r'target_luns\[1\] must be an integer, got True'),
    ({'target_luns': [1, -1]}, r'target_luns\[1\] -1 is out of range'),
    ({'target_luns': [1, MAX_LUN + 1]}, r'target_luns\[1\] 16384 is out of range 0..16383'),
    ({'target_iqns': [IQN, '']}, r"target_iqns\[1\] must be a non-empty string"),
    ({'target_iqns': [IQN, 'volume 1']}, r"target_iqns\[1\] 'volume 1' holds white space"),
    ({'auth_method': 'PAP'}, "auth_method is 'PAP', only 'CHAP' is supported"),
    ({'auth_password': ''}, 'auth_password is missing or empty while auth_method is CHAP'),
    ({'discovery_auth_method': 'CHAP'}, 'discovery_auth_username is missing'),
])
def test_rejects_with_field_name(changes, message):
    data = copy.deepcopy(DATA)
    data.update(changes)
    with pytest.raises(TargetsError, match=message):
        normalize_connection_info(data)


@pytest.mark.parametrize('data, message', [
    ({'target_portal': '192.0.2.1:3260', 'target_lun': 1}, 'target_iqn is missing'),
    ({'target_portals': ['192.0.2.1:3260'], 'target_iqns': [IQN]}, 'target_lun is missing'),
    ({'target_iqn': IQN, 'target_lun': 1}, 'target_portal is missing'),
    ({'target_portal': '192.0.2.1:3260', 'target_iqn': IQN, 'target_lun': None}, 'target_lun is missing'),
    ({}, 'no target_portal'),
    ({'driver_volume_type': 'rbd', 'data': {'name': 'volumes/x'}}, "driver_volume_type is 'rbd'"),
    ({'driver_volume_type': 'iscsi', 'data': 'x'}, 'connection_info.data must be a dict'),
    ([], 'connection_info must be a dict, got list'),
])
def test_rejects_malformed(data, message):
    with pytest.raises(TargetsError, match=message):
        normalize_connection_info(data)


def test_driver_volume_type_case_insensitive():
    assert normalize_connection_info({'driver_volume_type': 'ISCSI', 'data': DATA})['targets'] == TWO_TARGETS


@pytest.mark.parametrize('portal, expected', [
    ('192.0.2.1:3260', '192.0.2.1:3260'),
    (' 192.0.2.1:3261 ', '192.0.2.1:3261'),
    ('[fe80::1]:3260', '[fe80::1]:3260'),
    ('[2001:DB8:0::1]:3260', '[2001:db8::1]:3260'),
    ('[fe80::1%eth1]:3260', '[fe80::1%eth1]:3260'),
])
def test_normalize_portal(portal, expected):
    assert normalize_portal(portal) == expected


@pytest.mark.parametrize('portal', [None, '', '[fe80::1]', '[fe80::1]3260', '[192.0.2.1]:3260', '192.0.2.1:',
                                    '192.0.2.300:3260', '192.0.2.1:65536'])
def test_normalize_portal_rejects(portal):
    with pytest.raises(TargetsError, match='^portal'):
        normalize_portal(portal)


@pytest.mark.parametrize('lun, expected', [(0, 0), ('5', 5), (255, 255), (256, 256), (MAX_LUN, MAX_LUN)])
def test_normalize_lun(lun, expected):
    assert normalize_lun(lun) == expected


@pytest.mark.parametrize('lun', [None, 1.0, '0x1', -1, MAX_LUN + 1, False])
def test_normalize_lun_rejects(lun):
    with pytest.raises(TargetsError, match='^lun'):
        normalize_lun(lun)


def test_error_messages_never_hold_the_password():
    data = dict(DATA, auth_method='PAP')
    with pytest.raises(TargetsError) as info:
        normalize_connection_info(data)
    assert 'secret' not in str(info.value)
