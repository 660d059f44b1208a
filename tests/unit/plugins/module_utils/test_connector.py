# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_connector: what iscsi_connector asks the host (the exact argv of each command of each batch) and the connector
and records it builds from the answers, captured on Debian 12 (coreutils 9.1, iproute2 6.1.0, multipath-tools 0.9.4).
"""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _connector
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._connector import (
    ARGUMENT_SPEC, batch_outputs, batch_script, parse_initiator_name, read_connector)
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.module_utils import test_connector_ip as ip_out

INITIATOR_PATH = '/etc/iscsi/initiatorname.iscsi'
# Debian 12 open-iscsi writes this file on install (comment lines kept as shipped)
INITIATOR_FILE = """## DO NOT EDIT OR REMOVE THIS FILE!
## If you remove this file, the iSCSI daemon will not start.
## If you change the InitiatorName, existing access control lists
## may reject this initiator.  The InitiatorName must be unique
## for each iSCSI initiator.  Do NOT duplicate iSCSI InitiatorNames.
InitiatorName=iqn.1993-08.org.debian:01:3f1a2b3c4d5e
"""
CAT = ('cat', '--', INITIATOR_PATH)
UNAME = ('uname', '-n', '-m')
STATUS = ('multipathd', 'show', 'status')
SHOW_DEFAULT = ('ip', '-o', 'route', 'show', 'default')
SHOW_DEFAULT_V6 = ('ip', '-o', '-6', 'route', 'show', 'default')
SHOW_GLOBAL = ('ip', '-o', 'addr', 'show', 'scope', 'global')
HOST_LOOKUPS = [SHOW_DEFAULT, SHOW_DEFAULT_V6, SHOW_GLOBAL]
STATUS_UP = 'path checker states:\nup                  2\n\npaths: 2\nbusy: False\n'
RECORD_DIR = '/var/lib/cinder_local/attachments'
VOLUME = '0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11'
RECORD_PATH = RECORD_DIR + '/' + VOLUME + '.json'
RECORD = {'version': 1, 'volume_id': VOLUME, 'attachment_id': 'att-1', 'wwid': '360000000000000000e00000000010001',
          'device': '/dev/mapper/360000000000000000e00000000010001', 'size_bytes': 1073741824,
          'targets': [{'portal': '198.51.100.1:3260', 'iqn': 'iqn.2010-10.org.openstack:volume-1', 'lun': 1},
                      {'portal': '203.0.113.1:3260', 'iqn': 'iqn.2010-10.org.openstack:volume-1', 'lun': 1}],
          'own_sessions': [], 'own_nodes': []}
RECORD_COMMANDS = [('stat', '-c', '%F %a', '--', RECORD_DIR), ('stat', '-c', '%F', '--', RECORD_PATH),
                   ('cat', '--', RECORD_PATH)]
NO_FILE = "stat: cannot statx '%s': No such file or directory\n"


def route_get(address):
    return ('ip', '-o', 'route', 'get', address)


class Host:
    """Answers batches from a table {argv tuple: (rc, combined output)}; keeps each batch's argv lists."""

    def __init__(self, answers):
        self.answers = dict(answers)
        self.batches = []

    def run_batch(self, commands):
        self.batches.append([tuple(argv) for argv in commands])
        return dict((tuple(argv), self.answers[tuple(argv)]) for argv in commands)


def params(**given):
    values = dict((name, spec.get('default')) for name, spec in ARGUMENT_SPEC.items())
    values.update(given)
    return values


def base(**extra):
    answers = {CAT: (0, INITIATOR_FILE), UNAME: (0, 'compute-1 x86_64\n'), STATUS: (0, STATUS_UP),
               SHOW_DEFAULT: (0, ''), SHOW_DEFAULT_V6: (0, ''), SHOW_GLOBAL: (0, '')}
    answers.update(extra)
    return answers


@pytest.fixture(autouse=True)
def no_name_lookup(monkeypatch):
    """The connector ip never comes from the host name (127.0.1.1 on Debian)."""
    def refuse(*args):
        raise AssertionError('name lookup %r' % (args,))
    monkeypatch.setattr(socket, 'gethostbyname', refuse)
    monkeypatch.setattr(socket, 'getaddrinfo', refuse)


