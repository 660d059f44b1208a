# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import contextlib
import json
import os
import threading

import pytest

from ansible.module_utils import basic

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _session, _volume
from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_volume
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import (
    call,
    parallel,
    replay,
    replay_steps,
    with_path_states,
)

STEPS = replay_steps()
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
A, B = '192.0.2.1:3260', '198.51.100.1:3260'
SECRET = 'hmsecret-0001'
WWID = '360000000000000000000000000000001'  # real, capture.json
SYSFS_WWID = 'naa.60000000000000000000000000000001'
SIZE = 64 << 20
TARGETS = [{'portal': A, 'iqn': IQN, 'lun': 1}, {'portal': B, 'iqn': IQN, 'lun': 1}]
ISCSIADM = '/usr/sbin/iscsiadm'
SESSIONS = ['/usr/sbin/iscsiadm', '-m', 'session']
NODE = {A: [ISCSIADM, '-m', 'node', '-T', IQN, '-p', A], B: [ISCSIADM, '-m', 'node', '-T', IQN, '-p', B]}
ONLY = {A: 'tcp: [5] %s,1 %s (non-flash)\n' % (A, IQN), B: 'tcp: [6] %s,1 %s (non-flash)\n' % (B, IQN)}
SHOW = dict((portal, STEPS['node_show_' + name]['stdout'].replace('node.startup = manual', 'node.startup = automatic'))
            for portal, name in ((A, 'a'), (B, 'b')))
TWO_SESSIONS = replay(STEPS['session_two'])
NODES_NONE = replay(STEPS['node_list_none'])  # real: iscsiadm -m node without any record (exit 21)
NODES_AB = call([ISCSIADM, '-m', 'node'], stdout='%s,1 %s\n%s,1 %s\n' % (A, IQN, B, IQN))
MAPS = replay(STEPS['maps_json'])
FLUSH = replay(STEPS['flush'])
DEAD = STEPS['login_dead']  # real: login to a portal whose packets are dropped (exit 8)
# real, lab 2026-11-25: the login to B ran while the login to A was creating session 1
RACE_STDERR = (
    'iscsiadm: could not read session targetname: 5\n'
    'iscsiadm: could not find session info for session1\n'
    'iscsiadm: Could not login to [iface: default, target: %s, portal: 198.51.100.1,3260].\n'
    'iscsiadm: initiator reported error (5 - encountered iSCSI login failure)\n'
    'iscsiadm: Could not log into all portals' % IQN)


@pytest.fixture
def args(tmp_path):
    # the timing the capture was made with (the defaults then)
    return {'targets': TARGETS, 'auth': {'username': 'hmuser', 'password': SECRET},
            'replacement_timeout': 15, 'noop_out_interval': 5, 'noop_out_timeout': 10, 'login_retries': 2,
            'lock_dir': str(tmp_path / 'locks')}


@pytest.fixture
def hosts(sysfs):
    sysfs.add_session(0, 5, with_target=False)  # manual scan: no target directory before the first scan (real)
    sysfs.add_session(1, 6, with_target=False)
    return sysfs


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: seen.append(text))
    return seen


def _update_new(name):
    """The captured settings update of a new record, node.startup in the same call."""
    step = STEPS['node_update_' + name]
    return replay(step, argv=step['argv'] + ['-n', 'node.startup', '-v', 'automatic'])


def _login_lane(portal, name, read=False):
    """A new node record, CHAP, node.startup and login for one portal (capture.json); sessions listed before. The
    engine lists the node records once (NODES_NONE) and reads no record of an IQN not listed; read: read first."""
    return _read(portal, read) + [replay(STEPS['node_new_' + name]), _update_new(name), replay(STEPS['login_' + name]),
                                  call(SESSIONS, stdout=ONLY[portal])]


def _read(portal, read):
    return [replay(STEPS['node_show_missing'], argv=NODE[portal] + ['-S'])] if read else []


def _dead_lane(portal, name, read=False):
    """The same portal, its packets dropped: the login fails and the node record it made is deleted."""
    return _read(portal, read) + [
        replay(STEPS['node_new_' + name]), _update_new(name),
        call(NODE[portal] + ['--login'], DEAD['rc'], DEAD['stdout'], DEAD['stderr']),
        replay(STEPS['logout_again_' + name]), replay(STEPS['node_delete_' + name])]


def _unchanged_lane(portal):
    return [call(NODE[portal] + ['-S'], stdout=SHOW[portal])]


def _pend(sysfs):
    sysfs.pend_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    sysfs.pend_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)


def _attached(sysfs):
    sysfs.add_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    sysfs.add_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    sysfs.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])


def _map_built(sysfs, devs):
    return lambda: sysfs.add_map('dm-0', WWID, WWID, devs)


def _attach_steps(hosts, listed=False):
    """Both logins, the LUN scan and the map build (multipath -a unless the wwids file lists the WWID)."""
    return [replay(STEPS['session_none']), NODES_NONE, parallel(_login_lane(A, 'a'), _login_lane(B, 'b')), TWO_SESSIONS] + (
        [] if listed else [replay(STEPS['multipath_a'])]) + [
        replay(STEPS['add_path_sda']), replay(STEPS['add_path_sdb'], effect=_map_built(hosts, ['sda', 'sdb']))]


def _no_secret(result):
    assert SECRET not in repr(result)


def test_present_logs_in_to_every_portal_in_parallel_and_builds_the_map(harness, hosts, args):
    _pend(hosts)
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [MAPS])
    assert not failed, result
    assert result['changed'] and (result['device'], result['wwid'], result['dm']) == ('/dev/mapper/' + WWID, WWID, 'dm-0')
    assert [(p['portal'], p['dev'], p['sid'], p['dm_st']) for p in result['paths']] == [
        (A, 'sda', 5, 'active'), (B, 'sdb', 6, 'active')]
    assert [(p['portal'], p['sid'], p['created_node'], p['logged_in']) for p in result['portals']] == [
        (A, 5, True, True), (B, 6, True, True)]
    assert result['missing_paths'] == []
    assert hosts.read('sys/class/scsi_host/host0/scan') == '- - 1' and hosts.read('sys/class/scsi_host/host1/scan') == '- - 1'
    assert harness.timeouts[harness.made.index(NODE[A] + ['--login'])] == 5 * (2 + 1) + 15  # bounded login
    assert set(result['elapsed']) == {'login_s', 'devices_s', 'map_s', 'total_s'}
    assert result['elapsed']['devices_s'] == 0.25  # one 0.25 s poll: the devices appear on the first sleep
    _no_secret(result)


