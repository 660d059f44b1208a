# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _session
from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_session
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call, replay, replay_steps

STEPS = replay_steps()
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
A = '192.0.2.1:3260'
SECRET = 'hmsecret-0001'
NODE = ['/usr/sbin/iscsiadm', '-m', 'node', '-T', IQN, '-p', A]
SESSIONS = ['/usr/sbin/iscsiadm', '-m', 'session']
ONE_SESSION = 'tcp: [1] 192.0.2.1:3260,1 %s (non-flash)\n' % IQN
# a new record gets node.startup in the same update as the other settings (captured argv, plus that pair)
UPDATE_NEW = replay(STEPS['node_update_a'], argv=STEPS['node_update_a']['argv'] + ['-n', 'node.startup', '-v', 'automatic'])
SHOW_AUTOMATIC = STEPS['node_show_a']['stdout'].replace('node.startup = manual', 'node.startup = automatic')
# the timing the capture was made with (the defaults then); test_defaults_* covers today's defaults
CAPTURED_TIMING = {'replacement_timeout': 15, 'noop_out_interval': 5, 'noop_out_timeout': 10, 'login_retries': 2}


@pytest.fixture
def args(tmp_path):
    return dict(CAPTURED_TIMING, portal=A, iqn=IQN, auth={'username': 'hmuser', 'password': SECRET},
                lock_dir=str(tmp_path / 'locks'))


def _no_secret(result):
    assert SECRET not in repr(result)


def test_present_creates_node_sets_chap_and_logs_in(harness, sysfs, args):
    sysfs.add_session(2, 1)
    result, failed = harness.run(iscsi_session.main, args, [
        replay(STEPS['node_show_missing']),
        replay(STEPS['session_none']),
        replay(STEPS['node_new_a']),
        UPDATE_NEW,
        replay(STEPS['login_a']),
        call(SESSIONS, stdout=ONE_SESSION),
    ])
    assert not failed, result
    assert result['changed'] and result['created_node'] and result['logged_in']
    assert (result['sid'], result['scsi_host'], result['portal']) == (1, 2, A)
    assert result['updated'][-1] == 'node.startup' and 'node.session.auth.password' in result['updated']
    assert harness.timeouts[4] == 5 * (2 + 1) + 15  # bounded login
    _no_secret(result)


def test_defaults_set_fast_failover_timing_and_bound_the_login(harness, sysfs, args):
    for name in CAPTURED_TIMING:
        del args[name]
    sysfs.add_session(2, 1)
    timing = {'node.session.timeo.replacement_timeout': '10', 'node.conn[0].timeo.noop_out_interval': '1',
              'node.conn[0].timeo.noop_out_timeout': '2', 'node.session.initial_login_retry_max': '1'}
    argv = list(UPDATE_NEW['argv'])
    for index in range(len(argv) - 2):
        if argv[index] == '-n' and argv[index + 1] in timing:
            argv[index + 3] = timing[argv[index + 1]]
    result, failed = harness.run(iscsi_session.main, args, [
        replay(STEPS['node_show_missing']),
        replay(STEPS['session_none']),
        replay(STEPS['node_new_a']),
        replay(UPDATE_NEW, argv=argv),
        replay(STEPS['login_a']),
        call(SESSIONS, stdout=ONE_SESSION),
    ])
    assert not failed, result
    assert harness.timeouts[4] == 5 * (1 + 1) + 15


def test_present_again_changes_nothing(harness, sysfs, args):
    sysfs.add_session(2, 1)
    result, failed = harness.run(iscsi_session.main, args, [
        call(NODE + ['-S'], stdout=SHOW_AUTOMATIC),
        call(SESSIONS, stdout=ONE_SESSION),
    ])
    assert not failed and not result['changed']
    assert not result['created_node'] and not result['logged_in'] and result['updated'] == []
    assert result['sid'] == 1


@pytest.mark.parametrize('existing, changed', [(None, True), (SHOW_AUTOMATIC, False)])
def test_check_mode_predicts_and_changes_nothing(harness, sysfs, args, existing, changed):
    sysfs.add_session(2, 1)
    calls = [replay(STEPS['node_show_missing']), replay(STEPS['session_none'])] if existing is None else [
        call(NODE + ['-S'], stdout=existing), call(SESSIONS, stdout=ONE_SESSION)]
    result, failed = harness.run(iscsi_session.main, args, calls, check_mode=True)
    assert not failed and result['changed'] is changed
    assert result['created_node'] is changed and result['logged_in'] is changed
    assert not os.path.exists(args['lock_dir'])  # not even the lock directory


