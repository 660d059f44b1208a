# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The connector ``ip``: the source address the kernel's routing table gives towards the storage.

Only ``ip route get`` / ``ip route show`` / ``ip addr show`` are asked: they read the kernel's tables and send nothing
on the network. The parsers are pure functions of the ``ip -o`` output (standard library only).
"""

from __future__ import annotations

import ipaddress

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import normalize_portal

# route types (first word of a route line; a unicast route shows none) and those that carry no traffic
DEAD_ROUTE_TYPES = ('unreachable', 'blackhole', 'prohibit', 'throw')
ROUTE_TYPES = DEAD_ROUTE_TYPES + ('unicast', 'local', 'broadcast', 'multicast', 'anycast', 'nat')
# `ip addr` flags of an address the kernel does not use as a source yet (or ever)
UNUSABLE_ADDRESS_FLAGS = ('tentative', 'dadfailed')
SET_IP = 'set the ip option to the address of this host on the storage network'


def usable_address(text):
    """``text`` in canonical form when it is a unicast address Cinder can give a target (not loopback,
    link-local, unspecified or multicast), else None."""
    try:
        address = ipaddress.ip_address((text or '').split('%')[0])
    except ValueError:
        return None
    if address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast:
        return None
    if address.version == 4 and address == ipaddress.IPv4Address('255.255.255.255'):
        return None
    return str(address)


def route_fields(line):
    """(route type or '', {keyword: value}) of one ``ip -o route`` line (the first value of a repeated keyword)."""
    words = line.replace('\\', ' ').split()
    kind = words[0] if words and words[0] in ROUTE_TYPES else ''
    fields = {}
    for key, value in zip(words, words[1:]):
        if key in ('via', 'src', 'dev', 'metric', 'from') and key not in fields:
            fields[key] = value
    return kind, fields


def route_source(text):
    """The usable ``src`` address of an ``ip -o route get ADDRESS`` answer, or None (no route, a dead route
    type, no ``src``, or a loopback/link-local one)."""
    for line in (text or '').splitlines():
        if line.strip():
            kind, fields = route_fields(line)
            if kind in DEAD_ROUTE_TYPES:
                return None
            return usable_address(fields.get('src'))
    return None


def default_route(text):
    """``{'via': ..., 'src': ..., 'dev': ...}`` of the default route the kernel prefers in an
    ``ip -o [-6] route show default`` listing (lowest metric; first listed on a tie; routes marked ``linkdown``
    after the others), or None. Typed defaults (``unreachable default ...``) carry no traffic and are skipped."""
    best = None
    for index, line in enumerate((text or '').splitlines()):
        words = line.replace('\\', ' ').split()
        if not words or words[0] != 'default':
            continue
        dummy, fields = route_fields(line)
        try:
            metric = int(fields.get('metric', '0'))
        except ValueError:
            metric = 0
        rank = ('linkdown' in words, metric, index)
        if best is None or rank < best[0]:
            best = (rank, fields)
    if best is None:
        return None
    fields = best[1]
    return {'via': fields.get('via'), 'src': fields.get('src'), 'dev': fields.get('dev')}


def default_gateway(text):
    """The gateway (``via``) of the preferred default route of an ``ip -o [-6] route show default`` listing, or
    None (no default route, or one without a gateway such as ``default dev wg0 scope link``)."""
    route = default_route(text)
    return route['via'] if route else None


def global_address(text):
    """The first usable address of an ``ip -o addr show scope global`` listing, or None (tentative and
    dadfailed addresses skipped)."""
    for line in (text or '').splitlines():
        words = line.replace('\\', ' ').split()
        for family in ('inet', 'inet6'):
            if family in words[:-1]:
                flags = words[words.index(family) + 2:]
                if any(flag in UNUSABLE_ADDRESS_FLAGS for flag in flags):
                    break
                address = usable_address(words[words.index(family) + 1].split('/')[0])
                if address:
                    return address
    return None


def portal_address(portal, index=0):
    """The bare address of an ``address:port`` / ``[ipv6]:port`` portal; raise TargetsError naming it."""
    text = normalize_portal(portal, 'portals[%d]' % index)
    host = text.rsplit(':', 1)[0]
    return host[1:-1].split('%')[0] if host.startswith('[') else host


def check_portals(portals):
    """The bare address of every portal (raise TargetsError on the first malformed one)."""
    return [portal_address(portal, index) for index, portal in enumerate(portals or [])]


def _describe(argv, rc, stderr):
    text = '`%s`' % ' '.join(argv)
    if rc:
        text += ' failed (rc=%s): %s' % (rc, (stderr or '').strip() or 'no error output')
    return text


class ConnectorIp:
    """Finds the connector ``ip`` from the answers of read-only ``ip`` commands: ask(argv) -> (rc, stdout, stderr)."""

    def __init__(self, ask):
        self.ask = ask
        self.tried = []  # one sentence per lookup that gave nothing, for the final error
        self.last = None

    def _ip(self, *args):
        argv = ['ip'] + list(args)
        rc, out, err = self.ask(argv)
        self.last = (argv, rc, out, err)
        return argv, rc, out, err

    def _fail(self, msg):
        argv, rc, out, err = self.last
        return CommandError('%s: %s; %s' % (msg, '; '.join(self.tried), SET_IP), argv, rc, out, err)

    def source_to(self, address):
        """The source address of the kernel's route to address, or None (the reason kept in self.tried)."""
        argv, rc, out, err = self._ip('-o', 'route', 'get', address)
        if rc != 0:
            self.tried.append(_describe(argv, rc, err))
            return None
        source = route_source(out)
        if not source:
            self.tried.append('%s gave no usable source address (%s)' % (
                _describe(argv, rc, err), out.strip() or 'empty output'))
        return source

    def for_portals(self, addresses):
        """The source address towards the first portal address with a usable route; raise CommandError."""
        for address in addresses:
            source = self.source_to(address)
            if source:
                return source
        raise self._fail('no route from this host to any portal gives a source address')

    def _from_default(self, family):
        argv, rc, out, err = self._ip(*(['-o'] + family + ['route', 'show', 'default']))
        if rc != 0:
            self.tried.append(_describe(argv, rc, err))
            return None
        route = default_route(out)
        if route is None:
            self.tried.append('%s listed no default route' % _describe(argv, rc, err))
            return None
        source = usable_address(route['src'])
        if source:
            return source
        if not route['via']:
            self.tried.append('%s: the default route has no gateway and no usable src' % _describe(argv, rc, err))
            return None
        return self.source_to(route['via'])

    def from_host(self):
        """The source address of the default route (IPv4, then IPv6), else the first global address; raise
        CommandError when there is none."""
        for family in ([], ['-6']):
            source = self._from_default(family)
            if source:
                return source
        argv, rc, out, err = self._ip('-o', 'addr', 'show', 'scope', 'global')
        source = global_address(out) if rc == 0 else None
        if source:
            return source
        self.tried.append(_describe(argv, rc, err) if rc else '%s listed no usable address' % _describe(argv, rc, err))
        raise self._fail('cannot find the address of this host for the connector ip')


def find_connector_ip(ask, addresses, warn):
    """The connector ip: towards the first routable portal when portal addresses are given (none routable: a warning
    through warn), else from the default route / global addresses. ask: see ConnectorIp. Raises CommandError."""
    finder = ConnectorIp(ask)
    if addresses:
        try:
            return finder.for_portals(addresses)
        except CommandError as exc:  # a storage network down must not stop the attach of what else is reachable
            warn('%s; using the address of the default route instead' % exc.msg.split('; ' + SET_IP)[0])
    return finder.from_host()
