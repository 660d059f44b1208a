# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._ifaces import (
    bound_iface, ifaces_problem, link_macs, portal_address, route_device)

# real, lab guest 2026-11-25: `ip -br link show` and `ip -o route get` (network A on eth1, B on eth2)
LINKS = [
    'lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP> ',
    'eth0             UP             52:54:00:00:cb:0a <BROADCAST,MULTICAST,UP,LOWER_UP> ',
    'eth1             UP             52:54:00:00:0a:0a <BROADCAST,MULTICAST,UP,LOWER_UP> ',
    'eth2             UP             52:54:00:00:0b:0a <BROADCAST,MULTICAST,UP,LOWER_UP> ',
]
ROUTE_A = '192.0.2.1 dev eth1 src 192.0.2.10 uid 0 \\    cache '


def test_route_device():
    assert route_device(ROUTE_A) == 'eth1'
    assert route_device('10.1.2.3 via 192.0.2.254 dev eth1.20 src 192.0.2.10 uid 0') == 'eth1.20'
    assert route_device('') == '' and route_device('RTNETLINK answers: Network is unreachable') == ''


def test_link_macs_lowercases_and_drops_the_parent():
    assert link_macs(LINKS)['eth2'] == '52:54:00:00:0b:0a'
    assert link_macs(['veth0@if5       UP             AA:BB:CC:00:11:22 <UP>']) == {'veth0': 'aa:bb:cc:00:11:22'}
    assert link_macs(['broken']) == {}


def test_bound_by_netdev_or_mac_else_default():
    ifaces = [{'name': 'iface-a', 'netdev': 'eth1'}, {'name': 'iface-b', 'hwaddress': '52:54:00:00:0B:0A'}]
    assert bound_iface('eth1', '52:54:00:00:0a:0a', ifaces) == 'iface-a'
    assert bound_iface('eth2', '52:54:00:00:0b:0a', ifaces) == 'iface-b'
    assert bound_iface('eth0', '52:54:00:00:cb:0a', ifaces) == 'default'
    assert bound_iface('', None, ifaces) == 'default'  # no route


def test_portal_address_and_ifaces_problem():
    assert portal_address('192.0.2.1:3260') == '192.0.2.1' and portal_address('[2001:db8::1]:3260') == '2001:db8::1'
    assert ifaces_problem([{'name': 'a', 'netdev': 'eth1'}, {'name': 'b', 'hwaddress': 'x'}]) is None
    assert ifaces_problem([{'name': 'a', 'netdev': None, 'hwaddress': None}]) == 'ifaces[0] (a) gives neither netdev nor hwaddress'
