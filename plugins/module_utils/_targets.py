# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Turn a Cinder iSCSI ``connection_info`` into a checked list of (portal, iqn, lun) targets.

Pure standard library: used on the controller (filter plugin, cinder_attachment) and on hosts.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

# SAM-2 flat space addressing gives 14 bits; peripheral addressing only 0..255.
# 64-bit extended LUN formats are not supported by this collection.
MAX_LUN = 16383
DEFAULT_AUTH_METHOD = 'CHAP'
_IQN_RE = re.compile(r'^(iqn\.|eui\.|naa\.)\S+$', re.IGNORECASE)
_TARGET_KEYS = ('target_portal', 'target_portals', 'target_iqn', 'target_iqns', 'target_lun', 'target_luns')


class TargetsError(ValueError):
    """connection_info cannot be turned into targets; the message names the field."""


def control_character(text):
    """The first control character of text as ``U+000A``, or None.

    iscsiadm keeps a record as one ``name = value`` line per setting: a newline in a value writes other settings.
    """
    for char in text:
        if unicodedata.category(char) == 'Cc':
            return 'U+%04X' % ord(char)
    return None


def normalize_connection_info(connection_info):
    """Return ``{targets, auth, discovery_auth, single_portal}`` for any Cinder connection_info shape.

    Accepted shapes: legacy ``{driver_volume_type, data: {...}}`` (os-initialize_connection),
    the flat attachments-API dict (data keys beside driver_volume_type), or the bare data dict.
    """
    data = _data_dict(connection_info)
    if not any(key in data for key in _TARGET_KEYS):
        raise TargetsError('connection_info has no target_portal(s): is it an attachment without a connector?')
    single_portal = not any(key in data for key in ('target_portals', 'target_iqns', 'target_luns'))
    portals, iqns, luns = _target_lists(data)
    targets = []
    for index, (portal, iqn, lun) in enumerate(zip(portals, iqns, luns)):
        suffix = '' if single_portal else 's[%d]' % index
        target = {
            'portal': normalize_portal(portal, 'target_portal' + suffix),
            'iqn': _check_iqn(iqn, 'target_iqn' + suffix),
            'lun': normalize_lun(lun, 'target_lun' + suffix),
        }
        if target not in targets:
            targets.append(target)
    return {
        'targets': targets,
        'auth': _auth(data, 'auth_'),
        'discovery_auth': _auth(data, 'discovery_auth_'),
        'single_portal': single_portal,
    }


def _data_dict(connection_info):
    if not isinstance(connection_info, dict):
        raise TargetsError('connection_info must be a dict, got %s' % type(connection_info).__name__)
    driver = connection_info.get('driver_volume_type')
    if driver is not None and str(driver).lower() != 'iscsi':
        raise TargetsError("connection_info.driver_volume_type is %r, only 'iscsi' is supported" % (driver,))
    data = connection_info.get('data')
    if data is None:
        return connection_info
    if not isinstance(data, dict):
        raise TargetsError('connection_info.data must be a dict, got %s' % type(data).__name__)
    return data


def _target_lists(data):
    """Return equal-length portal, iqn and lun lists (plural keys win over singular ones, as in os-brick)."""
    portals = _plural(data, 'target_portals', 'target_portal', None)
    count = len(portals)
    iqns = _plural(data, 'target_iqns', 'target_iqn', count)
    luns = _plural(data, 'target_luns', 'target_lun', count)
    for key, values in (('target_iqns', iqns), ('target_luns', luns)):
        if len(values) != count:
            raise TargetsError('%s has %d entries but target_portals has %d' % (key, len(values), count))
    return portals, iqns, luns


def _plural(data, plural_key, singular_key, count):
    """The list under plural_key, else the singular value repeated count times (once when count is None)."""
    if plural_key in data and data[plural_key] is not None:
        values = data[plural_key]
        if not isinstance(values, (list, tuple)):
            raise TargetsError('%s must be a list, got %s' % (plural_key, type(values).__name__))
        if not values:
            raise TargetsError('%s is an empty list' % plural_key)
        return list(values)
    if singular_key not in data or data[singular_key] is None:
        raise TargetsError('%s is missing (and no %s)' % (singular_key, plural_key))
    return [data[singular_key]] * (count or 1)


def normalize_portal(portal, field='portal'):
    """Return ``ip:port`` or ``[ipv6]:port`` in canonical form; raise TargetsError naming field."""
    if not isinstance(portal, str) or not portal.strip():
        raise TargetsError('%s must be a non-empty string "ip:port", got %r' % (field, portal))
    text = portal.strip()
    if text.startswith('['):
        host, sep, port = text[1:].partition(']:')
        if not sep:
            raise TargetsError('%s %r has no port: use "[address]:port"' % (field, portal))
        version = 6
    else:
        host, sep, port = text.rpartition(':')
        if not sep:
            raise TargetsError('%s %r has no port: use "ip:port" (iSCSI default port 3260)' % (field, portal))
        if ':' in host:
            raise TargetsError('%s %r: put an IPv6 address in brackets, "[address]:port"' % (field, portal))
        version = 4
    try:
        address = ipaddress.ip_address(host.split('%')[0])
    except ValueError:
        raise TargetsError('%s %r: %r is not an IP address (resolve host names first: sessions are '
                           'reported by address)' % (field, portal, host)) from None
    if address.version != version:
        raise TargetsError('%s %r: %r is not an IPv%d address' % (field, portal, host, version))
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise TargetsError('%s %r: port %r is not a number in 1..65535' % (field, portal, port))
    zone = host[len(host.split('%')[0]):]
    if version == 6:
        return '[%s%s]:%d' % (address, zone, int(port))
    return '%s:%d' % (address, int(port))


def normalize_lun(lun, field='lun'):
    """Return lun as an int in 0..MAX_LUN (decimal strings accepted); raise TargetsError naming field."""
    if isinstance(lun, str) and lun.strip().isdigit():
        lun = int(lun.strip())
    if isinstance(lun, bool) or not isinstance(lun, int):
        raise TargetsError('%s must be an integer, got %r' % (field, lun))
    if not 0 <= lun <= MAX_LUN:
        raise TargetsError('%s %d is out of range 0..%d' % (field, lun, MAX_LUN))
    return lun


def is_iscsi_name(text):
    """True for iqn./eui./naa. names without white space."""
    return isinstance(text, str) and bool(_IQN_RE.match(text))


def _check_iqn(iqn, field):
    if not is_iscsi_name(iqn):
        raise TargetsError('%s must be an iSCSI name (iqn./eui./naa.), got %r' % (field, iqn))
    return iqn


def _auth(data, prefix):
    """``{method, username, password}`` from <prefix>method/username/password, or None when unset."""
    method = data.get(prefix + 'method')
    username = data.get(prefix + 'username')
    password = data.get(prefix + 'password')
    if not method and not username and not password:
        return None
    if method is None or str(method).upper() == 'CHAP':
        method = DEFAULT_AUTH_METHOD
    elif str(method).upper() == 'NONE':
        return None
    else:
        raise TargetsError("%smethod is %r, only 'CHAP' is supported" % (prefix, method))
    for key, value in (('username', username), ('password', password)):
        if not isinstance(value, str) or not value:
            raise TargetsError('%s%s is missing or empty while %smethod is CHAP' % (prefix, key, prefix))
        found = control_character(value)
        if found:  # never quote the value: it may be the secret
            raise TargetsError('%s%s holds a control character (%s): refused, it would write other settings into '
                               'the node record' % (prefix, key, found))
    return {'method': method, 'username': username, 'password': password}