def test_connector_with_multipathd_is_one_batch():
    host = Host(base())
    result = read_connector(params(ip='192.0.2.10'), host.run_batch)
    assert result == {'connector': {'initiator': 'iqn.1993-08.org.debian:01:3f1a2b3c4d5e', 'ip': '192.0.2.10',
                                    'host': 'compute-1', 'multipath': True, 'enforce_multipath': False,
                                    'platform': 'x86_64', 'os_type': 'linux', 'do_local_attach': False},
                      'multipathd_running': True, 'records': {}, 'warnings': []}
    assert host.batches == [[CAT, UNAME, STATUS]]


def test_host_option_wins_over_the_node_name():
    result = read_connector(params(ip='192.0.2.10', host='db-1'), Host(base()).run_batch)
    assert result['connector']['host'] == 'db-1'


@pytest.mark.parametrize('status', [(1, 'ux_socket_connect: No such file or directory\n'),
                                    (0, 'error receiving packet\n'),  # old multipathd, down
                                    (127, 'timeout: failed to run command \u2018multipathd\u2019: No such file or directory\n')])
def test_multipathd_down_warns_and_reports_false(status):
    result = read_connector(params(ip='192.0.2.10'), Host(base() | {STATUS: status}).run_batch)
    assert result['connector']['multipath'] is False and result['multipathd_running'] is False
    assert result['warnings'] == ['multipathd does not answer: reporting multipath=false, Cinder will give one portal']


def test_enforce_multipath_fails_when_multipathd_down():
    result = read_connector(params(ip='192.0.2.10', enforce_multipath=True), Host(base() | {STATUS: (1, '')}).run_batch)
    assert result['failed'] and 'enforce_multipath' in result['msg']


def test_multipath_false_does_not_ask_multipathd():
    host = Host(base())
    result = read_connector(params(ip='192.0.2.10', multipath=False), host.run_batch)
    assert result['connector']['multipath'] is False and result['multipathd_running'] is False
    assert host.batches == [[CAT, UNAME]]


def test_missing_initiator_file():
    result = read_connector(params(ip='192.0.2.10'), Host(base() | {
        CAT: (1, 'cat: /etc/iscsi/initiatorname.iscsi: No such file or directory\n')}).run_batch)
    assert result == {'failed': True, 'msg': 'cannot read /etc/iscsi/initiatorname.iscsi (is open-iscsi installed?): '
                                             'No such file or directory'}


@pytest.mark.parametrize('text, message', [
    ('# only comments\n', 'no InitiatorName= line'),
    ('InitiatorName=\n', "InitiatorName '' is not an iSCSI name"),
    ('InitiatorName=my host\n', 'is not an iSCSI name'),
    ('InitiatorName=iqn.2000-01.a:b\nInitiatorName=iqn.2000-01.a:c\n', 'has 2 InitiatorName= lines'),
])
def test_malformed_initiator_file(text, message):
    result = read_connector(params(ip='192.0.2.10'), Host(base() | {CAT: (0, text)}).run_batch)
    assert result['failed'] and message in result['msg'] and INITIATOR_PATH in result['msg']


def test_parse_initiator_name_ignores_other_keys():
    text = 'InitiatorAlias=node1\n  InitiatorName = iqn.2000-01.example:node1  \n'
    assert parse_initiator_name(text, 'f') == 'iqn.2000-01.example:node1'


def test_ip_from_the_route_to_the_first_portal_with_one():
    host = Host(base() | {route_get('198.51.100.1'): (2, ip_out.NETWORK_UNREACHABLE),
                          route_get('192.0.2.1'): (0, ip_out.GET_V4_ON_LINK)})
    result = read_connector(params(portals=['198.51.100.1:3260', '192.0.2.1:3260']), host.run_batch)
    assert result['connector']['ip'] == '192.0.2.2' and result['warnings'] == []
    assert host.batches == [[CAT, UNAME, STATUS, route_get('198.51.100.1'), route_get('192.0.2.1')] + HOST_LOOKUPS]


