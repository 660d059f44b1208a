# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.
"""The open-iscsi iface of each portal: the one bound to the network interface the kernel routes it through.

So every path of a multipath volume leaves through its own storage network. An iface is bound to an interface
by ``netdev`` (its name) or ``hwaddress`` (its MAC, any case); a portal whose interface has no bound iface, or
that has no route, gets ``default``. ``ip route get`` only reads the routing table: nothing is sent.
"""

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._connector_ip import route_fields
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandRunner


def route_device(route):
    """The output device of one `ip -o route get` line ('' when there is none)."""
    return route_fields(route)[1].get('dev', '')


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


def portal_address(portal):
    """The address of 'address:port' or '[ipv6]:port'."""
    return portal.rsplit(':', 1)[0].strip('[]')


def ifaces_problem(ifaces):
    """Why the iface definitions cannot be used, or None."""
    for index, iface in enumerate(ifaces):
        if not iface.get('netdev') and not iface.get('hwaddress'):
            return 'ifaces[%d] (%s) gives neither netdev nor hwaddress' % (index, iface.get('name'))
    return None


class Routes(CommandRunner):
    """`ip` lookups (read only)."""

    COMMANDS = ('timeout', 'ip')

    def device_to(self, portal):
        """The network interface the kernel would send to portal through ('' when it has no route)."""
        rc, out, dummy = self._run_command([self.bin('ip'), '-o', 'route', 'get', portal_address(portal)])
        return route_device(out) if rc == 0 else ''

    def macs(self):
        argv = [self.bin('ip'), '-br', 'link', 'show']
        rc, out, err = self._run_command(argv)
        if rc != 0:
            raise self.error('listing the network interfaces failed', argv, rc, out, err)
        return link_macs(out.splitlines())

    def portal_ifaces(self, portals, ifaces):
        """{portal: iface name} of every portal."""
        macs = self.macs() if any(iface.get('hwaddress') for iface in ifaces) else {}
        found = {}
        for portal in portals:
            dev = self.device_to(portal)
            found[portal] = bound_iface(dev, macs.get(dev), ifaces)
        return found
