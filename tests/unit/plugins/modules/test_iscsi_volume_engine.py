# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What iscsi_volume does around the logins for the roles: discovery, each portal's iface, the attach records."""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._volume import shared_wwid
from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_volume
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.test_iscsi_volume import (  # noqa: F401  # pylint: disable=unused-import
    A, B, FLUSH, IQN, MAPS, NODE, SECRET, SESSIONS, SIZE, STEPS, SYSFS_WWID, TARGETS, TWO_SESSIONS, WWID, _attach_steps,
    NODES_NONE, _login_lane, _pend, _update_new, args, hosts, warnings)
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call, parallel, replay, with_path_states

VOLUME_ID = '5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10'
ADM = '/usr/sbin/iscsiadm'
IP = '/usr/sbin/ip'
# A LIO target announces every portal of its portal group (tgt only the one asked: discovery_a, real)
BOTH_PORTALS = '%s,1 %s\n%s,1 %s\n' % (A, IQN, B, IQN)
LOOKUP_A = [ADM, '-m', 'discovery', '-t', 'sendtargets', '-I', 'default', '-p', A, '--op', 'nonpersistent']
# real, lab guest 2026-11-25 (network A on eth1, B on eth2)
LINKS = ('lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP> \n'
         'eth1             UP             52:54:00:00:0a:0a <BROADCAST,MULTICAST,UP,LOWER_UP> \n'
         'eth2             UP             52:54:00:00:0b:0a <BROADCAST,MULTICAST,UP,LOWER_UP> \n')
ROUTE = {A: '192.0.2.1 dev eth1 src 192.0.2.10 uid 0 \\    cache \n',
         B: '198.51.100.1 dev eth2 src 198.51.100.10 uid 0 \\    cache \n'}


def _volume(args, tmp_path, targets=None, **extra):
    del args['targets']
    args.update(volumes=[dict({'volume_id': VOLUME_ID, 'attachment_id': 'att-1', 'targets': targets or TARGETS,
                               'size_bytes': SIZE}, **extra)],
                record_dir=str(tmp_path / 'records'))


def _record(args):
    with open(os.path.join(args['record_dir'], VOLUME_ID + '.json')) as handle:
        return json.load(handle)


def test_one_portal_is_discovered_and_both_paths_log_in(harness, hosts, args, tmp_path):
    _pend(hosts)
    _volume(args, tmp_path, targets=TARGETS[:1])
    args['discovery'] = True
    result, failed = harness.run(iscsi_volume.main, args, [call(LOOKUP_A, stdout=BOTH_PORTALS)]
                                 + _attach_steps(hosts) + [MAPS])
    assert not failed, result
    volume = result['volumes'][0]
    assert volume['targets'] == TARGETS and volume['discovery'] == {'portal': A, 'added': TARGETS[1:]}
    assert [p['dev'] for p in volume['paths']] == ['sda', 'sdb']
    assert not [argv for argv in harness.made if argv[1:3] == ['-m', 'node'] and '--op' in argv
                and argv[argv.index('--op') + 1] == 'delete']  # discovery made no record to clean up


def test_discovery_chap_is_set_on_the_discovery_record_and_never_shown(harness, hosts, args, tmp_path):
    _pend(hosts)
    secret = 'disc$HOME-secret'
    _volume(args, tmp_path, targets=TARGETS[:1], discovery_auth={'username': 'discoverer', 'password': secret})
    args['discovery'] = True
    base = [ADM, '-m', 'discoverydb', '-t', 'sendtargets', '-I', 'default', '-p', A]
    update = base + ['--op', 'update', '-n', 'discovery.sendtargets.auth.authmethod', '-v', 'CHAP',
                     '-n', 'discovery.sendtargets.auth.username', '-v', 'discoverer',
                     '-n', 'discovery.sendtargets.auth.password', '-v', secret]
    result, failed = harness.run(iscsi_volume.main, args, [
        call(update), call(base + ['--discover', '--op', 'nonpersistent'], stdout=BOTH_PORTALS)]
        + _attach_steps(hosts) + [MAPS])
    assert not failed, result
    assert result['volumes'][0]['discovery']['added'] == TARGETS[1:] and secret not in json.dumps(result)


def test_discovery_auth_other_than_chap_is_refused_before_any_command(harness, args, tmp_path):
    _volume(args, tmp_path, targets=TARGETS[:1], discovery_auth={'username': 'u', 'password': 'p', 'mutual_password': 'm'})
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and result['msg'] == 'discovery_auth takes username, password and method CHAP (unknown: mutual_password)'