def test_no_portal_routed_warns_naming_every_command_and_uses_the_default_route():
    """A storage network down at a re-run: the connector still gets this host's address."""
    host = Host(base() | {route_get('198.51.100.1'): (2, ip_out.NETWORK_UNREACHABLE),
                          route_get('10.9.1.1'): (2, ip_out.NO_ROUTE_TO_HOST),
                          SHOW_DEFAULT: (0, ip_out.DEFAULT_V4_SRC)})
    result = read_connector(params(portals=['198.51.100.1:3260', '10.9.1.1:3260']), host.run_batch)
    assert result['connector']['ip'] == '203.0.113.9'
    assert result['warnings'] == [
        'no route from this host to any portal gives a source address: '
        '`ip -o route get 198.51.100.1` failed (rc=2): RTNETLINK answers: Network is unreachable; '
        '`ip -o route get 10.9.1.1` failed (rc=2): RTNETLINK answers: No route to host; '
        'using the address of the default route instead']


def test_the_gateway_of_the_default_route_takes_a_second_batch_and_warns_once():
    host = Host(base() | {route_get('198.51.100.1'): (2, ip_out.NETWORK_UNREACHABLE),
                          SHOW_DEFAULT: (0, ip_out.DEFAULT_V4),
                          route_get('192.0.2.1'): (0, ip_out.GET_V4_ON_LINK)})
    result = read_connector(params(portals=['198.51.100.1:3260']), host.run_batch)
    assert result['connector']['ip'] == '192.0.2.2' and len(result['warnings']) == 1
    assert host.batches == [[CAT, UNAME, STATUS, route_get('198.51.100.1')] + HOST_LOOKUPS, [route_get('192.0.2.1')]]


@pytest.mark.parametrize('portals', [None, []])
def test_ip_from_the_src_of_the_default_route(portals):
    host = Host(base() | {SHOW_DEFAULT: (0, ip_out.DEFAULT_V4_SRC)})
    result = read_connector(params(portals=portals), host.run_batch)
    assert result['connector']['ip'] == '203.0.113.9'
    assert host.batches == [[CAT, UNAME, STATUS] + HOST_LOOKUPS]


def test_ip_from_the_ipv6_default_route():
    host = Host(base() | {SHOW_DEFAULT_V6: (0, ip_out.DEFAULT_V6),
                          route_get('fd00::1'): (0, 'fd00::1 from :: dev eth0 proto kernel src fd00::2 metric 256\n')})
    assert read_connector(params(), host.run_batch)['connector']['ip'] == 'fd00::2'
    assert host.batches[1] == [route_get('fd00::1')]


def test_ip_from_the_first_global_address():
    """A default route without gateway, a link-local gateway: the first global address."""
    host = Host(base() | {SHOW_DEFAULT: (0, ip_out.DEFAULT_DEVICE_ONLY), SHOW_DEFAULT_V6: (0, ip_out.DEFAULT_V6_LINK_LOCAL),
                          route_get('fe80::1'): (0, ip_out.GET_V6_LINK_LOCAL), SHOW_GLOBAL: (0, ip_out.ADDRESSES)})
    assert read_connector(params(), host.run_batch)['connector']['ip'] == '192.0.2.2'


def test_no_address_fails_asking_for_ip():
    host = Host(base() | {SHOW_DEFAULT: (1, 'Error: ipv4: FIB table does not exist.\nDump terminated\n')})
    result = read_connector(params(), host.run_batch)
    assert result['failed'] and result['msg'] == (
        'cannot find the address of this host for the connector ip: '
        '`ip -o route show default` failed (rc=1): Error: ipv4: FIB table does not exist.\nDump terminated; '
        '`ip -o -6 route show default` listed no default route; '
        '`ip -o addr show scope global` listed no usable address; '
        'set the ip option to the address of this host on the storage network')
    assert (result['cmd'], result['rc']) == (list(SHOW_GLOBAL), 0)


@pytest.mark.parametrize('portal, message', [
    ('192.0.2.1', "portals[0] '192.0.2.1' has no port"),
    ('storage.example.com:3260', "'storage.example.com' is not an IP address"),
])
@pytest.mark.parametrize('ip', [None, '192.0.2.10'])
def test_malformed_portal_fails_before_any_command(portal, message, ip):
    host = Host(base())
    result = read_connector(params(portals=[portal], ip=ip), host.run_batch)
    assert result['failed'] and message in result['msg']
    assert host.batches == []


