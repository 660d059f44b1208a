# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.plugins.filter.portal_ifaces import (
    FilterModule, link_macs, portal_ifaces, route_device)

# real, lab guest 2026-11-25: `ip -br link show` and `ip -o route get` (network A on eth1, B on eth2)
LINKS = [
    'lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP> ',
    'eth0             UP             52:54:00:00:cb:0a <BROADCAST,MULTICAST,UP,LOWER_UP> ',
    'eth1             UP             52:54:00:00:0a:0a <BROADCAST,MULTICAST,UP,LOWER_UP> ',
    'eth2             UP             52:54:00:00:0b:0a <BROADCAST,MULTICAST,UP,LOWER_UP> ',
]
A, B, C = '192.0.2.1:3260', '198.51.100.1:3260', '203.0.113.9:3260'
ROUTES = [
    {'item': A, 'stdout': '192.0.2.1 dev eth1 src 192.0.2.10 uid 0 \\    cache '},
    {'item': B, 'stdout': '198.51.100.1 dev eth2 src 198.51.100.10 uid 0 \\    cache '},
    {'item': C, 'stdout': '203.0.113.9 dev eth0 src 203.0.113.10 uid 0 \\    cache '},
]


def test_route_device():
    assert route_device(ROUTES[0]['stdout']) == 'eth1'
    assert route_device('10.1.2.3 via 192.0.2.254 dev eth1.20 src 192.0.2.10 uid 0') == 'eth1.20'
    assert route_device('') == '' and route_device('RTNETLINK answers: Network is unreachable') == ''


def test_link_macs_lowercases_and_drops_the_parent():
    assert link_macs(LINKS)['eth2'] == '52:54:00:00:0b:0a'
    assert link_macs(['veth0@if5       UP             AA:BB:CC:00:11:22 <UP>']) == {'veth0': 'aa:bb:cc:00:11:22'}
    assert link_macs(['broken']) == {}


def test_bound_by_netdev_or_mac_else_default():
    ifaces = [{'name': 'iface-a', 'netdev': 'eth1'}, {'name': 'iface-b', 'hwaddress': '52:54:00:00:0B:0A'}]
    assert portal_ifaces(ROUTES, LINKS, ifaces) == {A: 'iface-a', B: 'iface-b', C: 'default'}


def test_no_ifaces_or_no_route_means_default():
    assert portal_ifaces(ROUTES) == {A: 'default', B: 'default', C: 'default'}
    unreachable = [{'item': A, 'stdout': '', 'failed': True}]
    assert portal_ifaces(unreachable, LINKS, [{'name': 'iface-a', 'netdev': 'eth1'}]) == {A: 'default'}


def test_known_portals_are_kept():
    assert portal_ifaces(ROUTES[:1], LINKS, [], known={B: 'iface-b'}) == {B: 'iface-b', A: 'default'}


def test_filter_is_registered():
    assert FilterModule().filters()['portal_ifaces'] is portal_ifaces