def test_present_again_changes_nothing(harness, hosts, args):
    _attached(hosts)
    result, failed = harness.run(iscsi_volume.main, args, [
        TWO_SESSIONS, NODES_AB, parallel(_unchanged_lane(A), _unchanged_lane(B)), TWO_SESSIONS, MAPS])
    assert not failed and not result['changed'], result
    assert [p['updated'] for p in result['portals']] == [[], []] and result['dm'] == 'dm-0'


def test_dead_portal_warns_and_attaches_one_path(harness, hosts, args, warnings):
    hosts.pend_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE,
        parallel(_login_lane(A, 'a'), _dead_lane(B, 'b')),
        call(SESSIONS, stdout=ONLY[A]), replay(STEPS['multipath_a']),
        replay(STEPS['add_path_sda'], effect=_map_built(hosts, ['sda'])), MAPS])
    assert not failed, result
    assert result['device'] == '/dev/mapper/' + WWID and [p['dev'] for p in result['paths']] == ['sda']
    assert [m['portal'] for m in result['missing_paths']] == [B]
    assert result['missing_paths'][0]['reason'] == 'login failed: login to %s %s failed: connection to the portal ' \
        'timed out' % (B, IQN)
    assert result['portals'][1]['error'] and 'sid' not in result['portals'][1]
    assert warnings == ['no path through %s %s LUN 1: %s' % (B, IQN, result['missing_paths'][0]['reason'])]
    _no_secret(result)


@pytest.fixture
def slow_b(monkeypatch):
    """The login to B starts only once the gate is set (a portal slower than the engine's SLOW_LOGIN)."""
    gate = threading.Event()
    present = _session.SessionManager.present

    def held_back(manager, params, sessions=None, node_iqns=None):
        if manager.portal == B:
            assert gate.wait(10), 'the map was not built while the login to B was pending'
        return present(manager, params, sessions, node_iqns)
    monkeypatch.setattr(_session.SessionManager, 'present', held_back)
    monkeypatch.setattr(_volume, 'SLOW_LOGIN', 0.05)
    return gate


def _map_on_a_while_b_pends(hosts, gate, b_lane):
    """The login to A, the map built on sda alone, then (gate set by the map's listing) the slow login to B."""
    return [replay(STEPS['session_none']), NODES_NONE, parallel(
        _login_lane(A, 'a'), b_lane,
        [call(SESSIONS, stdout=ONLY[A]), replay(STEPS['multipath_a']),
         replay(STEPS['add_path_sda'], effect=_map_built(hosts, ['sda'])), dict(MAPS, effect=gate.set)])]


def test_the_map_is_built_on_the_live_path_while_the_dead_portal_login_is_pending(harness, hosts, args, warnings,
                                                                                  slow_b):
    hosts.pend_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    result, failed = harness.run(iscsi_volume.main, args, _map_on_a_while_b_pends(hosts, slow_b, _dead_lane(B, 'b')))
    assert not failed, result
    assert result['device'] == '/dev/mapper/' + WWID and [p['dev'] for p in result['paths']] == ['sda']
    assert [m['portal'] for m in result['missing_paths']] == [B]
    assert warnings == ['no path through %s %s LUN 1: %s' % (B, IQN, result['missing_paths'][0]['reason'])]
    assert {'login_s', 'slow_login_s', 'late_paths_s'} <= set(result['elapsed'])
    _no_secret(result)


def test_a_late_path_joins_the_map_once_its_device_shows_the_volume(harness, hosts, args, warnings, slow_b):
    hosts.pend_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    hosts.pend_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    result, failed = harness.run(iscsi_volume.main, args, _map_on_a_while_b_pends(hosts, slow_b, _login_lane(B, 'b')) + [
        TWO_SESSIONS, replay(STEPS['add_path_sdb'], effect=_map_built(hosts, ['sda', 'sdb'])), MAPS])
    assert not failed and result['changed'], result
    assert [(p['portal'], p['dev'], p['dm_st']) for p in result['paths']] == [(A, 'sda', 'active'), (B, 'sdb', 'active')]
    assert result['missing_paths'] == [] and warnings == [] and result['dm'] == 'dm-0'
    assert hosts.read('sys/block/sda/device/rescan') == '1'  # sda's identity read again before sdb joined it


def test_a_late_path_of_another_wwid_rolls_the_whole_attach_back(harness, hosts, args, slow_b):
    hosts.pend_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    hosts.pend_device(1, 6, 1, 'sdb', 'naa.60000000000000000000000000000002', SIZE)
    result, failed = harness.run(iscsi_volume.main, args, _map_on_a_while_b_pends(hosts, slow_b, _login_lane(B, 'b')) + [
        TWO_SESSIONS, call(FLUSH['argv'], effect=lambda: hosts.remove_map('dm-0')),
        parallel([call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])],
                 [call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_b']), replay(STEPS['node_delete_b'])])])
    assert failed and result['msg'].startswith('the paths disagree on the WWID'), result
    assert not hosts.exists('sys/block/dm-0') and not hosts.exists('sys/block/sda') and not hosts.exists('sys/block/sdb')
    assert result['left_behind'] == []
    _no_secret(result)


def test_a_target_with_a_record_listed_has_its_records_read_before_the_logins(harness, hosts, args):
    """The node listing names a record of the IQN (A's, left from an earlier attach): both portals are read first."""
    _pend(hosts)
    steps = _attach_steps(hosts)
    steps[1:3] = [call([ISCSIADM, '-m', 'node'], stdout='%s,1 %s\n' % (A, IQN)), parallel(
        [call(NODE[A] + ['-S'], stdout=SHOW[A])] + _login_lane(A, 'a')[2:],  # record kept: logs in only
        _login_lane(B, 'b', read=True))]
    result, failed = harness.run(iscsi_volume.main, args, steps + [MAPS])
    assert not failed, result
    assert [(p['portal'], p['created_node'], p['logged_in']) for p in result['portals']] == [(A, False, True), (B, True, True)]


def test_login_that_lost_the_session_race_is_retried_once(harness, hosts, args):
    _pend(hosts)
    lane_b = _login_lane(B, 'b')
    lane_b[2:2] = [call(NODE[B] + ['--login'], 5, STEPS['login_b']['stdout'], RACE_STDERR)]
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE,
        parallel(_login_lane(A, 'a'), lane_b),
        TWO_SESSIONS, replay(STEPS['multipath_a']), replay(STEPS['add_path_sda']),
        replay(STEPS['add_path_sdb'], effect=_map_built(hosts, ['sda', 'sdb'])), MAPS])
    assert not failed, result
    assert result['missing_paths'] == [] and [p['sid'] for p in result['portals']] == [5, 6]