def test_records_are_read_in_the_same_batch_and_their_portals_find_the_ip():
    host = Host(base() | {RECORD_COMMANDS[0]: (0, 'directory 700\n'), RECORD_COMMANDS[1]: (0, 'regular file\n'),
                          RECORD_COMMANDS[2]: (0, json.dumps(RECORD)),
                          route_get('198.51.100.1'): (0, '198.51.100.1 dev b0 src 198.51.100.7 uid 0 \\    cache \n'),
                          route_get('203.0.113.1'): (2, ip_out.NETWORK_UNREACHABLE)})
    result = read_connector(params(volume_ids=[VOLUME]), host.run_batch)
    assert result['records'] == {VOLUME: RECORD} and result['connector']['ip'] == '198.51.100.7'
    assert host.batches == [[CAT, UNAME, STATUS] + RECORD_COMMANDS + HOST_LOOKUPS,
                            [route_get('198.51.100.1'), route_get('203.0.113.1')]]


def test_no_record_directory_means_no_records():
    host = Host(base() | {RECORD_COMMANDS[0]: (1, NO_FILE % RECORD_DIR), RECORD_COMMANDS[1]: (1, NO_FILE % RECORD_PATH),
                          RECORD_COMMANDS[2]: (1, 'cat: %s: No such file or directory\n' % RECORD_PATH)})
    result = read_connector(params(ip='192.0.2.10', volume_ids=[VOLUME]), host.run_batch)
    assert result['records'] == {} and 'failed' not in result


@pytest.mark.parametrize('answers, message', [
    ({RECORD_COMMANDS[0]: (0, 'directory 777\n')}, RECORD_DIR + ' is not a directory only its owner can write'),
    ({RECORD_COMMANDS[0]: (0, 'symbolic link 777\n')}, RECORD_DIR + ' is not a directory only its owner can write'),
    ({RECORD_COMMANDS[1]: (0, 'symbolic link\n')}, 'cannot open %s: it is a symbolic link' % RECORD_PATH),
    ({RECORD_COMMANDS[2]: (0, '{"volume_id": "other"}')}, RECORD_PATH + " names volume 'other'"),
    ({RECORD_COMMANDS[2]: (0, '{')}, RECORD_PATH + ' is not valid JSON'),
])
def test_a_record_that_cannot_be_trusted_fails(answers, message):
    table = base() | {RECORD_COMMANDS[0]: (0, 'directory 700\n'), RECORD_COMMANDS[1]: (0, 'regular file\n'),
                      RECORD_COMMANDS[2]: (0, json.dumps(RECORD))}
    result = read_connector(params(ip='192.0.2.10', volume_ids=[VOLUME]), Host(table | answers).run_batch)
    assert result['failed'] and result['msg'].startswith(message)


def test_a_volume_id_that_cannot_name_a_record_fails_before_any_command():
    host = Host(base())
    result = read_connector(params(ip='192.0.2.10', volume_ids=['../etc']), host.run_batch)
    assert result == {'failed': True, 'msg': "volume_id '../etc' cannot name an attach record"}
    assert host.batches == []


def test_a_batch_the_host_did_not_finish_fails_naming_the_first_missing_command():
    result = read_connector(params(ip='192.0.2.10'), lambda commands: {CAT: (0, INITIATOR_FILE)})
    assert result['failed'] and result['msg'] == ('the host did not answer the command `uname -n -m` '
                                                  '(did the batch stop early?)')


def test_the_batch_script_runs_in_a_posix_shell_and_splits_back(tmp_path):
    """The real round trip through /bin/sh: each command's combined output and status, whatever it prints."""
    tricky = tmp_path / 'it is "quoted" $HOME'
    tricky.write_text('line one\nno newline at the end')
    commands = [['cat', '--', str(tricky)], ['cat', '--', str(tmp_path / 'missing')], ['sh', '-c', 'exit 3'],
                ['printf', '%s\\n', 'x 7 0']]
    token = 'cinder-local-0123456789abcdef'
    script = batch_script(commands, token)
    assert script.splitlines()[0] == ('PATH=%s; export PATH; LANG=C; LC_ALL=C; export LANG LC_ALL'
                                      % _connector.SEARCH_PATH)
    output = subprocess.run(['/bin/sh', '-c', script], capture_output=True, text=True, check=True).stdout
    answers = batch_outputs(commands, output, token)
    assert answers[tuple(commands[0])] == (0, 'line one\nno newline at the end')
    assert answers[tuple(commands[1])][0] == 1 and 'No such file or directory' in answers[tuple(commands[1])][1]
    assert answers[tuple(commands[2])] == (3, '')
    assert answers[tuple(commands[3])] == (0, 'x 7 0\n')
