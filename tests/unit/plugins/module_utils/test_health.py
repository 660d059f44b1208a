# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The health of a volume from its record and what the host lists, and the login settings a heal copies."""

from __future__ import annotations

import json
import os

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._health import (
    needs_heal, node_session_params, path_state, template_keys, volume_health)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import parse_node_settings
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import parse_maps_json

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'lab')
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
A, B = '192.0.2.1:3260', '198.51.100.1:3260'
WWID = '360000000000000000000000000000001'
VOLUME = '5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10'
RECORD = {'volume_id': VOLUME, 'wwid': WWID, 'device': '/dev/mapper/' + WWID,
          'targets': [{'portal': A, 'iqn': IQN, 'lun': 1}, {'portal': B, 'iqn': IQN, 'lun': 1}]}
SIZE = 64 << 20


def captured(name):
    with open(os.path.join(FIXTURES, 'capture.json')) as handle:
        return dict((step['name'], step) for step in json.load(handle)['steps'])[name]


MAPS = parse_maps_json(captured('maps_json')['stdout'])  # real: sda (A) and sdb (B), both active and ready


def session(sid, portal, devices, state='LOGGED_IN', iface='default'):
    return {'sid': sid, 'portal': portal, 'iqn': IQN, 'tpgt': 1, 'transport': 'tcp', 'devices': devices,
            'state': state, 'iface': iface}


def only_path(maps, dev):
    """The listing with only dev left in the map."""
    listing = json.loads(json.dumps(maps))
    listing[0]['paths'] = [path for path in listing[0]['paths'] if path['dev'] == dev]
    return listing


def test_both_paths_active_is_healthy():
    health = volume_health(RECORD, [session(5, A, {1: 'sda'}, iface='storage-a'), session(6, B, {1: 'sdb'})],
                           MAPS, SIZE, SIZE)
    assert (health['status'], health['active_paths'], health['expected_paths'], health['problems']) == (
        'healthy', 2, 2, [])
    assert health['summary'] == '%s: healthy, 2 of 2 paths active, /dev/mapper/%s (dm-0, %d bytes)' % (VOLUME, WWID, SIZE)
    assert health['paths'][0]['summary'] == ('192.0.2.1:3260 LUN 1: active, sda (session 5 LOGGED_IN, iface storage-a, '
                                             'dm active, checker ready)')
    assert not needs_heal(health)


def test_a_portal_without_session_is_degraded_and_named():
    health = volume_health(RECORD, [session(5, A, {1: 'sda'})], only_path(MAPS, 'sda'), SIZE)
    assert health['status'] == 'degraded' and health['missing_sessions'] == [{'portal': B, 'iqn': IQN}]
    assert health['problems'] == ['1 of 2 paths active', 'no session to %s %s' % (B, IQN)]
    assert health['summary'].endswith(': no session to %s %s' % (B, IQN))
    assert health['paths'][1] == {'portal': B, 'iqn': IQN, 'lun': 1, 'state': 'no_session', 'sid': None,
                                  'session_state': None, 'iface': None, 'dev': None, 'dm_st': None, 'chk_st': None,
                                  'dev_st': None, 'summary': '198.51.100.1:3260 LUN 1: no session'}
    assert needs_heal(health)


def test_a_failed_path_is_degraded_but_left_to_multipathd():
    listing = json.loads(json.dumps(MAPS))
    listing[0]['paths'][1].update(dm_st='failed', chk_st='faulty')
    health = volume_health(RECORD, [session(5, A, {1: 'sda'}), session(6, B, {1: 'sdb'}, state='FAILED')], listing)
    assert health['status'] == 'degraded' and health['paths'][1]['state'] == 'failed'
    assert health['problems'][1] == ('path 198.51.100.1:3260 LUN 1: failed, sdb (session 6 FAILED, iface default, '
                                     'dm failed, checker faulty)')
    assert not needs_heal(health)


def test_a_session_without_device_or_a_device_out_of_the_map_needs_a_heal():
    no_device = volume_health(RECORD, [session(5, A, {1: 'sda'}), session(6, B, {})], only_path(MAPS, 'sda'))
    assert no_device['paths'][1]['state'] == 'no_device' and needs_heal(no_device)
    outside = volume_health(RECORD, [session(5, A, {1: 'sda'}), session(6, B, {1: 'sdb'})], only_path(MAPS, 'sda'))
    assert outside['paths'][1]['state'] == 'not_in_map' and needs_heal(outside)


def test_no_map_is_missing():
    health = volume_health(RECORD, [], [])
    assert (health['status'], health['dm'], health['map_size_bytes']) == ('missing', None, None)
    assert health['problems'] == ['no multipath map of WWID %s' % WWID] and needs_heal(health)


def test_a_map_of_another_size_than_cinder_reports_and_a_foreign_device_are_degraded():
    health = volume_health(RECORD, [session(5, A, {1: 'sda'}), session(6, B, {1: 'sdc'})], MAPS, SIZE, 2 * SIZE)
    assert health['status'] == 'degraded' and health['foreign_paths'] == ['sdb']
    assert "the map holds sdb, not a device at one of the volume's targets" in health['problems']
    assert 'the map is %d bytes, Cinder reports %d' % (SIZE, 2 * SIZE) in health['problems']


def test_path_state_checker_values():
    listed = {'dm_st': 'active', 'chk_st': 'shaky'}
    assert path_state({'sid': 1}, 'sda', listed) == 'failed'
    assert path_state({'sid': 1}, 'sda', dict(listed, chk_st='ghost')) == 'active'
    assert path_state({'sid': 1}, 'sda', dict(listed, dm_st='failed', chk_st='ready')) == 'failed'


def test_login_settings_come_from_a_real_node_record():
    params = node_session_params(parse_node_settings(captured('node_show_a')['stdout']))
    assert params == {'replacement_timeout': 15, 'noop_out_interval': 5, 'noop_out_timeout': 10, 'login_timeout': 5,
                      'login_retries': 2, 'startup': 'manual',
                      'auth': {'method': 'CHAP', 'username': 'hmuser', 'password': 'hmsecret-0001'}}


def test_a_record_without_chap_or_without_a_setting():
    settings = parse_node_settings(captured('node_show_a')['stdout'])
    assert node_session_params(dict(settings, **{'node.session.auth.authmethod': 'None'}))['auth'] is None
    del settings['node.conn[0].timeo.login_timeout']
    assert node_session_params(settings) is None


def test_the_record_of_a_live_session_of_the_same_iqn_is_the_template():
    other = 'iqn.2010-10.org.openstack:volume-hm-0002'
    targets = [{'portal': A, 'iqn': other, 'lun': 1}, {'portal': A, 'iqn': IQN, 'lun': 1}, {'portal': B, 'iqn': IQN, 'lun': 1}]
    sessions = [session(5, A, {}), dict(session(7, A, {}), iqn=other)]
    assert template_keys(targets[2], targets, sessions) == [(A, IQN), (A, other), (B, IQN)]
    assert template_keys(targets[2], targets, []) == [(B, IQN)]
