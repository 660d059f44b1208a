# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import socket

import pytest

from ansible.module_utils import basic

from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_connector
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.module_utils import test_connector_ip as ip_out
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call

TIMEOUT = ['/usr/sbin/timeout', '--kill-after=5', '10']
STATUS = ['/usr/sbin/multipathd', 'show', 'status']
IP = '/usr/sbin/ip'
SHOW_DEFAULT = [IP, '-o', 'route', 'show', 'default']
SHOW_DEFAULT_V6 = [IP, '-o', '-6', 'route', 'show', 'default']
SHOW_GLOBAL = [IP, '-o', 'addr', 'show', 'scope', 'global']
# ip -o route get fd00::1, on the host whose other outputs are ip_out.DEFAULT_V6 and ip_out.ADDRESSES
GET_V6_GATEWAY = 'fd00::1 from :: dev eth0 proto kernel src fd00::2 metric 256 pref medium\n'
# Debian 12 open-iscsi writes this file on install (comment lines kept as shipped)
INITIATOR_FILE = """## DO NOT EDIT OR REMOVE THIS FILE!
## If you remove this file, the iSCSI daemon will not start.
## If you change the InitiatorName, existing access control lists
## may reject this initiator.  The InitiatorName must be unique
## for each iSCSI initiator.  Do NOT duplicate iSCSI InitiatorNames.
InitiatorName=iqn.1993-08.org.debian:01:3f1a2b3c4d5e
"""


def route_get(address):
    return [IP, '-o', 'route', 'get', address]


@pytest.fixture(autouse=True)
def no_name_lookup(monkeypatch):
    """The connector ip never comes from the host name (127.0.1.1 on Debian)."""
    def refuse(*args):
        raise AssertionError('name lookup %r' % (args,))
    monkeypatch.setattr(socket, 'gethostbyname', refuse)
    monkeypatch.setattr(socket, 'getaddrinfo', refuse)


@pytest.fixture
def initiator_file(tmp_path):
    path = tmp_path / 'initiatorname.iscsi'
    path.write_text(INITIATOR_FILE)
    return str(path)


def test_connector_with_multipathd(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {
        'initiator_file': initiator_file, 'ip': '192.0.2.10', 'host': 'compute-1'},
        [call(STATUS, stdout='path checker states:\nup                  2\n\npaths: 2\nbusy: False\n')])
    assert not failed and not result['changed']
    assert result['connector'] == {
        'initiator': 'iqn.1993-08.org.debian:01:3f1a2b3c4d5e', 'ip': '192.0.2.10', 'host': 'compute-1',
        'multipath': True, 'enforce_multipath': False, 'platform': result['connector']['platform'],
        'os_type': 'linux', 'do_local_attach': False}
    assert harness.timeouts == [10]


def test_multipathd_down_warns_and_reports_false(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': initiator_file, 'ip': '192.0.2.10'},
                                 [call(STATUS, rc=1, stderr="ux_socket_connect: No such file or directory\n")])
    assert not failed
    assert result['connector']['multipath'] is False
    assert result['multipathd_running'] is False


def test_old_multipathd_error_receiving_packet_means_down(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': initiator_file, 'ip': '192.0.2.10'},
                                 [call(STATUS, stdout='error receiving packet\n')])
    assert result['connector']['multipath'] is False


def test_enforce_multipath_fails_when_multipathd_down(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {
        'initiator_file': initiator_file, 'ip': '192.0.2.10', 'enforce_multipath': True},
        [call(STATUS, rc=1)])
    assert failed and 'enforce_multipath' in result['msg']


def test_multipath_false_still_probes_but_reports_false(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {
        'initiator_file': initiator_file, 'ip': '192.0.2.10', 'multipath': False}, [call(STATUS)])
    assert result['connector']['multipath'] is False and result['multipathd_running'] is True


def test_check_mode_is_the_same(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': initiator_file, 'ip': '192.0.2.10'},
                                 [call(STATUS)], check_mode=True)
    assert not failed and not result['changed'] and result['connector']['multipath']


def test_missing_initiator_file(harness, tmp_path):
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': str(tmp_path / 'nope')}, [])
    assert failed and 'cannot read' in result['msg'] and 'open-iscsi' in result['msg']


@pytest.mark.parametrize('text, message', [
    ('# only comments\n', 'no InitiatorName= line'),
    ('InitiatorName=\n', "InitiatorName '' is not an iSCSI name"),
    ('InitiatorName=my host\n', 'is not an iSCSI name'),
    ('InitiatorName=iqn.2000-01.a:b\nInitiatorName=iqn.2000-01.a:c\n', 'has 2 InitiatorName= lines'),
])
def test_malformed_initiator_file(harness, tmp_path, text, message):
    path = tmp_path / 'initiatorname.iscsi'
    path.write_text(text)
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': str(path)}, [])
    assert failed and message in result['msg'] and str(path) in result['msg']