def test_a_failed_discovery_warns_and_attaches_the_portal_cinder_gave(harness, hosts, args, tmp_path, warnings):
    hosts.pend_device(0, 5, 1, 'sda', 'naa.60000000000000000000000000000001', SIZE)
    _volume(args, tmp_path, targets=TARGETS[:1])
    args['discovery'] = True
    dead = STEPS['discovery_dead']
    one_map = MAPS['stdout']
    maps = json.loads(one_map)
    maps['maps'][0]['path_groups'][0]['paths'] = maps['maps'][0]['path_groups'][0]['paths'][:1]
    result, failed = harness.run(iscsi_volume.main, args, [
        call(LOOKUP_A, dead['rc'], dead['stdout'], dead['stderr']),
        replay(STEPS['session_none']), NODES_NONE, *_login_lane(A, 'a'), call(SESSIONS, stdout='tcp: [5] %s,1 %s (non-flash)\n' % (A, IQN)),
        replay(STEPS['multipath_a']),
        replay(STEPS['add_path_sda'], effect=lambda: hosts.add_map('dm-0', WWID, WWID, ['sda'])),
        call(MAPS['argv'], stdout=json.dumps(maps))])
    assert not failed, result
    assert result['volumes'][0]['discovery']['added'] == [] and 'the portal did not answer' in warnings[0]


def test_min_paths_after_a_failed_discovery_fails_before_any_login(harness, args, tmp_path, warnings):
    _volume(args, tmp_path, targets=TARGETS[:1])
    args.update(discovery=True, min_paths=2)
    dead = STEPS['discovery_dead']
    result, failed = harness.run(iscsi_volume.main, args, [call(LOOKUP_A, dead['rc'], dead['stdout'], dead['stderr'])])
    assert failed and result['msg'].startswith(
        'min_paths is 2 but only 1 targets are given, discovery on %s failed: ' % A), result
    assert 'the portal did not answer' in warnings[0]


def test_min_paths_after_a_discovery_that_found_no_other_portal(harness, args, tmp_path):
    _volume(args, tmp_path, targets=TARGETS[:1])
    args.update(discovery=True, min_paths=2)
    result, failed = harness.run(iscsi_volume.main, args, [call(LOOKUP_A, stdout='%s,1 %s\n' % (A, IQN))])
    assert failed and result['msg'] == (
        'min_paths is 2 but only 1 targets are given, discovery on %s announced no other portal of %s' % (A, IQN))


def test_each_portal_logs_in_through_the_iface_of_its_network(harness, hosts, args, tmp_path):
    _pend(hosts)
    args['ifaces'] = [{'name': 'iface-a', 'netdev': 'eth1'}, {'name': 'iface-b', 'hwaddress': '52:54:00:00:0B:0A'}]

    def lane(portal, name, iface):
        new = STEPS['node_new_' + name]['argv']
        steps = _login_lane(portal, name)
        steps[0] = call(new[:new.index('--interface') + 1] + [iface] + new[new.index('--interface') + 2:])
        return steps
    result, failed = harness.run(iscsi_volume.main, args, [
        call([IP, '-br', 'link', 'show'], stdout=LINKS),
        call([IP, '-o', 'route', 'get', '192.0.2.1'], stdout=ROUTE[A]),
        call([IP, '-o', 'route', 'get', '198.51.100.1'], stdout=ROUTE[B]),
        replay(STEPS['session_none']), NODES_NONE, parallel(lane(A, 'a', 'iface-a'), lane(B, 'b', 'iface-b'))]
        + _attach_steps(hosts)[3:] + [MAPS])
    assert not failed, result
    assert 'discovery_s' in result['elapsed']


def test_an_iface_bound_to_nothing_is_refused_before_any_command(harness, args):
    args['ifaces'] = [{'name': 'iface-a'}]
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and result['msg'] == 'ifaces[0] (iface-a) gives neither netdev nor hwaddress'


def test_the_attach_writes_a_private_record_without_secrets(harness, hosts, args, tmp_path):
    _pend(hosts)
    _volume(args, tmp_path)
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [MAPS])
    assert not failed, result
    record = _record(args)
    assert record == {'version': 2, 'volume_id': VOLUME_ID, 'attachment_id': 'att-1', 'wwid': WWID,
                      'device': '/dev/mapper/' + WWID, 'size_bytes': SIZE, 'targets': TARGETS,
                      'own_sessions': TARGETS, 'own_nodes': TARGETS}
    assert stat.S_IMODE(os.stat(args['record_dir']).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(args['record_dir'], VOLUME_ID + '.json')).st_mode) == 0o600
    assert os.listdir(args['record_dir']) == [VOLUME_ID + '.json']  # no temporary file left
    assert SECRET not in json.dumps(record)


def test_a_rerun_keeps_what_the_first_attach_opened(harness, hosts, args, tmp_path):
    _pend(hosts)
    _volume(args, tmp_path)
    os.mkdir(args['record_dir'], 0o700)
    earlier = {'version': 1, 'volume_id': VOLUME_ID, 'attachment_id': 'att-1', 'wwid': WWID, 'targets': TARGETS,
               'own_sessions': TARGETS, 'own_nodes': TARGETS[:1]}
    with open(os.path.join(args['record_dir'], VOLUME_ID + '.json'), 'w') as handle:
        json.dump(earlier, handle)
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [MAPS])
    assert not failed, result
    assert _record(args)['own_nodes'] == TARGETS and _record(args)['own_sessions'] == TARGETS


