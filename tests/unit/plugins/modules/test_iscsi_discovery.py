# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _discovery
from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_discovery
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call, replay, replay_steps

STEPS = replay_steps()
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
OTHER = 'iqn.2010-10.org.openstack:volume-other'
A = '192.0.2.1:3260'
ADM = '/usr/sbin/iscsiadm'
LIST = [ADM, '-m', 'node']
FOUND = [{'portal': A, 'iqn': IQN, 'tpgt': 1}]
DISCOVERY = STEPS['discovery_a']['argv'] + ['--op', 'new']  # captured without it; the output is the same


def discovered():
    return call(DISCOVERY, stdout=STEPS['discovery_a']['stdout'])


def locked(tmp_path, **extra):
    return dict({'portal': A, 'lock_dir': str(tmp_path / 'locks')}, **extra)


def test_discovery_only_adds_new_records(harness, tmp_path):
    """--op new: the record of another volume on the portal (its CHAP, its node.startup) is never rewritten."""
    result, failed = harness.run(iscsi_discovery.main, locked(tmp_path), [
        call(LIST, stdout='192.0.2.1:3260,1 %s\n' % OTHER),
        discovered(),
        call(LIST, stdout='192.0.2.1:3260,1 %s\n192.0.2.1:3260,1 %s\n' % (OTHER, IQN)),
    ])
    assert not failed and result['changed']
    assert result['targets'] == FOUND and result['created'] == FOUND
    assert os.path.exists(tmp_path / 'locks' / 'iscsi-192.0.2.1_3260-sendtargets.lock')


def test_discovery_again_is_unchanged(harness, tmp_path):
    listing = '192.0.2.1:3260,1 %s\n' % IQN
    result, failed = harness.run(iscsi_discovery.main, locked(tmp_path), [
        call(LIST, stdout=listing), discovered(), call(LIST, stdout=listing)])
    assert not failed and not result['changed'] and result['targets'] == FOUND


def test_check_mode_predicts_from_cached_records(harness):
    result, failed = harness.run(iscsi_discovery.main, {'portal': A}, [replay(STEPS['node_list_none'])],
                                 check_mode=True)
    assert result['changed'] and result['targets'] == []
    result, failed = harness.run(iscsi_discovery.main, {'portal': A}, [
        call(LIST, stdout='192.0.2.1:3260,1 %s\n198.51.100.1:3260,1 %s\n' % (IQN, IQN))], check_mode=True)
    assert not result['changed'] and result['targets'] == FOUND


def test_discovery_chap_masks_the_secret(harness, tmp_path):
    secret = 'hmsecret-0001'
    update = STEPS['discoverydb_update_missing']['argv']
    base = [ADM, '-m', 'discoverydb', '-t', 'sendtargets', '-I', 'default', '-p', A]
    result, failed = harness.run(iscsi_discovery.main, locked(tmp_path, auth={'username': 'hmuser', 'password': secret}), [
        replay(STEPS['node_list_none']),
        replay(STEPS['discoverydb_update_missing']), call(base + ['--op', 'new']), call(update),
        call(base + ['--discover', '--op', 'new'], 24, '', 'iscsiadm: Login failed to authenticate with target\n'
             'iscsiadm: discovery login to 192.0.2.1 rejected: initiator error (02/01), non-retryable, giving up\n')])
    assert failed and result['rc'] == 24 and 'CHAP authentication failed' in result['msg']
    assert secret not in repr(result)


def test_dead_portal_fails_with_iscsiadm_error(harness, tmp_path):
    dead = '203.0.113.1:3260'
    step = STEPS['discovery_dead']
    result, failed = harness.run(iscsi_discovery.main, locked(tmp_path, portal=dead, timeout=20), [
        replay(STEPS['node_list_none']),
        call(step['argv'] + ['--op', 'new'], step['rc'], step['stdout'], step['stderr'])])
    assert failed and result['rc'] == 11 and 'No route to host' in result['stderr']
    assert harness.timeouts == [20, 20]


def test_planted_lock_dir_is_refused_before_any_command(harness, tmp_path):
    (tmp_path / 'elsewhere').mkdir()
    (tmp_path / 'locks').symlink_to(tmp_path / 'elsewhere')
    result, failed = harness.run(iscsi_discovery.main, locked(tmp_path), [])
    assert failed and 'lock' in result['msg']


def test_bad_portal(harness):
    result, failed = harness.run(iscsi_discovery.main, {'portal': 'storage.example'}, [])
    assert failed and "portal 'storage.example' has no port" in result['msg']


def test_pure_helpers():
    before = [{'portal': A, 'iqn': IQN, 'tpgt': 1}]
    after = before + [{'portal': A, 'iqn': OTHER, 'tpgt': 1}]
    assert _discovery.new_records(before, after) == [{'portal': A, 'iqn': OTHER, 'tpgt': 1}]


def test_records_of_other_targets_without_a_session_are_deleted_never_logged_out(harness, tmp_path):
    """The portal announced IQN and OTHER; OTHER got a session meanwhile (another tool): only records are deleted."""
    third = 'iqn.2010-10.org.openstack:volume-third'
    announced = '192.0.2.1:3260,1 %s\n192.0.2.1:3260,1 %s\n192.0.2.1:3260,1 %s\n' % (IQN, OTHER, third)
    other_session = 'tcp: [7] 192.0.2.1:3260,1 %s (non-flash)\n' % OTHER
    result, failed = harness.run(iscsi_discovery.main, locked(tmp_path, iqn=IQN), [
        replay(STEPS['node_list_none']),
        call(DISCOVERY, stdout=announced),
        call(LIST, stdout=announced),
        call([ADM, '-m', 'session'], stdout=other_session),
        call([ADM, '-m', 'node', '-T', third, '-p', A, '--op', 'delete']),
    ])
    assert not failed and result['changed']
    assert result['created'] == [{'portal': A, 'iqn': IQN, 'tpgt': 1}, {'portal': A, 'iqn': OTHER, 'tpgt': 1}]
    assert result['deleted'] == [{'portal': A, 'iqn': third, 'tpgt': 1}]
    assert len(result['targets']) == 3


def test_bad_iqn_is_refused_before_any_command(harness, tmp_path):
    result, failed = harness.run(iscsi_discovery.main, locked(tmp_path, iqn='iqn.2010-10.org.openstack:x\n'), [])
    assert failed and result['msg'].startswith('iqn ') and 'control' in result['msg']
