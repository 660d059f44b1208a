# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iscsi_volume_heal: a volume left on one path gets its other path back from its record, the healthy path untouched."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_volume, iscsi_volume_heal
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.test_iscsi_volume import (  # noqa: F401  # pylint: disable=unused-import
    A, B, IQN, MAPS, NODE, ONLY, SECRET, SESSIONS, SHOW, SIZE, STEPS, SYSFS_WWID, TARGETS, TWO_SESSIONS, WWID,
    _dead_lane, _login_lane, warnings)
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call, replay

VOLUME_ID = '5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10'
RECORD = {'version': 1, 'volume_id': VOLUME_ID, 'attachment_id': 'att-1', 'wwid': WWID, 'device': '/dev/mapper/' + WWID,
          'size_bytes': SIZE, 'targets': TARGETS, 'own_sessions': TARGETS[:1], 'own_nodes': TARGETS[:1]}


def one_path(dev):
    """multipathd's listing of the real capture with only dev left in the map."""
    document = json.loads(MAPS['stdout'])
    groups = document['maps'][0]['path_groups']
    document['maps'][0]['path_groups'] = [group for group in groups if group['paths'][0]['dev'] == dev]
    return call(MAPS['argv'], stdout=json.dumps(document))


@pytest.fixture
def args(tmp_path):
    record_dir = tmp_path / 'records'
    record_dir.mkdir(mode=0o700)
    (record_dir / (VOLUME_ID + '.json')).write_text(json.dumps(RECORD))
    return {'record_dir': str(record_dir), 'lock_dir': str(tmp_path / 'locks')}


@pytest.fixture
def degraded(sysfs):
    """Attached through A only (session 5, sda in dm-0); session 6 is B's once a login opens it."""
    sysfs.add_session(0, 5)
    sysfs.add_session(1, 6, with_target=False)
    sysfs.add_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    sysfs.add_map('dm-0', WWID, WWID, ['sda'])
    for sid, iface in ((5, 'storage-a'), (6, 'storage-b')):
        sysfs.write('sys/class/iscsi_session/session%d/state' % sid, 'LOGGED_IN\n')
        sysfs.write('sys/class/iscsi_session/session%d/ifacename' % sid, iface + '\n')
    return sysfs


def record(args):
    with open(os.path.join(args['record_dir'], VOLUME_ID + '.json')) as handle:
        return json.load(handle)


def test_a_missing_portal_is_logged_in_with_the_live_record_settings_and_joins_the_map(harness, degraded, args):
    degraded.pend_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    result, failed = harness.run(iscsi_volume_heal.main, args, [
        call(SESSIONS, stdout=ONLY[A]), one_path('sda'),                          # health before
        call(SESSIONS, stdout=ONLY[A]),                                           # under the locks
        call(NODE[A] + ['-S'], stdout=SHOW[A]),                                   # CHAP and timeouts of the live path
        *_login_lane(B, 'b', read=True)[:-1], TWO_SESSIONS,                                # B: new record, settings, login
        TWO_SESSIONS,                                                             # the devices of both sessions
        replay(STEPS['add_path_sdb'], effect=lambda: degraded.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])),
        MAPS,                                                                     # the map is usable
        TWO_SESSIONS, MAPS])                                                      # health after
    assert not failed, result
    assert result['changed'] and result['health_problems'] == []
    volume, = result['volumes']
    assert (volume['volume_id'], volume['status_before'], volume['dm']) == (VOLUME_ID, 'degraded', 'dm-0')
    assert [(p['portal'], p['sid'], p['created_node'], p['logged_in']) for p in volume['portals']] == [
        (A, 5, False, False), (B, 6, True, True)]
    assert [(p['portal'], p['dev'], p['dm_st']) for p in volume['paths']] == [(A, 'sda', 'active'), (B, 'sdb', 'active')]
    assert result['health'][0]['status'] == 'healthy' and result['health_summary'][1:] == [
        '  192.0.2.1:3260 LUN 1: active, sda (session 5 LOGGED_IN, iface storage-a, dm active, checker ready)',
        '  198.51.100.1:3260 LUN 1: active, sdb (session 6 LOGGED_IN, iface storage-b, dm active, checker ready)']
    assert record(args)['own_sessions'] == TARGETS and record(args)['own_nodes'] == TARGETS
    assert SECRET not in json.dumps(result)
    assert set(result['elapsed']) == {'health_s', 'heal_s', 'total_s'}


def test_a_portal_still_dead_warns_and_leaves_the_healthy_path_alone(harness, degraded, args, warnings):
    result, failed = harness.run(iscsi_volume_heal.main, args, [
        call(SESSIONS, stdout=ONLY[A]), one_path('sda'),
        call(SESSIONS, stdout=ONLY[A]), call(NODE[A] + ['-S'], stdout=SHOW[A]),
        *_dead_lane(B, 'b', True),                                                 # login fails, its new record goes
        call(SESSIONS, stdout=ONLY[A]), one_path('sda'),                          # sda held by dm-0 already
        call(SESSIONS, stdout=ONLY[A]), one_path('sda')])
    assert not failed and not result['changed'], result
    assert result['health_problems'] == ['%s: degraded, 1 of 2 paths active, /dev/mapper/%s (dm-0, %d bytes): no session '
                                         'to %s %s' % (VOLUME_ID, WWID, SIZE, B, IQN)]
    assert any(B in warning and 'login failed' in warning for warning in warnings)
    assert NODE[A] + ['--logout'] not in harness.made and record(args) == RECORD