def test_node_record_locked_after_the_failed_login_is_deleted_on_retry(harness, hosts, args):
    hosts.pend_device(0, 5, 1, 'sda', SYSFS_WWID, SIZE)
    lane_b = _dead_lane(B, 'b')
    lane_b[-1:] = [call(NODE[B] + ['--op', 'delete'], rc=6),  # exit code seen in the lab (stderr not kept)
                   replay(STEPS['node_delete_again_b'])]
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE,
        parallel(_login_lane(A, 'a'), lane_b),
        call(SESSIONS, stdout=ONLY[A]), replay(STEPS['multipath_a']),
        replay(STEPS['add_path_sda'], effect=_map_built(hosts, ['sda'])), MAPS])
    assert not failed and [m['portal'] for m in result['missing_paths']] == [B]


def test_fewer_than_min_paths_rolls_back_the_other_login(harness, hosts, args):
    args['min_paths'] = 2
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE,
        parallel(_login_lane(A, 'a'), _dead_lane(B, 'b')),
        call(SESSIONS, stdout=ONLY[A]), replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])])
    assert failed and result['msg'].startswith('only 1 of 2 paths logged in (min_paths=2): %s: login failed' % B)
    assert (result['cmd'], result['rc'], result['stderr']) == (NODE[B] + ['--login'], 8, DEAD['stderr'])
    assert [p['portal'] for p in result['portals']] == [A, B]
    _no_secret(result)


def test_map_never_usable_rolls_back_map_devices_and_sessions(harness, hosts, args):
    _pend(hosts)
    args['map_timeout'] = 1
    not_usable = call(MAPS['argv'], stdout=with_path_states(MAPS['stdout'], dm_st='failed', chk_st='faulty'))
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [
        not_usable, not_usable, not_usable, not_usable, not_usable,
        call(FLUSH['argv'], effect=lambda: hosts.remove_map('dm-0')),
        # the SCSI devices were deleted through sysfs; the kernel drops them before the sessions are listed
        parallel([call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])],
                 [call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_b']), replay(STEPS['node_delete_b'])])])
    assert failed and "has no usable path after 1 s (no active path in multipathd's listing)" in result['msg']
    assert not hosts.exists('sys/block/dm-0') and not hosts.exists('sys/block/sda') and not hosts.exists('sys/block/sdb')
    _no_secret(result)


def test_map_usable_on_the_second_listing(harness, hosts, args):
    _pend(hosts)
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [
        replay(STEPS['maps_json_empty']), MAPS])  # real: multipathd had not listed the new map yet
    assert not failed, result
    assert [(p['dev'], p['dm_st'], p['chk_st']) for p in result['paths']] == [
        ('sda', 'active', 'ready'), ('sdb', 'active', 'ready')]


def test_attach_skips_multipath_a_when_the_wwids_file_lists_the_wwid(harness, hosts, args):
    _pend(hosts)
    hosts.list_wwid(WWID)
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts, listed=True) + [MAPS])
    assert not failed and result['dm'] == 'dm-0', result
    assert not [argv for argv in harness.made if argv[0] == '/usr/sbin/multipath']  # no multipath process at all


def test_attach_runs_multipath_a_without_a_wwids_file(harness, hosts, args):
    _pend(hosts)
    os.remove(hosts.path('etc/multipath/wwids'))
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [MAPS])
    assert not failed and result['dm'] == 'dm-0', result


def test_check_mode_predicts_the_logins_and_changes_nothing(harness, hosts, args):
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE],  # no record of the IQN listed: nothing more to read
        check_mode=True)
    assert not failed and result['changed'] and 'device' not in result
    assert [p['logged_in'] for p in result['portals']] == [True, True]
    assert not os.path.exists(args['lock_dir'])  # not even the lock directory


def test_check_mode_when_attached_is_unchanged(harness, hosts, args):
    _attached(hosts)
    result, failed = harness.run(iscsi_volume.main, args, [
        TWO_SESSIONS, NODES_AB, parallel(_unchanged_lane(A), _unchanged_lane(B)), TWO_SESSIONS, MAPS], check_mode=True)
    assert not failed and not result['changed'] and result['dm'] == 'dm-0'


def _logout_lane(portal, name):
    """After the one session listing every logout lane shares."""
    return [call(NODE[portal] + ['-S'], stdout=SHOW[portal]),
            replay(STEPS['logout_' + name]), replay(STEPS['node_delete_' + name])]


SESSION_USES_RECORD = call(NODE[B] + ['--op', 'delete'], rc=15, stderr=(  # real: lab, 32 logouts at once
    'iscsiadm: This command will remove the record [iface: default, target: %s, portal: 198.51.100.1,3260], but a '
    'session is using it. Logout session then rerun command to remove record.\niscsiadm: Could not execute operation '
    'on all records: session exists\n' % IQN))