def test_new_password_updates_only_the_password(harness, sysfs, args):
    sysfs.add_session(2, 1)
    args['auth']['password'] = 'new-secret-42'
    update = NODE + ['--op', 'update', '-n', 'node.session.auth.password', '-v', 'new-secret-42']
    result, failed = harness.run(iscsi_session.main, args, [
        call(NODE + ['-S'], stdout=SHOW_AUTOMATIC), call(SESSIONS, stdout=ONE_SESSION), call(update)])
    assert result['changed'] and result['updated'] == ['node.session.auth.password']
    assert 'new-secret-42' not in repr(result)


def test_mutual_chap_and_custom_timeouts(harness, sysfs, args):
    sysfs.add_session(2, 1)
    args['auth'].update(mutual_username='target', mutual_password='back-secret')
    args.update(replacement_timeout=5, login_timeout=3, login_retries=1, startup='manual')
    show = SHOW_AUTOMATIC.replace('timeout = 15', 'timeout = 5', 1)
    expected_update = NODE + ['--op', 'update',
                              '-n', 'node.conn[0].timeo.login_timeout', '-v', '3',
                              '-n', 'node.session.initial_login_retry_max', '-v', '1',
                              '-n', 'node.session.auth.username_in', '-v', 'target',
                              '-n', 'node.session.auth.password_in', '-v', 'back-secret']
    result, failed = harness.run(iscsi_session.main, args, [
        call(NODE + ['-S'], stdout=show), call(SESSIONS, stdout=ONE_SESSION), call(expected_update),
        call(NODE + ['--op', 'update', '-n', 'node.startup', '-v', 'manual'])])
    assert not failed and result['changed']
    assert 'back-secret' not in repr(result)


def test_login_exit_15_counts_as_success(harness, sysfs, args):
    sysfs.add_session(2, 1)
    result, failed = harness.run(iscsi_session.main, args, [
        replay(STEPS['node_show_missing']), replay(STEPS['session_none']), replay(STEPS['node_new_a']),
        UPDATE_NEW, replay(STEPS['login_again_a']), call(SESSIONS, stdout=ONE_SESSION)])
    assert not failed and result['changed'] and result['created_node'] and not result['logged_in']


@pytest.mark.parametrize('login_step, rc, message', [
    ('login_dead', 8, 'connection to the portal timed out'),
    ('login_badchap', 24, 'CHAP authentication failed'),
])
def test_failed_login_rolls_back_the_node_it_created(harness, sysfs, args, login_step, rc, message):
    result, failed = harness.run(iscsi_session.main, args, [
        replay(STEPS['node_show_missing']), replay(STEPS['session_none']), replay(STEPS['node_new_a']),
        UPDATE_NEW, call(NODE + ['--login'], STEPS[login_step]['rc'], STEPS[login_step]['stdout'],
                         STEPS[login_step]['stderr']),
        replay(STEPS['logout_again_a']), replay(STEPS['node_delete_a'])])
    assert failed and result['rc'] == rc and message in result['msg']
    assert result['cmd'] == NODE + ['--login'] and result['stderr'] == STEPS[login_step]['stderr']
    _no_secret(result)


def test_failed_login_keeps_a_node_it_did_not_create(harness, sysfs, args):
    result, failed = harness.run(iscsi_session.main, args, [
        call(NODE + ['-S'], stdout=SHOW_AUTOMATIC), replay(STEPS['session_none']),
        call(NODE + ['--login'], 8, '', STEPS['login_dead']['stderr'])])
    assert failed and result['rc'] == 8


def test_login_killed_by_the_timeout(harness, sysfs, args):
    result, failed = harness.run(iscsi_session.main, args, [
        replay(STEPS['node_show_missing']), replay(STEPS['session_none']), replay(STEPS['node_new_a']),
        UPDATE_NEW, call(NODE + ['--login'], 124), replay(STEPS['logout_again_a']),
        replay(STEPS['node_delete_a'])])
    assert failed and result['rc'] == 124 and 'timed out after 30 s' in result['msg']