def test_the_wwid_of_the_earlier_record_is_required(harness, hosts, args, tmp_path):
    """A record says which volume was attached: another WWID at its LUNs now is refused and rolled back."""
    _pend(hosts)
    _volume(args, tmp_path)
    os.mkdir(args['record_dir'], 0o700)
    other = '360000000000000000000000000000099'
    with open(os.path.join(args['record_dir'], VOLUME_ID + '.json'), 'w') as handle:
        json.dump({'version': 1, 'volume_id': VOLUME_ID, 'wwid': other, 'targets': TARGETS}, handle)
    steps = _attach_steps(hosts)
    result, failed = harness.run(iscsi_volume.main, args, steps[:3] + [
        parallel([call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])],
                 [call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_b']), replay(STEPS['node_delete_b'])])])
    assert failed and 'not the expected %s' % other in result['msg'], result
    assert result['left_behind'] == [] and _record(args)['wwid'] == other


def test_a_record_that_cannot_be_written_rolls_the_attach_back(harness, hosts, args, tmp_path):
    _pend(hosts)
    _volume(args, tmp_path)
    (tmp_path / 'records').write_text('a file where the directory should be')
    args['record_dir'] = str(tmp_path / 'records' / 'attachments')
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [
        MAPS, call(FLUSH['argv'], effect=lambda: hosts.remove_map('dm-0')),
        parallel([call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_a']), replay(STEPS['node_delete_a'])],
                 [call(SESSIONS, stdout=STEPS['session_two']['stdout'], effect=hosts.kernel),
                  replay(STEPS['logout_b']), replay(STEPS['node_delete_b'])])])
    assert failed and result['msg'].startswith('cannot create %s' % args['record_dir']), result
    assert result['left_behind'] == [] and not hosts.exists('sys/block/dm-0') and not hosts.exists('sys/block/sda')


def test_a_symlinked_record_directory_is_refused_before_any_command(harness, args, tmp_path):
    _volume(args, tmp_path)
    os.mkdir(str(tmp_path / 'elsewhere'), 0o700)
    os.symlink(str(tmp_path / 'elsewhere'), args['record_dir'])
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and 'is not a directory only its owner can write' in result['msg'], result


def test_check_mode_writes_no_record(harness, hosts, args, tmp_path):
    _volume(args, tmp_path, targets=TARGETS[:1])
    args['discovery'] = True  # and runs no discovery
    result, failed = harness.run(iscsi_volume.main, args, [
        replay(STEPS['session_none']), NODES_NONE], check_mode=True)
    assert not failed and result['changed'] and not os.path.exists(args['record_dir'])


def test_a_map_the_rollback_cannot_remove_is_left_behind_with_its_sessions(harness, hosts, args, tmp_path, warnings):
    """The role keeps the Cinder attachment of such a volume: the backend would unmap the LUN under the map."""
    _pend(hosts)
    _volume(args, tmp_path)
    args['map_timeout'] = 1
    not_usable = call(MAPS['argv'], stdout=with_path_states(MAPS['stdout'], dm_st='failed', chk_st='faulty'))
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [not_usable] * 5 + [
        call(FLUSH['argv'], rc=1, stderr='%s: map in use\n' % WWID),
        TWO_SESSIONS, TWO_SESSIONS])  # each undo lists the sessions: devices keep both, nothing is logged out
    assert failed and 'has no usable path' in result['msg'], result
    assert result['left_behind'] == [{'volume_id': VOLUME_ID, 'devices': ['map %s (dm-0)' % WWID, 'sda', 'sdb']}]
    assert hosts.exists('sys/block/dm-0') and not os.path.exists(args['record_dir'])
    assert any('could not remove the map' in warning for warning in warnings)


def test_two_volumes_of_one_call_with_one_wwid_are_refused():
    """Found in the lab: a tgt target whose two LUNs had the same scsi_id gave one map with all four paths."""
    assert shared_wwid([{'wwid': WWID}, {'wwid': WWID + '2'}]) == []
    (index, error), = shared_wwid([{'wwid': WWID}, {'wwid': WWID + '2'}, {'wwid': WWID}])
    assert index == 2 and error.msg == (
        'volumes[0] and volumes[2] show the same WWID %s: one volume at two LUNs, or a target that gives two LUNs '
        'one identity; refused' % WWID)


def test_a_new_device_whose_wwid_cannot_be_read_yet_is_rescanned_once(harness, hosts, args):
    """Lab, a 2-core host at load 4: a freshly scanned device without a readable WWID failed the soak."""
    hosts.pend_device(0, 5, 1, 'sda', '', SIZE)
    hosts.reuse_lun('sda', SYSFS_WWID, SIZE)  # what the kernel reads on the device's rescan
    hosts.pend_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    result, failed = harness.run(iscsi_volume.main, args, _attach_steps(hosts) + [MAPS])
    assert not failed, result
    assert result['wwid'] == WWID and hosts.read('sys/block/sda/device/rescan') == '1'