def _detach_devices(hosts):
    return [TWO_SESSIONS, call(FLUSH['argv'], effect=lambda: hosts.remove_map('dm-0')),
            replay(STEPS['flushbufs_sda']), replay(STEPS['flushbufs_sdb']),
            replay(STEPS['multipathd_status']), replay(STEPS['maps_json_after'])]


def test_absent_removes_map_devices_sessions_and_records(harness, hosts, args):
    _attached(hosts)
    args['state'] = 'absent'
    result, failed = harness.run(iscsi_volume.main, args, _detach_devices(hosts) + [
        TWO_SESSIONS, parallel(_logout_lane(A, 'a'), _logout_lane(B, 'b'))])
    assert not failed, result
    assert result['changed'] and result['removed_devices'] == ['sda', 'sdb']
    assert [(p['portal'], p['logged_out'], p['deleted_node']) for p in result['portals']] == [
        (A, True, True), (B, True, True)]
    assert not hosts.exists('sys/block/sda') and set(result['elapsed']) == {'devices_s', 'logout_s', 'total_s'}


def test_absent_again_changes_nothing(harness, hosts, args):
    args['state'] = 'absent'
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), replay(STEPS['session_none']),
        parallel([replay(STEPS['node_show_missing'], argv=NODE[A] + ['-S'])],
                 [replay(STEPS['node_show_missing'], argv=NODE[B] + ['-S'])])])
    assert not failed and not result['changed']


def test_absent_keeps_a_session_another_lun_uses(harness, hosts, args):
    _attached(hosts)
    hosts.add_device(0, 5, 2, 'sdc', 'naa.60000000000000000000000000000002', SIZE)  # another volume on target A
    args.update(state='absent', targets=TARGETS[:1], wwid=WWID)  # the map's path through B: found by the WWID
    result, failed = harness.run(iscsi_volume.main, args, [
        call(SESSIONS, stdout=ONLY[A]), MAPS, call(FLUSH['argv'], effect=lambda: hosts.remove_map('dm-0')),
        replay(STEPS['flushbufs_sda']), replay(STEPS['flushbufs_sdb']),
        replay(STEPS['multipathd_status']), replay(STEPS['maps_json_after']),
        call(SESSIONS, stdout=ONLY[A]), call(NODE[A] + ['-S'], stdout=SHOW[A])])
    assert not failed and result['changed']
    assert result['portals'] == [{'portal': A, 'iqn': IQN, 'sid': 5, 'logged_out': False, 'deleted_node': False,
                                  'in_use_luns': [2]}]


def test_absent_check_mode_predicts_the_logouts(harness, hosts, args):
    _attached(hosts)
    args['state'] = 'absent'
    result, failed = harness.run(iscsi_volume.main, args, [
        TWO_SESSIONS, TWO_SESSIONS, parallel([call(NODE[A] + ['-S'], stdout=SHOW[A])],
                                             [call(NODE[B] + ['-S'], stdout=SHOW[B])])], check_mode=True)
    assert not failed and result['changed'] and [p['logged_out'] for p in result['portals']] == [True, True]
    assert hosts.exists('sys/block/dm-0') and hosts.read('sys/block/sda/device/delete') == ''


def test_absent_refuses_a_mounted_map_and_keeps_the_sessions(harness, hosts, args):
    _attached(hosts)
    hosts.write('proc/self/mountinfo', '40 22 254:0 / /mnt rw - ext4 /dev/mapper/%s rw\n' % WWID)
    args['state'] = 'absent'
    result, failed = harness.run(iscsi_volume.main, args, [TWO_SESSIONS])
    assert failed and 'is mounted: refusing' in result['msg']


@pytest.mark.parametrize('changes, message', [
    ({'targets': []}, 'targets is empty'),
    ({'min_paths': 3}, 'min_paths is 3 but only 2 targets'),
    ({'login_timeout': 0}, 'login_timeout must be positive'),
    ({'device_timeout': 0}, 'device_timeout must be 1 or more'),
    ({'targets': [{'portal': '192.0.2.1', 'iqn': IQN, 'lun': 1}]}, "targets[0].portal '192.0.2.1' has no port"),
])
def test_bad_arguments_fail_before_any_command(harness, args, changes, message):
    args.update(changes)
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and message in result['msg']


def test_sessions_of_keeps_one_entry_per_portal_and_iqn():
    targets = TARGETS + [{'portal': A, 'iqn': IQN, 'lun': 2}]
    assert _volume.sessions_of(targets) == TARGETS


def test_login_missing_and_live_targets():
    outcomes = [{'portal': A, 'iqn': IQN, 'sid': 5}, {'portal': B, 'iqn': IQN, 'error': 'boom'}]
    assert _volume.login_missing(outcomes, TARGETS) == [dict(TARGETS[1], reason='login failed: boom')]
    assert _volume.live_targets(outcomes, TARGETS) == TARGETS[:1]


WWID2 = '360000000000000000000000000000002'


def _two_volumes(args, hosts, attached=False):
    """Volume 1 on LUN 1 and volume 2 on LUN 2 of the same target: they share both sessions."""
    lun2 = [dict(target, lun=2) for target in TARGETS]
    args.update(volumes=[{'targets': TARGETS}, {'targets': lun2}])
    del args['targets']
    add = hosts.add_device if attached else hosts.pend_device
    for host, sid, lun, dev in ((0, 5, 1, 'sda'), (1, 6, 1, 'sdb'), (0, 5, 2, 'sdc'), (1, 6, 2, 'sdd')):
        add(host, sid, lun, dev, 'naa.6000000000000000000000000000000%d' % lun, SIZE)
    if attached:
        hosts.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])
        hosts.add_map('dm-1', WWID2, WWID2, ['sdc', 'sdd'], devt='254:1')
    return lun2


def _listing(wwid, dm, devs):
    """The captured listing (dm-0 on sda, sdb) as multipathd would show another map."""
    stdout = MAPS['stdout'].replace(WWID, wwid).replace('"dm-0"', '"%s"' % dm)
    return call(MAPS['argv'], stdout=stdout.replace('"sda"', '"%s"' % devs[0]).replace('"sdb"', '"%s"' % devs[1]))


