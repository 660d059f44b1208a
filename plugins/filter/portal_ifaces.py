# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: portal_ifaces
short_description: Pick the iSCSI iface of each portal from the host's routes
version_added: 0.1.0
description:
  - Maps each portal to the open-iscsi iface bound to the network interface the kernel routes the portal's
    address through, so that every path of a multipath volume leaves through its own storage network.
  - An iface is bound to an interface by C(netdev) (its name) or C(hwaddress) (its MAC, any case). A portal
    whose interface has no bound iface, or that has no route, gets C(default).
  - The input is the registered result of a looped C(ip -o route get <address>) task whose loop items are the
    portals.
options:
  _input:
    description: Registered results of C(ip -o route get), one per portal; C(item) is the portal, C(stdout) the route.
    type: list
    elements: dict
    required: true
  links:
    description: Output lines of C(ip -br link show) (name, state, MAC); needed to match an iface's C(hwaddress) in O(ifaces).
    type: list
    elements: str
    default: []
  ifaces:
    description: The iface definitions, as the C(initiator) role's C(initiator_ifaces) (C(name), C(netdev) or C(hwaddress)).
    type: list
    elements: dict
    default: []
  known:
    description: Portals already mapped; they are kept and the result adds to them.
    type: dict
    default: {}
author:
  - cinder_local maintainers (@cinder-local)
"""

EXAMPLES = r"""
- name: Find the network interface that reaches each portal
  ansible.builtin.command:
    argv: [ip, -o, route, get, "{{ item.rsplit(':', 1)[0].strip('[]') }}"]
  loop: "{{ portals }}"
  register: routes
  changed_when: false

- name: Read the network interfaces
  ansible.builtin.command:
    argv: [ip, -br, link, show]
  register: links
  changed_when: false

- name: Pick the iface of each portal
  ansible.builtin.set_fact:
    portal_iface: "{{ routes.results | cinder_local.iscsi_multipath.portal_ifaces(links.stdout_lines, initiator_ifaces) }}"
"""

RETURN = r"""
_value:
  description: "C({portal: iface name}), O(known) included."
  type: dict
  sample: {"192.0.2.1:3260": iface-a, "198.51.100.1:3260": iface-b}
"""


def route_device(route):
    """The output device of one `ip -o route get` line ('' when there is none)."""
    words = route.split()
    return words[words.index('dev') + 1] if 'dev' in words[:-1] else ''


def link_macs(lines):
    """{interface: mac} from `ip -br link show` lines (the @parent suffix of VLANs and veths dropped)."""
    macs = {}
    for line in lines:
        words = line.split()
        if len(words) > 2:
            macs[words[0].split('@')[0]] = words[2].lower()
    return macs


def bound_iface(dev, mac, ifaces):
    """Name of the first iface bound to the interface dev (by netdev or MAC), or 'default'."""
    for iface in ifaces:
        if dev and (iface.get('netdev') == dev or (mac and (iface.get('hwaddress') or '').lower() == mac)):
            return iface['name']
    return 'default'


def portal_ifaces(routes, links=None, ifaces=None, known=None):
    macs = link_macs(links or [])
    out = dict(known or {})
    for route in routes:
        dev = route_device(route.get('stdout') or '')
        out[route['item']] = bound_iface(dev, macs.get(dev), ifaces or [])
    return out


class FilterModule:
    """iSCSI iface filters."""

    def filters(self):
        return {'portal_ifaces': portal_ifaces}