def test_parse_initiator_name_ignores_other_keys():
    text = 'InitiatorAlias=node1\n  InitiatorName = iqn.2000-01.example:node1  \n'
    assert iscsi_connector.parse_initiator_name(text, 'f') == 'iqn.2000-01.example:node1'


def connector_ip(harness, initiator_file, calls, check_mode=False, **args):
    """(result, failed) of a run that ends with the multipathd probe unless it failed first."""
    args['initiator_file'] = initiator_file
    return harness.run(iscsi_connector.main, args, calls, check_mode=check_mode)


def test_ip_given_runs_no_ip_command(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [call(STATUS)], ip='192.0.2.10',
                                  portals=['198.51.100.1:3260'])
    assert not failed and result['connector']['ip'] == '192.0.2.10'
    assert harness.made == [STATUS]


def test_ip_from_the_route_to_the_first_portal(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(route_get('192.0.2.1'), stdout=ip_out.GET_V4_ON_LINK),
        call(STATUS)], portals=['192.0.2.1:3260', '198.51.100.1:3260'])
    assert not failed and result['connector']['ip'] == '192.0.2.2'
    assert harness.made == [route_get('192.0.2.1'), STATUS]
    assert harness.timeouts == [10, 10]


def test_ip_from_the_first_portal_with_a_route(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(route_get('198.51.100.1'), rc=2, stderr=ip_out.NETWORK_UNREACHABLE),
        call(route_get('127.0.0.1'), stdout=ip_out.GET_V4_LOOPBACK),  # never a loopback source
        call(route_get('2001:db8::1'), stdout=ip_out.GET_V6_VIA),
        call(STATUS)], portals=['198.51.100.1:3260', '127.0.0.1:3260', '[2001:db8::1]:3260', '192.0.2.1:3260'])
    assert not failed and result['connector']['ip'] == 'fd00::2'
    assert harness.made == [route_get('198.51.100.1'), route_get('127.0.0.1'), route_get('2001:db8::1'), STATUS]


def test_no_portal_routed_warns_naming_every_command_and_uses_the_default_route(harness, initiator_file, monkeypatch):
    """A storage network down at a re-run: the connector still gets this host's address."""
    warned = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: warned.append(text))
    result, failed = connector_ip(harness, initiator_file, [
        call(route_get('198.51.100.1'), rc=2, stderr=ip_out.NETWORK_UNREACHABLE),
        call(route_get('10.9.1.1'), rc=2, stderr=ip_out.NO_ROUTE_TO_HOST),
        call(SHOW_DEFAULT, stdout=ip_out.DEFAULT_V4_SRC), call(STATUS)],
        portals=['198.51.100.1:3260', '10.9.1.1:3260'])
    assert not failed and result['connector']['ip'] == '203.0.113.9'
    assert warned == [
        'no route from this host to any portal gives a source address: '
        '`/usr/sbin/ip -o route get 198.51.100.1` failed (rc=2): RTNETLINK answers: Network is unreachable; '
        '`/usr/sbin/ip -o route get 10.9.1.1` failed (rc=2): RTNETLINK answers: No route to host; '
        'using the address of the default route instead']


def test_portal_route_without_usable_source_and_no_host_address_fails(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(route_get('fe80::1'), stdout=ip_out.GET_V6_LINK_LOCAL),
        call(SHOW_DEFAULT), call(SHOW_DEFAULT_V6), call(SHOW_GLOBAL)], portals=['[fe80::1%eth0]:3260'])
    assert failed and result['msg'].startswith('cannot find the address of this host for the connector ip: '
                                               '`/usr/sbin/ip -o route get fe80::1` gave no usable source address')
    assert 'set the ip option' in result['msg']


@pytest.mark.parametrize('portal, message', [
    ('192.0.2.1', "portals[0] '192.0.2.1' has no port"),
    ('storage.example.com:3260', "'storage.example.com' is not an IP address"),
])
@pytest.mark.parametrize('ip', [None, '192.0.2.10'])
def test_malformed_portal_fails_before_any_command(harness, initiator_file, portal, message, ip):
    result, failed = connector_ip(harness, initiator_file, [], portals=[portal], ip=ip)
    assert failed and message in result['msg']
    assert harness.made == []


@pytest.mark.parametrize('portals', [None, []])
def test_ip_from_the_src_of_the_default_route(harness, initiator_file, portals):
    result, failed = connector_ip(harness, initiator_file, [
        call(SHOW_DEFAULT, stdout=ip_out.DEFAULT_V4_SRC),
        call(STATUS)], portals=portals)
    assert not failed and result['connector']['ip'] == '203.0.113.9'
    assert harness.made == [SHOW_DEFAULT, STATUS]


def test_ip_from_the_route_to_the_default_gateway(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(SHOW_DEFAULT, stdout=ip_out.DEFAULT_V4),
        call(route_get('192.0.2.1'), stdout=ip_out.GET_V4_ON_LINK),
        call(STATUS)], host='compute-1')
    assert not failed and result['connector']['ip'] == '192.0.2.2' and result['connector']['host'] == 'compute-1'
    assert harness.made == [SHOW_DEFAULT, route_get('192.0.2.1'), STATUS]
    assert harness.timeouts == [10, 10, 10]