def _map_lane(hosts, wwid, dm, devs):  # dm-N: devt 254:N
    return [TWO_SESSIONS, call(['/usr/sbin/multipath', '-a', wwid], stdout="wwid '%s' added\n" % wwid),
            call(['/usr/sbin/multipathd', 'add', 'path', '/dev/' + devs[0]], stdout='ok\n'),
            call(['/usr/sbin/multipathd', 'add', 'path', '/dev/' + devs[1]], stdout='ok\n',
                 effect=lambda: hosts.add_map(dm, wwid, wwid, devs, devt='254:' + dm[3:])),
            _listing(wwid, dm, devs)]


def test_volumes_share_the_sessions_and_get_a_map_each(harness, hosts, args):
    lun2 = _two_volumes(args, hosts)
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE,
        parallel(_login_lane(A, 'a'), _login_lane(B, 'b')),
        parallel(_map_lane(hosts, WWID, 'dm-0', ['sda', 'sdb']), _map_lane(hosts, WWID2, 'dm-1', ['sdc', 'sdd']))])
    assert not failed, result
    assert result['changed'] and 'device' not in result and 'targets' not in result
    assert [(v['targets'], v['wwid'], v['dm'], [p['dev'] for p in v['paths']]) for v in result['volumes']] == [
        (TARGETS, WWID, 'dm-0', ['sda', 'sdb']), (lun2, WWID2, 'dm-1', ['sdc', 'sdd'])]
    assert [[p['sid'] for p in v['portals']] for v in result['volumes']] == [[5, 6], [5, 6]]
    assert [[p['dm_st'] for p in v['paths']] for v in result['volumes']] == [['active', 'active']] * 2
    assert harness.made.count(NODE[A] + ['--login']) == 1  # one login per session, however many volumes
    assert set(result['elapsed']) == {'login_s', 'devices_s', 'map_s', 'total_s'}
    _no_secret(result)


def test_a_failed_volume_rolls_back_every_volume(harness, hosts, args):
    _two_volumes(args, hosts)
    refused = call(['/usr/sbin/multipath', '-a', WWID2], rc=1, stderr='wwid file locked\n')
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE,
        parallel(_login_lane(A, 'a'), _login_lane(B, 'b')),
        parallel(_map_lane(hosts, WWID, 'dm-0', ['sda', 'sdb']), [TWO_SESSIONS, refused]),
        call(FLUSH['argv'], effect=lambda: hosts.remove_map('dm-0')),
        parallel([call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])],
                 [call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_b']), replay(STEPS['node_delete_b'])])])
    assert failed and result['msg'].startswith('volumes[1]: ') and result['cmd'] == refused['argv'], result
    assert not any(hosts.exists('sys/block/' + name) for name in ('dm-0', 'sda', 'sdb', 'sdc', 'sdd'))
    _no_secret(result)


def test_volumes_detach_together_and_log_out_once(harness, hosts, args):
    lun2 = _two_volumes(args, hosts, attached=True)
    args['state'] = 'absent'
    flush2 = ['/usr/sbin/multipath', '-f', WWID2]

    def device_lane(flush, dm, devs):
        return [TWO_SESSIONS, call(flush, effect=lambda: hosts.remove_map(dm))] + [
            call(['/usr/sbin/blockdev', '--flushbufs', '/dev/' + dev]) for dev in devs] + [
            replay(STEPS['multipathd_status']), replay(STEPS['maps_json_after'])]
    result, failed = harness.run(iscsi_volume.main, args, [
        parallel(device_lane(FLUSH['argv'], 'dm-0', ['sda', 'sdb']), device_lane(flush2, 'dm-1', ['sdc', 'sdd'])),
        TWO_SESSIONS, parallel(_logout_lane(A, 'a'), _logout_lane(B, 'b'))])
    assert not failed, result
    assert [(v['targets'], v['removed_devices']) for v in result['volumes']] == [
        (TARGETS, ['sda', 'sdb']), (lun2, ['sdc', 'sdd'])]
    assert [[p['logged_out'] for p in v['portals']] for v in result['volumes']] == [[True, True], [True, True]]


def test_volumes_problem():
    auth = {'username': 'u', 'password': 'p'}
    volume = {'targets': TARGETS, 'auth': auth, 'wwid': None}
    assert _volume.volumes_problem([volume, dict(volume, targets=[dict(t, lun=2) for t in TARGETS])], 2) is None
    assert _volume.volumes_problem([volume, dict(volume, auth=None)], 1) == (
        'volumes[1] %s %s is shared with another volume that gives other CHAP credentials' % (A, IQN))
    assert _volume.volumes_problem([volume, dict(volume, targets=[])], 1) == 'volumes[1] targets is empty'
    assert _volume.volumes_problem([volume], 3) == 'min_paths is 3 but only 2 targets are given'
    one = dict(volume, targets=TARGETS[:1])
    assert _volume.volumes_problem([one], 2) == 'min_paths is 2 but only 1 targets are given'
    assert _volume.volumes_problem([one], 2, discovery=True) is None  # held to it after the discovery
    assert _volume.volumes_problem([volume], 3, discovery=True) == 'min_paths is 3 but only 2 targets are given'


def test_volumes_and_targets_exclude_each_other(harness, args):
    args['volumes'] = [{'targets': TARGETS}]
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and 'mutually exclusive: targets|volumes' in result['msg']


def test_a_bad_volume_target_is_named(harness, args):
    args['volumes'] = [{'targets': TARGETS}, {'targets': [{'portal': '192.0.2.1', 'iqn': IQN, 'lun': 1}]}]
    del args['targets']
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and result['msg'].startswith("volumes[1].targets[0].portal '192.0.2.1' has no port")


def test_min_paths_is_not_checked_on_detach(harness, hosts, args):
    args.update(state='absent', min_paths=3)
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), replay(STEPS['session_none']),
        parallel([replay(STEPS['node_show_missing'], argv=NODE[A] + ['-S'])],
                 [replay(STEPS['node_show_missing'], argv=NODE[B] + ['-S'])])])
    assert not failed and not result['changed']