def test_a_healthy_volume_runs_no_heal(harness, degraded, args):
    degraded.add_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    degraded.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])
    result, failed = harness.run(iscsi_volume_heal.main, args, [TWO_SESSIONS, MAPS, TWO_SESSIONS, MAPS])
    assert not failed and not result['changed'] and result['volumes'] == [] and result['health_problems'] == []


def test_check_mode_names_the_volumes_it_would_heal(harness, degraded, args):
    result, failed = harness.run(iscsi_volume_heal.main, args, [call(SESSIONS, stdout=ONLY[A]), one_path('sda')],
                                 check_mode=True)
    assert not failed and result['changed']
    assert result['volumes'] == [{'volume_id': VOLUME_ID, 'status_before': 'degraded', 'changed': True}]
    assert not os.path.exists(args['lock_dir'])


def test_a_volume_without_any_node_record_is_an_error_naming_it(harness, sysfs, args):
    missing = STEPS['node_show_missing']
    result, failed = harness.run(iscsi_volume_heal.main, args, [
        replay(STEPS['session_none']), replay(STEPS['maps_json_empty']),
        replay(STEPS['session_none']),
        replay(missing, argv=NODE[A] + ['-S']), replay(missing, argv=NODE[B] + ['-S']),
        replay(STEPS['session_none']), replay(STEPS['maps_json_empty'])])
    why = "login failed: no node record of the volume's targets to copy the CHAP and timeouts from (attach the volume again)"
    assert failed and result['msg'] == '%s: no path logged in: %s: %s; %s: %s' % (VOLUME_ID, A, why, B, why)
    assert result['volumes'][0]['status_before'] == 'missing' and result['health'][0]['status'] == 'missing'


def test_a_volume_without_record_is_warned_about(harness, sysfs, args, warnings):
    args['volume_ids'] = ['0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11']
    result, failed = harness.run(iscsi_volume_heal.main, args, [
        replay(STEPS['session_none']), replay(STEPS['maps_json_empty']),
        replay(STEPS['session_none']), replay(STEPS['maps_json_empty'])])
    assert not failed and not result['changed'] and 'has no attach record' in warnings[0]
    assert result['health_problems'] == ['%s: missing, no attach record in %s: not attached to this host' % (
        args['volume_ids'][0], args['record_dir'])]


def test_a_new_path_of_another_wwid_is_refused_and_rolled_back(harness, degraded, args):
    """The target gives B's LUN another volume: its device never joins the map, the login the heal made is undone."""
    degraded.pend_device(1, 6, 1, 'sdb', 'naa.60000000000000000000000000000002', SIZE)
    result, failed = harness.run(iscsi_volume_heal.main, args, [
        call(SESSIONS, stdout=ONLY[A]), one_path('sda'),
        call(SESSIONS, stdout=ONLY[A]), call(NODE[A] + ['-S'], stdout=SHOW[A]),
        *_login_lane(B, 'b', read=True)[:-1], TWO_SESSIONS, TWO_SESSIONS,
        call(SESSIONS, stdout=TWO_SESSIONS['stdout'], effect=degraded.kernel),  # sdb deleted: B is logged out
        replay(STEPS['logout_b']), replay(STEPS['node_delete_b']),
        call(SESSIONS, stdout=ONLY[A]), one_path('sda')])
    assert failed and result['msg'].startswith('%s: the paths disagree on the WWID' % VOLUME_ID), result
    assert not degraded.exists('sys/block/sdb') and degraded.exists('sys/block/sda')
    assert result['health'][0]['status'] == 'degraded' and record(args) == RECORD


def test_a_rerun_of_the_attach_on_the_degraded_volume_takes_the_heal_path(harness, degraded, args):
    """iscsi_volume as the volume_attach role runs it again: the live path's session and node record are not touched
    (not even read: the CHAP comes from Cinder), only B is logged in and its LUN scanned."""
    degraded.pend_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    rerun = dict(args, volumes=[{'volume_id': VOLUME_ID, 'attachment_id': 'att-2', 'targets': TARGETS, 'size_bytes': SIZE,
                                 'auth': {'username': 'hmuser', 'password': SECRET}}],
                 replacement_timeout=15, noop_out_interval=5, noop_out_timeout=10, login_retries=2)
    result, failed = harness.run(iscsi_volume.main, rerun, [
        call(SESSIONS, stdout=ONLY[A]),                                           # the heal path's listing
        *_login_lane(B, 'b', read=True)[:-1], TWO_SESSIONS,                                  # B only
        TWO_SESSIONS,
        replay(STEPS['add_path_sdb'], effect=lambda: degraded.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])),
        MAPS])
    assert not failed, result
    volume, = result['volumes']
    assert [(p['portal'], p['sid'], p['created_node'], p['logged_in']) for p in volume['portals']] == [
        (A, 5, False, False), (B, 6, True, True)]
    assert not any(made[:len(NODE[A])] == NODE[A] for made in harness.made)
    assert record(args)['attachment_id'] == 'att-2' and record(args)['own_sessions'] == TARGETS
    assert 'heal_s' in result['elapsed'] and 'login_s' not in result['elapsed']