def test_ip_from_the_lowest_metric_default_route(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(SHOW_DEFAULT, stdout=ip_out.DEFAULT_V4_METRICS),
        call(route_get('198.51.100.2'), stdout=ip_out.GET_V4_OWN_ADDRESS.replace('local ', '', 1)),
        call(STATUS)])
    assert not failed and result['connector']['ip'] == '198.51.100.7'


def test_ip_from_the_ipv6_default_route(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(SHOW_DEFAULT),
        call(SHOW_DEFAULT_V6, stdout=ip_out.DEFAULT_V6),
        call(route_get('fd00::1'), stdout=GET_V6_GATEWAY),
        call(STATUS)])
    assert not failed and result['connector']['ip'] == 'fd00::2'
    assert harness.made == [SHOW_DEFAULT, SHOW_DEFAULT_V6, route_get('fd00::1'), STATUS]


def test_ip_from_the_src_of_the_ipv6_default_route(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(SHOW_DEFAULT, stdout=ip_out.DEFAULT_V4_UNREACHABLE),
        call(SHOW_DEFAULT_V6, stdout=ip_out.DEFAULT_V6_SRC),
        call(STATUS)])
    assert not failed and result['connector']['ip'] == '2001:db8:6::7'


def test_ip_from_the_first_global_address(harness, initiator_file):
    """A default route without gateway, an unreachable gateway, a link-local source: the first global address."""
    result, failed = connector_ip(harness, initiator_file, [
        call(SHOW_DEFAULT, stdout=ip_out.DEFAULT_DEVICE_ONLY),
        call(SHOW_DEFAULT_V6, stdout=ip_out.DEFAULT_V6_LINK_LOCAL),
        call(route_get('fe80::1'), stdout=ip_out.GET_V6_LINK_LOCAL),
        call(SHOW_GLOBAL, stdout=ip_out.ADDRESSES),
        call(STATUS)])
    assert not failed and result['connector']['ip'] == '192.0.2.2'
    assert harness.made == [SHOW_DEFAULT, SHOW_DEFAULT_V6, route_get('fe80::1'), SHOW_GLOBAL, STATUS]


def test_ip_from_the_global_address_when_the_gateway_is_unreachable(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(SHOW_DEFAULT, stdout=ip_out.DEFAULT_V4),
        call(route_get('192.0.2.1'), rc=2, stderr=ip_out.NETWORK_UNREACHABLE),
        call(SHOW_DEFAULT_V6),
        call(SHOW_GLOBAL, stdout=ip_out.ADDRESSES_V6_TENTATIVE_FIRST),
        call(STATUS)])
    assert not failed and result['connector']['ip'] == '2001:db8:6::7'


def test_no_address_fails_asking_for_ip(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(SHOW_DEFAULT, rc=1, stderr='Error: ipv4: FIB table does not exist.\nDump terminated\n'),
        call(SHOW_DEFAULT_V6),
        call(SHOW_GLOBAL)])
    assert failed
    assert result['msg'] == (
        'cannot find the address of this host for the connector ip: '
        '`/usr/sbin/ip -o route show default` failed (rc=1): Error: ipv4: FIB table does not exist.\n'
        'Dump terminated; '
        '`/usr/sbin/ip -o -6 route show default` listed no default route; '
        '`/usr/sbin/ip -o addr show scope global` listed no usable address; '
        'set the ip option to the address of this host on the storage network')
    assert (result['cmd'], result['rc']) == (SHOW_GLOBAL, 0)


def test_only_loopback_addresses_fail(harness, initiator_file):
    """A host whose only default route is on lo and whose global addresses are loopback: never 127.x."""
    result, failed = connector_ip(harness, initiator_file, [
        call(SHOW_DEFAULT, stdout='default via 127.0.0.2 dev lo src 127.0.1.1 \n'),
        call(route_get('127.0.0.2'), stdout='local 127.0.0.2 dev lo src 127.0.0.1 uid 0 \\    cache <local> \n'),
        call(SHOW_DEFAULT_V6),
        call(SHOW_GLOBAL, rc=1, stderr='boom\n')])
    assert failed and '`/usr/sbin/ip -o route get 127.0.0.2` gave no usable source address' in result['msg']
    assert '`/usr/sbin/ip -o addr show scope global` failed (rc=1): boom; set the ip option' in result['msg']
    assert (result['cmd'], result['rc'], result['stderr']) == (SHOW_GLOBAL, 1, 'boom\n')


def test_check_mode_looks_the_ip_up_too(harness, initiator_file):
    result, failed = connector_ip(harness, initiator_file, [
        call(route_get('192.0.2.1'), stdout=ip_out.GET_V4_ON_LINK),
        call(STATUS)], check_mode=True, portals=['192.0.2.1:3260'])
    assert not failed and not result['changed'] and result['connector']['ip'] == '192.0.2.2'