@pytest.mark.parametrize('locked, fails', [(3, False), (4, True)])
def test_absent_retries_a_locked_node_database(harness, hosts, args, locked, fails):
    """32 logouts at once held the node database lock (lab, 16 volumes): exit 6, retried after 1, 2 and 4 s."""
    _attached(hosts)
    args['state'] = 'absent'
    lane_b = _logout_lane(B, 'b')
    lane_b[-1:] = [call(NODE[B] + ['--op', 'delete'], rc=6, stderr='iscsiadm: Could not execute operation on all '
                        'records: encountered iSCSI database failure\n')] * locked + ([] if fails else lane_b[-1:])
    result, failed = harness.run(iscsi_volume.main, args, _detach_devices(hosts) + [
        TWO_SESSIONS, parallel(_logout_lane(A, 'a'), lane_b)])
    assert failed == fails, result
    if fails:
        assert result['rc'] == 6 and 'record missing or locked' in result['msg']


def test_absent_logs_out_again_when_the_record_still_has_its_session(harness, hosts, args):
    _attached(hosts)
    args['state'] = 'absent'
    lane_b = _logout_lane(B, 'b')
    lane_b[-1:] = [SESSION_USES_RECORD, replay(STEPS['logout_b']), replay(STEPS['node_delete_b'])]
    result, failed = harness.run(iscsi_volume.main, args, _detach_devices(hosts) + [
        TWO_SESSIONS, parallel(_logout_lane(A, 'a'), lane_b)])
    assert not failed, result
    assert [(p['portal'], p['logged_out'], p['deleted_node']) for p in result['portals']] == [
        (A, True, True), (B, True, True)]


def test_absent_never_logs_out_a_session_it_did_not_list(harness, hosts, args):
    """A session that shows up after the listing may carry another LUN: the delete fails, nothing is logged out."""
    _attached(hosts)
    args['state'] = 'absent'
    result, failed = harness.run(iscsi_volume.main, args, _detach_devices(hosts) + [
        call(SESSIONS, stdout=ONLY[A]),
        parallel(_logout_lane(A, 'a'), [call(NODE[B] + ['-S'], stdout=SHOW[B]), SESSION_USES_RECORD])])
    assert failed and result['rc'] == 15 and 'session already exists' in result['msg'], result


VOLUME_ID = '0736e4a3-9d1c-4b6e-8f0a-5c2d9e7b1a40'


def _record_dir(tmp_path, **record):
    """A root-only record directory holding one attach record (no secret in it, as the attach writes it)."""
    directory = tmp_path / 'records'
    directory.mkdir(mode=0o700)
    body = dict({'version': 1, 'volume_id': VOLUME_ID, 'attachment_id': 'att-1', 'wwid': WWID, 'targets': TARGETS,
                 'own_sessions': TARGETS, 'own_nodes': TARGETS}, **record)
    (directory / (VOLUME_ID + '.json')).write_text(json.dumps(body))
    return str(directory)


def test_absent_from_the_record_alone(harness, hosts, args, tmp_path):
    _attached(hosts)
    del args['targets']
    args.update(state='absent', volumes=[{'volume_id': VOLUME_ID}], record_dir=_record_dir(tmp_path))
    devices = _detach_devices(hosts)
    result, failed = harness.run(iscsi_volume.main, args, devices[:1] + [MAPS] + devices[1:] + [
        TWO_SESSIONS, parallel(_logout_lane(A, 'a'), _logout_lane(B, 'b'))])
    assert not failed, result
    volume = result['volumes'][0]
    assert (volume['volume_id'], volume['attachment_id'], volume['targets']) == (VOLUME_ID, 'att-1', TARGETS)
    assert volume['removed_devices'] == ['sda', 'sdb'] and 'error' not in volume
    assert os.path.exists(os.path.join(args['record_dir'], VOLUME_ID + '.json'))  # the caller removes it


def test_absent_of_a_volume_cinder_gave_no_targets_and_without_record_detaches_nothing(
        harness, args, tmp_path, warnings):
    """volume_detach asked Cinder: its attachment has no connection details (made without a connector)."""
    del args['targets']
    args.update(state='absent', volumes=[{'volume_id': VOLUME_ID, 'attachment_id': 'att-2', 'targets': []}],
                record_dir=str(tmp_path / 'records'))
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert not failed and not result['changed'], result
    volume = result['volumes'][0]
    assert (volume['volume_id'], volume['attachment_id'], volume['targets']) == (VOLUME_ID, 'att-2', [])
    assert volume['removed_devices'] == [] and volume['portals'] == [] and 'error' not in volume
    assert warnings == ['%s: no targets (the Cinder attachment has no connection details) and no attach record: '
                        'nothing of it to detach on this host' % VOLUME_ID]


def test_absent_with_empty_targets_takes_them_from_the_record(harness, hosts, args, tmp_path):
    _attached(hosts)
    del args['targets']
    args.update(state='absent', volumes=[{'volume_id': VOLUME_ID, 'targets': []}], record_dir=_record_dir(tmp_path))
    devices = _detach_devices(hosts)
    result, failed = harness.run(iscsi_volume.main, args, devices[:1] + [MAPS] + devices[1:] + [
        TWO_SESSIONS, parallel(_logout_lane(A, 'a'), _logout_lane(B, 'b'))])
    assert not failed and result['volumes'][0]['targets'] == TARGETS, result


def test_empty_targets_are_refused_for_an_attach_and_with_a_wwid(harness, args, tmp_path):
    del args['targets']
    args.update(volumes=[{'volume_id': VOLUME_ID, 'targets': []}], record_dir=str(tmp_path / 'records'))
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and result['msg'] == 'targets is empty'
    args.update(state='absent', volumes=[{'volume_id': VOLUME_ID, 'targets': [], 'wwid': WWID}])
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and result['msg'] == 'targets is empty'


def test_absent_without_a_record_says_so_before_any_command(harness, args, tmp_path):
    del args['targets']
    args.update(state='absent', volumes=[{'volume_id': VOLUME_ID}], record_dir=str(tmp_path / 'none'))
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and result['msg'] == (
        'volumes[0]: volume %s has no attach record in %s; give its targets (from Cinder)' % (VOLUME_ID, tmp_path / 'none'))


