# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_connector_ip: the parsers of `ip -o` output, on outputs captured from iproute2 6.1.0 (Debian 12, Linux 6.1).

The ``\\`` in the ``-o`` lines is what ``ip -o`` prints in place of a newline.
"""

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._connector_ip import (
    check_portals,
    default_gateway,
    default_route,
    find_connector_ip,
    global_address,
    portal_address,
    route_source,
    usable_address,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import TargetsError

# ip -o route get ADDRESS (rc 0)
GET_V4_ON_LINK = '192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \\    cache \n'
GET_V4_VIA = '10.255.255.1 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \\    cache \n'
GET_V4_LOOPBACK = 'local 127.0.0.1 dev lo src 127.0.0.1 uid 0 \\    cache <local> \n'
GET_V4_OWN_ADDRESS = 'local 198.51.100.7 dev lo src 198.51.100.7 uid 0 \\    cache <local> \n'
GET_V6_VIA = '2001:db8::1 from :: via fd00::1 dev eth0 src fd00::2 metric 1024 pref medium\n'
GET_V6_ON_LINK = '2001:db8:5::1 from :: dev d0 proto kernel src 2001:db8:5::7 metric 256 pref medium\n'
GET_V6_LOOPBACK = 'local ::1 from :: dev lo table local proto kernel src ::1 metric 0 pref medium\n'
GET_V6_LINK_LOCAL = 'fe80::1 from :: dev d1 proto kernel src fe80::464:58ff:fe77:6419 metric 256 pref medium\n'
GET_V4_NO_SRC = '10.0.0.1 dev t0 uid 0 \\    cache \n'  # a tun device with no address
# ip -o route get ADDRESS (rc 2, stderr): no route, `unreachable`, `prohibit`, `blackhole` routes
NETWORK_UNREACHABLE = 'RTNETLINK answers: Network is unreachable\n'
NO_ROUTE_TO_HOST = 'RTNETLINK answers: No route to host\n'
PERMISSION_DENIED = 'RTNETLINK answers: Permission denied\n'
INVALID_ARGUMENT = 'RTNETLINK answers: Invalid argument\n'
# ip -o [-6] route show default
DEFAULT_V4 = 'default via 192.0.2.1 dev eth0 \n'
DEFAULT_V4_SRC = 'default via 198.51.100.1 dev d0 src 203.0.113.9 \n'
DEFAULT_V4_TWO = 'default via 198.51.100.1 dev d0 src 203.0.113.9 \ndefault via 198.51.100.2 dev d0 metric 50 \n'
DEFAULT_V4_METRICS = 'default via 198.51.100.2 dev d0 metric 50 \ndefault via 198.51.100.1 dev d0 metric 100 \n'
DEFAULT_V4_LINKDOWN = ('default via 198.51.100.1 dev d0 src 203.0.113.9 linkdown \n'
                       'default via 198.51.100.2 dev d0 metric 50 linkdown \n')
DEFAULT_DEVICE_ONLY = 'default dev t0 scope link linkdown \n'
DEFAULT_V6 = 'default via fd00::1 dev eth0 metric 1024 pref medium\n'
DEFAULT_V6_SRC = 'default via 2001:db8:5::1 dev d0 src 2001:db8:6::7 metric 1024 pref medium\n'
DEFAULT_V6_LINK_LOCAL = 'default via fe80::1 dev d0 metric 1024 pref medium\n'
DEFAULT_V6_UNREACHABLE = 'unreachable default dev lo metric 1024 pref medium\n'
DEFAULT_V4_UNREACHABLE = 'unreachable default \n'
# ip -o addr show scope global
ADDRESSES = (
    '4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever\n'
    '4: eth0    inet6 fd00::2/64 scope global nodad \\       valid_lft forever preferred_lft forever\n')
ADDRESSES_V6_TENTATIVE_FIRST = (
    '3: d0    inet6 2001:db8:7::7/64 scope global tentative \\       valid_lft forever preferred_lft forever\n'
    '3: d0    inet6 2001:db8:6::7/64 scope global nodad \\       valid_lft forever preferred_lft forever\n')
ADDRESSES_TWO_V4 = (
    '3: d0    inet 198.51.100.7/24 scope global d0\\       valid_lft forever preferred_lft forever\n'
    '3: d0    inet 203.0.113.9/24 scope global d0\\       valid_lft forever preferred_lft forever\n')


@pytest.mark.parametrize('text, source', [
    (GET_V4_ON_LINK, '192.0.2.2'),
    (GET_V4_VIA, '192.0.2.2'),
    (GET_V4_OWN_ADDRESS, '198.51.100.7'),  # the portal is on this host
    (GET_V6_VIA, 'fd00::2'),
    (GET_V6_ON_LINK, '2001:db8:5::7'),
    (GET_V4_LOOPBACK, None),
    (GET_V6_LOOPBACK, None),
    (GET_V6_LINK_LOCAL, None),
    ('', None),  # what a failed `ip route get` prints on stdout
    (GET_V4_NO_SRC, None),
    ('unreachable 10.9.1.1 dev lo src 10.0.0.5 \n', None),  # (made up) a dead route type never gives a source
])
def test_route_source(text, source):
    assert route_source(text) == source


@pytest.mark.parametrize('text, route', [
    (DEFAULT_V4, {'via': '192.0.2.1', 'src': None, 'dev': 'eth0'}),
    (DEFAULT_V4_SRC, {'via': '198.51.100.1', 'src': '203.0.113.9', 'dev': 'd0'}),
    (DEFAULT_V4_TWO, {'via': '198.51.100.1', 'src': '203.0.113.9', 'dev': 'd0'}),  # no metric is metric 0
    (DEFAULT_V4_METRICS, {'via': '198.51.100.2', 'src': None, 'dev': 'd0'}),
    (DEFAULT_V4_METRICS.splitlines()[1] + '\n' + DEFAULT_V4_METRICS.splitlines()[0] + '\n',
     {'via': '198.51.100.2', 'src': None, 'dev': 'd0'}),  # lowest metric, whatever the order
    (DEFAULT_V4_LINKDOWN.splitlines()[0] + '\n' + DEFAULT_V4_METRICS.splitlines()[1] + '\n',
     {'via': '198.51.100.1', 'src': None, 'dev': 'd0'}),  # a route whose link is down comes last
    (DEFAULT_DEVICE_ONLY, {'via': None, 'src': None, 'dev': 't0'}),
    (DEFAULT_V6, {'via': 'fd00::1', 'src': None, 'dev': 'eth0'}),
    (DEFAULT_V6_SRC, {'via': '2001:db8:5::1', 'src': '2001:db8:6::7', 'dev': 'd0'}),
    (DEFAULT_V6_UNREACHABLE, None),
    (DEFAULT_V4_UNREACHABLE, None),
    (DEFAULT_V4_UNREACHABLE + DEFAULT_V4, {'via': '192.0.2.1', 'src': None, 'dev': 'eth0'}),
    ('', None),
])
def test_default_route(text, route):
    assert default_route(text) == route


@pytest.mark.parametrize('text, gateway', [
    (DEFAULT_V4, '192.0.2.1'),
    (DEFAULT_V4_TWO, '198.51.100.1'),
    (DEFAULT_V4_METRICS, '198.51.100.2'),
    (DEFAULT_V6, 'fd00::1'),
    (DEFAULT_V6_LINK_LOCAL, 'fe80::1'),
    (DEFAULT_DEVICE_ONLY, None),
    (DEFAULT_V6_UNREACHABLE, None),
    ('', None),
])
def test_default_gateway(text, gateway):
    assert default_gateway(text) == gateway


@pytest.mark.parametrize('text, address', [
    (ADDRESSES, '192.0.2.2'),
    (ADDRESSES_TWO_V4, '198.51.100.7'),
    (ADDRESSES.splitlines()[1], 'fd00::2'),
    (ADDRESSES_V6_TENTATIVE_FIRST, '2001:db8:6::7'),
    (ADDRESSES_V6_TENTATIVE_FIRST.replace('tentative', 'dadfailed tentative'), '2001:db8:6::7'),
    ('', None),
])
def test_global_address(text, address):
    assert global_address(text) == address


@pytest.mark.parametrize('text, address', [
    ('192.0.2.2', '192.0.2.2'),
    ('2001:DB8::0:7', '2001:db8::7'),
    ('127.0.1.1', None),  # what gethostbyname(hostname) gives on Debian
    ('127.0.0.1', None),
    ('::1', None),
    ('169.254.1.1', None),
    ('fe80::1', None),
    ('0.0.0.0', None),
    ('::', None),
    ('224.0.0.1', None),
    ('255.255.255.255', None),
    ('cache', None),
    (None, None),
])
def test_usable_address(text, address):
    assert usable_address(text) == address


@pytest.mark.parametrize('portal, address', [
    ('192.0.2.1:3260', '192.0.2.1'),
    ('[2001:db8::1]:3260', '2001:db8::1'),
    ('[fe80::1%eth0]:3260', 'fe80::1'),
])
def test_portal_address(portal, address):
    assert portal_address(portal) == address


@pytest.mark.parametrize('portal, message', [
    ('192.0.2.1', "portals[1] '192.0.2.1' has no port"),
    ('2001:db8::1:3260', 'put an IPv6 address in brackets'),
    ('storage.example.com:3260', 'is not an IP address'),
    ('192.0.2.1:0', 'is not a number in 1..65535'),
])
def test_check_portals_names_the_bad_one(portal, message):
    with pytest.raises(TargetsError) as info:
        check_portals(['198.51.100.1:3260', portal])
    assert message in str(info.value)


def test_check_portals_empty():
    assert check_portals(None) == [] and check_portals([]) == []


def test_the_ip_commands_asked_in_order():
    asked = []
    answers = {
        ('ip', '-o', 'route', 'get', '2001:db8::1'): (2, '', NETWORK_UNREACHABLE),
        ('ip', '-o', 'route', 'show', 'default'): (0, DEFAULT_V4, ''),
        ('ip', '-o', 'route', 'get', '192.0.2.1'): (0, GET_V4_ON_LINK, ''),
    }

    def ask(argv):
        asked.append(argv)
        return answers[tuple(argv)]

    warned = []
    assert find_connector_ip(ask, check_portals(['[2001:db8::1]:3260']), warned.append) == '192.0.2.2'
    assert asked == [['ip', '-o', 'route', 'get', '2001:db8::1'], ['ip', '-o', 'route', 'show', 'default'],
                     ['ip', '-o', 'route', 'get', '192.0.2.1']]
    assert warned == ['no route from this host to any portal gives a source address: `ip -o route get 2001:db8::1` '
                      'failed (rc=2): RTNETLINK answers: Network is unreachable; using the address of the default '
                      'route instead']