def test_iscsid_down(harness, sysfs, args):
    result, failed = harness.run(iscsi_session.main, args, [
        call(NODE + ['-S'], 20, '', STEPS['iscsid_down']['stderr'])])
    assert failed and 'cannot connect to iscsid' in result['msg'] and result['rc'] == 20


@pytest.mark.parametrize('changes, message', [
    ({'portal': '192.0.2.1'}, "portal '192.0.2.1' has no port"),
    ({'portal': 'fe80::1:3260'}, 'brackets'),
    ({'iqn': 'volume 1'}, "iqn 'volume 1' holds white space"),
    ({'login_timeout': 0}, 'login_timeout must be positive'),
    ({'replacement_timeout': -1}, 'replacement_timeout must be 0 or more'),
    ({'state': 'absent'}, 'lun is required with state=absent'),
    ({'state': 'absent', 'lun': 32768}, 'lun 32768 is out of range 0..32767'),
])
def test_bad_input_fails_before_any_command(harness, args, changes, message):
    args.update(changes)
    result, failed = harness.run(iscsi_session.main, args, [])
    assert failed and message in result['msg']


def _absent_args(args, **extra):
    args = dict(args, state='absent', lun=1)
    args.pop('auth')
    args.update(extra)
    return args


def test_absent_logs_out_and_deletes(harness, sysfs, args):
    sysfs.add_session(2, 1)
    result, failed = harness.run(iscsi_session.main, _absent_args(args), [
        call(SESSIONS, stdout=ONE_SESSION), call(NODE + ['-S'], stdout=SHOW_AUTOMATIC),
        replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])])
    assert not failed and result['changed'] and result['logged_out'] and result['deleted_node']


def test_absent_again_changes_nothing(harness, sysfs, args):
    result, failed = harness.run(iscsi_session.main, _absent_args(args), [
        replay(STEPS['session_none']), replay(STEPS['node_show_missing'])])
    assert not failed and not result['changed']


def test_absent_check_mode(harness, sysfs, args):
    sysfs.add_session(2, 1)
    result, failed = harness.run(iscsi_session.main, _absent_args(args), [
        call(SESSIONS, stdout=ONE_SESSION), call(NODE + ['-S'], stdout=SHOW_AUTOMATIC)], check_mode=True)
    assert result['changed'] and result['logged_out'] and result['deleted_node']


def test_absent_keeps_a_session_another_lun_uses(harness, sysfs, args):
    sysfs.add_session(2, 1)
    sysfs.add_device(2, 1, 2, 'sdc', 'naa.60000000000000000e00000000010002', 32 << 20)
    result, failed = harness.run(iscsi_session.main, _absent_args(args), [
        call(SESSIONS, stdout=ONE_SESSION), call(NODE + ['-S'], stdout=SHOW_AUTOMATIC)])
    assert not failed and not result['changed'] and result['in_use_luns'] == [2] and result['sid'] == 1


def test_absent_force_logs_out_anyway(harness, sysfs, args):
    sysfs.add_session(2, 1)
    sysfs.add_device(2, 1, 2, 'sdc', 'naa.60000000000000000e00000000010002', 32 << 20)
    result, failed = harness.run(iscsi_session.main, _absent_args(args, force=True), [
        call(SESSIONS, stdout=ONE_SESSION), call(NODE + ['-S'], stdout=SHOW_AUTOMATIC),
        replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])])
    assert result['changed'] and result['in_use_luns'] == [2]


def test_absent_refuses_while_the_lun_still_has_a_device(harness, sysfs, args):
    sysfs.add_session(2, 1)
    sysfs.add_device(2, 1, 1, 'sda', 'naa.60000000000000000e00000000010001', 64 << 20)
    result, failed = harness.run(iscsi_session.main, _absent_args(args), [
        call(SESSIONS, stdout=ONE_SESSION), call(NODE + ['-S'], stdout=SHOW_AUTOMATIC)])
    assert failed and 'LUN 1 still has /dev/sda' in result['msg']


def test_desired_settings_without_auth_sets_none():
    params = dict(scan='manual', replacement_timeout=15, noop_out_interval=5, noop_out_timeout=10, login_timeout=5,
                  login_retries=2, auth=None)
    assert _session.desired_settings(params)[-1] == ('node.session.auth.authmethod', 'None')