def test_attach_needs_targets_even_with_a_record(harness, args, tmp_path):
    del args['targets']
    args.update(volumes=[{'volume_id': VOLUME_ID}], record_dir=_record_dir(tmp_path))
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and result['msg'].startswith('volumes[0].targets is required')


@pytest.mark.parametrize('plant, message', [
    (lambda d: os.chmod(d, 0o777), 'is not a directory only its owner can write'),
    (lambda d: os.replace(os.path.join(d, VOLUME_ID + '.json'), os.path.join(d, 'elsewhere'))
     or os.symlink('elsewhere', os.path.join(d, VOLUME_ID + '.json')), 'cannot open'),
    (lambda d: open(os.path.join(d, VOLUME_ID + '.json'), 'w').write('{"volume_id": "another", "targets": []}'),
     "names volume 'another'"),
])
def test_a_record_that_cannot_be_trusted_is_refused(harness, args, tmp_path, plant, message):
    del args['targets']
    args.update(state='absent', volumes=[{'volume_id': VOLUME_ID}], record_dir=_record_dir(tmp_path))
    plant(args['record_dir'])
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and message in result['msg'], result


def test_a_volume_that_fails_does_not_stop_the_others_from_detaching(harness, hosts, args):
    lun2 = _two_volumes(args, hosts, attached=True)
    args.update(state='absent', flush_retries=1)
    busy = call(FLUSH['argv'], rc=1, stderr='%s: map in use\n' % WWID)
    flush2 = ['/usr/sbin/multipath', '-f', WWID2]
    result, failed = harness.run(iscsi_volume.main, args, [
        parallel([TWO_SESSIONS, busy],
                 [TWO_SESSIONS, call(flush2, effect=lambda: hosts.remove_map('dm-1')),
                  call(['/usr/sbin/blockdev', '--flushbufs', '/dev/sdc']),
                  call(['/usr/sbin/blockdev', '--flushbufs', '/dev/sdd']),
                  replay(STEPS['multipathd_status']), replay(STEPS['maps_json_after'])]),
        TWO_SESSIONS, parallel([call(NODE[A] + ['-S'], stdout=SHOW[A])], [call(NODE[B] + ['-S'], stdout=SHOW[B])])])
    assert failed and result['msg'].startswith('volumes[0]: ') and 'map in use' in result['stderr']
    first, second = result['volumes']
    assert 'error' in first and 'removed_devices' not in first
    assert second['targets'] == lun2 and second['removed_devices'] == ['sdc', 'sdd'] and 'error' not in second
    assert [p['in_use_luns'] for p in second['portals']] == [[1], [1]]  # volume 1 keeps its devices and sessions
    assert hosts.exists('sys/block/dm-0') and not hosts.exists('sys/block/dm-1')


def test_a_missing_command_fails_before_any_change(harness, args, monkeypatch):
    def only_iscsi(module, name, required=False):
        if name == 'multipathd':
            module.fail_json(msg='Failed to find required executable "multipathd"')
        return '/usr/sbin/' + name
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', only_iscsi)
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and 'multipathd' in result['msg']
    assert not os.path.exists(args['lock_dir'])


def test_an_unexpected_error_in_a_login_thread_rolls_back_the_other_login(harness, hosts, args, monkeypatch):
    real = _volume.SessionManager.present

    def present(manager, params, sessions, node_iqns):
        if manager.portal == B:
            raise OSError(5, 'Input/output error')
        return real(manager, params, sessions, node_iqns)
    monkeypatch.setattr(_volume.SessionManager, 'present', present)
    args['min_paths'] = 2
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE, *_login_lane(A, 'a'),
        call(SESSIONS, stdout=ONLY[A]), replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])])
    assert failed and 'unexpected OSError' in result['msg'] and 'Input/output error' in result['msg']
    assert [p.get('error', '')[:16] for p in result['portals']] == ['', 'unexpected OSErr']


def test_a_sysfs_write_refused_is_a_command_error_and_rolls_back(harness, hosts, args):
    scan = hosts.path('sys/class/scsi_host/host1/scan')
    os.remove(scan)
    os.mkdir(scan)  # open(..., 'w') fails as a refused sysfs write would
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE, parallel(_login_lane(A, 'a'), _login_lane(B, 'b')), TWO_SESSIONS,
        parallel([call(SESSIONS, stdout=STEPS['session_two']['stdout']), replay(STEPS['logout_a']),
                  replay(STEPS['node_delete_a'])],
                 [call(SESSIONS, stdout=STEPS['session_two']['stdout']), replay(STEPS['logout_b']),
                  replay(STEPS['node_delete_b'])])])
    assert failed and result['msg'].startswith("writing '- - 1' to ") and 'host1/scan failed: Is a directory' in result['msg']


def test_the_whole_attach_runs_under_every_target_lock(harness, hosts, args, monkeypatch):
    """Logins, LUN scans and the map build all happen while the (portal, IQN) locks are held (as os-brick)."""
    real = iscsi_volume.targets_locked

    @contextlib.contextmanager
    def marking(keys, *rest):
        with real(keys, *rest):
            harness.made.append(['LOCKED'] + sorted('%s %s' % key for key in keys))
            yield
            harness.made.append(['UNLOCKED'])
    monkeypatch.setattr(iscsi_volume, 'targets_locked', marking)
    _pend(hosts)
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [MAPS])
    assert not failed, result
    assert harness.made[0] == ['LOCKED', '%s %s' % (A, IQN), '%s %s' % (B, IQN)]
    assert harness.made[-1] == ['UNLOCKED'] and harness.made[-2] == MAPS['argv']


# Issue 11, items 1-3: identity. The target gave LUN 1 of the shared IQN to volume Y after X was attached.
SIZE_Y = 96 << 20


