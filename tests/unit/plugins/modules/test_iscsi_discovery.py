# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_discovery
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call, replay, replay_steps

STEPS = replay_steps()
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
OTHER = 'iqn.2010-10.org.openstack:volume-other'
A = '192.0.2.1:3260'
ADM = '/usr/sbin/iscsiadm'
SHOW_PORTAL = [ADM, '-m', 'node', '--op', 'show', '-p', A]
LIST = [ADM, '-m', 'node']
OTHER_AUTOMATIC = STEPS['node_show_a']['stdout'].replace(IQN, OTHER).replace('startup = manual', 'startup = automatic')
OTHER_RESET = STEPS['node_show_a']['stdout'].replace(IQN, OTHER)
FOUND = [{'portal': A, 'iqn': IQN, 'tpgt': 1}]


def test_discovery_creates_records_and_restores_node_startup(harness):
    result, failed = harness.run(iscsi_discovery.main, {'portal': A}, [
        call(LIST, stdout='192.0.2.1:3260,1 %s\n' % OTHER),
        call(SHOW_PORTAL, stdout=OTHER_AUTOMATIC),
        replay(STEPS['discovery_a']),
        call(SHOW_PORTAL, stdout=OTHER_RESET + STEPS['startup_by_iqn_a']['stdout']),
        call([ADM, '-m', 'node', '-T', OTHER, '-p', A, '--op', 'update', '-n', 'node.startup', '-v', 'automatic']),
        call(LIST, stdout='192.0.2.1:3260,1 %s\n192.0.2.1:3260,1 %s\n' % (OTHER, IQN)),
    ])
    assert not failed and result['changed']
    assert result['targets'] == FOUND and result['created'] == FOUND
    assert result['restored_startup'] == [OTHER]


def test_discovery_again_is_unchanged(harness):
    listing = '192.0.2.1:3260,1 %s\n' % IQN
    result, failed = harness.run(iscsi_discovery.main, {'portal': A}, [
        call(LIST, stdout=listing), replay(STEPS['startup_by_iqn_a']), replay(STEPS['discovery_a']),
        replay(STEPS['startup_by_iqn_a']), call(LIST, stdout=listing)])
    assert not failed and not result['changed'] and result['targets'] == FOUND


def test_check_mode_predicts_from_cached_records(harness):
    result, failed = harness.run(iscsi_discovery.main, {'portal': A}, [replay(STEPS['node_list_none'])],
                                 check_mode=True)
    assert result['changed'] and result['targets'] == []
    result, failed = harness.run(iscsi_discovery.main, {'portal': A}, [
        call(LIST, stdout='192.0.2.1:3260,1 %s\n198.51.100.1:3260,1 %s\n' % (IQN, IQN))], check_mode=True)
    assert not result['changed'] and result['targets'] == FOUND


def test_discovery_chap_masks_the_secret(harness):
    secret = 'hmsecret-0001'
    update = STEPS['discoverydb_update_missing']['argv']
    base = [ADM, '-m', 'discoverydb', '-t', 'sendtargets', '-I', 'default', '-p', A]
    result, failed = harness.run(iscsi_discovery.main, {
        'portal': A, 'auth': {'username': 'hmuser', 'password': secret}}, [
        replay(STEPS['node_list_none']), replay(STEPS['startup_by_iqn_none']),
        replay(STEPS['discoverydb_update_missing']), call(base + ['--op', 'new']), call(update),
        call(base + ['--discover'], 24, '', 'iscsiadm: Login failed to authenticate with target\n'
             'iscsiadm: discovery login to 192.0.2.1 rejected: initiator error (02/01), non-retryable, giving up\n')])
    assert failed and result['rc'] == 24 and 'CHAP authentication failed' in result['msg']
    assert secret not in repr(result)


def test_dead_portal_fails_with_iscsiadm_error(harness):
    dead = '203.0.113.1:3260'
    result, failed = harness.run(iscsi_discovery.main, {'portal': dead, 'timeout': 20}, [
        replay(STEPS['node_list_none']), call([ADM, '-m', 'node', '--op', 'show', '-p', dead], 21),
        replay(STEPS['discovery_dead'])])
    assert failed and result['rc'] == 11 and 'No route to host' in result['stderr']
    assert harness.timeouts == [20, 20, 20]


def test_bad_portal(harness):
    result, failed = harness.run(iscsi_discovery.main, {'portal': 'storage.example'}, [])
    assert failed and "portal 'storage.example' has no port" in result['msg']


def test_pure_helpers():
    assert iscsi_discovery.startup_to_restore({'a': 'automatic', 'b': 'manual', 'c': 'manual'},
                                              {'a': 'manual', 'b': 'manual'}) == {'a': 'automatic'}
    before = [{'portal': A, 'iqn': IQN, 'tpgt': 1}]
    after = before + [{'portal': A, 'iqn': OTHER, 'tpgt': 1}]
    assert iscsi_discovery.new_records(before, after) == [{'portal': A, 'iqn': OTHER, 'tpgt': 1}]