def test_size_mismatch_with_cinder_is_refused_and_rolled_back(harness, hosts, args):
    _pend(hosts)
    args['size_bytes'] = SIZE_Y
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE, parallel(_login_lane(A, 'a'), _login_lane(B, 'b')), TWO_SESSIONS,
        parallel([call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])],
                 [call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_b']), replay(STEPS['node_delete_b'])])])
    assert failed and 'but Cinder reports %d bytes for the volume' % SIZE_Y in result['msg'], result
    assert not hosts.exists('sys/block/sda') and not hosts.exists('sys/block/sdb')
    _no_secret(result)


def test_volumes_size_bytes_reaches_the_volume(harness, hosts, args):
    _pend(hosts)
    args['volumes'] = [{'targets': TARGETS, 'size_bytes': SIZE_Y}]
    del args['targets']
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE, parallel(_login_lane(A, 'a'), _login_lane(B, 'b')), TWO_SESSIONS,
        parallel([call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])],
                 [call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_b']), replay(STEPS['node_delete_b'])])])
    assert failed and result['msg'].startswith('/dev/sda (%s %s LUN 1) is %d bytes' % (A, IQN, SIZE)), result


@pytest.mark.parametrize('changes, message', [
    ({'size_bytes': 0}, 'size_bytes must be 1 or more, got 0'),
    ({'volumes': [{'targets': TARGETS}, {'targets': TARGETS, 'size_bytes': -1}]},
     'volumes[1] size_bytes must be 1 or more, got -1'),
    ({'volumes': [{'targets': TARGETS}], 'size_bytes': SIZE}, 'mutually exclusive: size_bytes|volumes'),
])
def test_bad_size_bytes_fails_before_any_command(harness, args, changes, message):
    if 'volumes' in changes:
        del args['targets']
    args.update(changes)
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and message in result['msg']


def test_detach_leaves_other_volume_at_lun_and_keeps_its_sessions(harness, hosts, args, warnings):
    hosts.add_device(0, 5, 1, 'sdc', 'naa.60000000000000000000000000000002', SIZE_Y)
    hosts.add_device(1, 6, 1, 'sdd', 'naa.60000000000000000000000000000002', SIZE_Y)
    hosts.add_map('dm-1', WWID2, WWID2, ['sdc', 'sdd'], devt='254:1')
    args.update(state='absent', wwid=WWID)  # X's record
    result, failed = harness.run(iscsi_volume.main, args, [
        TWO_SESSIONS, _listing(WWID2, 'dm-1', ['sdc', 'sdd']),
        TWO_SESSIONS, parallel([call(NODE[A] + ['-S'], stdout=SHOW[A])], [call(NODE[B] + ['-S'], stdout=SHOW[B])])])
    assert not failed, result
    assert not result['changed'] and result['removed_devices'] == []
    assert [(f['dev'], f['portal'], f['lun'], f['wwid']) for f in result['foreign_devices']] == [
        ('sdc', A, 1, WWID2), ('sdd', B, 1, WWID2)]
    assert [(p['portal'], p['logged_out'], p['deleted_node'], p['in_use_luns']) for p in result['portals']] == [
        (A, False, False, [1]), (B, False, False, [1])]
    assert hosts.exists('sys/block/dm-1') and hosts.read('sys/block/sdc/device/delete') == ''
    assert len(warnings) == 1 and warnings[0].startswith('left alone, not this volume')


def test_detach_check_mode_predicts_keeping_the_sessions_of_another_volume(harness, hosts, args):
    hosts.add_device(0, 5, 1, 'sdc', 'naa.60000000000000000000000000000002', SIZE_Y)
    hosts.add_device(1, 6, 1, 'sdd', 'naa.60000000000000000000000000000002', SIZE_Y)
    args.update(state='absent', wwid=WWID)
    result, failed = harness.run(iscsi_volume.main, args, [
        TWO_SESSIONS, replay(STEPS['maps_json_after']),
        TWO_SESSIONS, parallel([call(NODE[A] + ['-S'], stdout=SHOW[A])], [call(NODE[B] + ['-S'], stdout=SHOW[B])])],
        check_mode=True)
    assert not failed and not result['changed'], result
    assert [p['logged_out'] for p in result['portals']] == [False, False]


def test_skip_leaves_out_a_volume_without_record_before_any_command(harness, args, tmp_path):
    del args['targets']
    args.update(state='absent', volumes=[{'volume_id': VOLUME_ID}], record_dir=str(tmp_path / 'none'),
                missing_record='skip')
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert not failed and not result['changed'], result
    assert (result['volumes'], result['no_record']) == ([], [VOLUME_ID])


def test_skip_detaches_the_recorded_volumes_and_names_the_others(harness, hosts, args, tmp_path):
    _attached(hosts)
    del args['targets']
    other = '0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11'
    args.update(state='absent', volumes=[{'volume_id': other}, {'volume_id': VOLUME_ID}],
                record_dir=_record_dir(tmp_path), missing_record='skip')
    devices = _detach_devices(hosts)
    result, failed = harness.run(iscsi_volume.main, args, devices[:1] + [MAPS] + devices[1:] + [
        TWO_SESSIONS, parallel(_logout_lane(A, 'a'), _logout_lane(B, 'b'))])
    assert not failed and result['changed'], result
    assert [volume['volume_id'] for volume in result['volumes']] == [VOLUME_ID] and result['no_record'] == [other]


def test_skip_still_refuses_a_record_that_cannot_be_trusted(harness, args, tmp_path):
    del args['targets']
    args.update(state='absent', volumes=[{'volume_id': VOLUME_ID}], record_dir=_record_dir(tmp_path),
                missing_record='skip')
    os.chmod(args['record_dir'], 0o777)
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and 'is not a directory only its owner can write' in result['msg'], result


@pytest.mark.parametrize('state, missing_record, targets, left_out', [
    ('present', 'skip', None, None), ('absent', 'fail', None, None), ('absent', 'skip', [], [])])
def test_only_a_skipping_detach_by_volume_id_leaves_volumes_out(state, missing_record, targets, left_out):
    params = dict(state=state, missing_record=missing_record, volumes=[{'volume_id': VOLUME_ID, 'targets': targets}])
    assert _volume.records_missing(params, lambda volume_id: None) == left_out
