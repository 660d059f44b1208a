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
# os-brick's lun_for_addressing adds this to the LUNs it sends flat space addressed (SAM2 from 256, SAM3-flat all):
# the number the Linux SCSI layer shows for them (scsilun_to_int of 0x40|hi, lo).
FLAT_SPACE_OFFSET = 16384
MAX_SCSI_LUN = MAX_LUN + FLAT_SPACE_OFFSET
# os_brick.constants.SCSI_ADDRESSING_MODES (None means SAM, as in os-brick)
ADDRESSING_MODES = ('transparent', 'SAM', 'SAM2', 'SAM3-flat')
# RFC 3720 3.2.6.1 (open-iscsi TARGET_NAME_MAXLEN): an iSCSI name is at most 223 bytes of UTF-8.
MAX_NAME_BYTES = 223
DEFAULT_AUTH_METHOD = 'CHAP'
_ASCII_DIGITS = re.compile(r'[0-9]+\Z')
_ZONE_RE = re.compile(r'%[A-Za-z0-9_.:@-]{1,64}\Z')
_PLURAL_KEYS = ('target_portals', 'target_iqns', 'target_luns')
_TARGET_KEYS = ('target_portal', 'target_iqn', 'target_lun') + _PLURAL_KEYS


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
    check_access(data)
    addressing_mode = data.get('addressing_mode')
    lun_for_addressing(0, addressing_mode)  # an unknown mode fails before any LUN is looked at
    # As os-brick: the plural keys only when both target_portals and target_iqns are lists (a null list counts
    # as absent); otherwise one portal, whose other paths SendTargets discovery finds.
    single_portal = data.get('target_portals') is None or data.get('target_iqns') is None
    portals, iqns, luns = _target_lists(data, single_portal)
    targets = []
    for index, (portal, iqn, lun) in enumerate(zip(portals, iqns, luns)):
        suffix = '' if single_portal else 's[%d]' % index
        target = {
            'portal': normalize_portal(portal, 'target_portal' + suffix),
            'iqn': check_target_name(iqn, 'target_iqn' + suffix),
            'lun': lun_for_addressing(normalize_lun(lun, 'target_lun' + suffix), addressing_mode),
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


def lun_for_addressing(lun, addressing_mode=None):
    """The LUN number the Linux SCSI layer uses for Cinder's LUN under addressing_mode (os-brick's
    ``LinuxSCSI.lun_for_addressing``): SAM2 addresses LUNs from 256, SAM3-flat every LUN, flat space, which
    the kernel numbers 16384 higher; SAM and transparent (and no mode) leave the LUN as it is."""
    mode = addressing_mode or 'SAM'
    if mode not in ADDRESSING_MODES:
        raise TargetsError('addressing_mode is %r: only %s are known (os-brick\'s SCSI addressing modes)' % (
            addressing_mode, ', '.join(ADDRESSING_MODES)))
    if mode == 'SAM3-flat' or (mode == 'SAM2' and lun >= 256):
        lun += FLAT_SPACE_OFFSET
    return lun


def check_access(data):
    """Refuse what Cinder asks of the attachment and this collection does not do (access_mode ro, encryption)."""
    access_mode = data.get('access_mode')
    if access_mode not in (None, 'rw'):
        raise TargetsError("access_mode is %r: only 'rw' is supported (this collection cannot make the device "
                           'read-only)' % (access_mode,))
    encrypted = data.get('encrypted')
    if encrypted is True:
        raise TargetsError('encrypted is true: Cinder volume encryption is not supported (the device would show the '
                           "ciphertext, and writing to it would destroy the volume's data)")
    if encrypted not in (None, False):
        raise TargetsError('encrypted must be true or false, got %r' % (encrypted,))


def _target_lists(data, single_portal):
    """Return equal-length portal, iqn and lun lists (plural keys win over singular ones, as in os-brick).

    One portal: the singular keys, else the first entry of a plural list. Without any LUN key a single
    portal means LUN 0, as in os-brick (Synology's default set-up sends none).
    """
    if single_portal:
        lun = [0] if 'target_lun' not in data and data.get('target_luns') is None else _first(
            data, 'target_lun', 'target_luns')
        return _first(data, 'target_portal', 'target_portals'), _first(data, 'target_iqn', 'target_iqns'), lun
    portals = _plural(data, 'target_portals', 'target_portal', None)
    count = len(portals)
    iqns = _plural(data, 'target_iqns', 'target_iqn', count)
    luns = _plural(data, 'target_luns', 'target_lun', count)
    for key, values in (('target_iqns', iqns), ('target_luns', luns)):
        if len(values) != count:
            raise TargetsError('%s has %d entries but target_portals has %d' % (key, len(values), count))
    return portals, iqns, luns


def _first(data, singular_key, plural_key):
    """[the singular value], else [the first entry of the plural list]."""
    if data.get(singular_key) is not None:
        return [data[singular_key]]
    return _plural(data, plural_key, singular_key, None)[:1]


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
    if not _ASCII_DIGITS.match(port) or not 1 <= int(port) <= 65535:
        raise TargetsError('%s %r: port %r is not a number in 1..65535' % (field, portal, port))
    zone = host[len(host.split('%')[0]):]
    if zone and (version == 4 or not _ZONE_RE.match(zone)):
        raise TargetsError('%s %r: %r is not an IPv6 zone (an interface name or number)' % (field, portal, zone))
    if version == 6:
        return '[%s%s]:%d' % (address, zone, int(port))
    return '%s:%d' % (address, int(port))


def normalize_lun(lun, field='lun', maximum=MAX_LUN):
    """Return lun as an int in 0..maximum (strings of ASCII digits accepted); raise TargetsError naming field.

    Only ASCII digits: str.isdigit() is true for '²' (int() then fails) and int('١') is 1.
    """
    if isinstance(lun, str) and _ASCII_DIGITS.match(lun.strip()):
        lun = int(lun.strip())
    if isinstance(lun, bool) or not isinstance(lun, int):
        raise TargetsError('%s must be an integer, got %r' % (field, lun))
    if not 0 <= lun <= maximum:
        raise TargetsError('%s %d is out of range 0..%d' % (field, lun, maximum))
    return lun


def target_name_problem(name):
    """Why name cannot be used as an iSCSI target name, or None.

    Any name iscsiadm takes is accepted (iqn., eui., naa., and arrays' own forms such as Inspur AS13000's
    ``target.inspur.<host>-<digits>``), except white space, control and invisible format characters, a "/"
    (iscsiadm stores node records in a directory named after the target) and more than 223 bytes (RFC 3720).
    """
    if not isinstance(name, str) or not name:
        return 'must be a non-empty string, got %r' % (name,)
    for char in name:
        if unicodedata.category(char) in ('Cc', 'Cf'):
            return '%r holds a control or format character (U+%04X)' % (name, ord(char))
        if char.isspace():
            return '%r holds white space (U+%04X)' % (name, ord(char))
    if '/' in name or name in ('.', '..'):
        return '%r holds "/" or is a "." name (iscsiadm names a directory after the target)' % (name,)
    size = len(name.encode('utf-8', 'surrogatepass'))
    if size > MAX_NAME_BYTES:
        return 'is %d bytes long, an iSCSI name has at most %d (RFC 3720)' % (size, MAX_NAME_BYTES)
    return None


def is_iscsi_name(text):
    """True for a target name iscsiadm accepts and target_name_problem() finds nothing wrong with."""
    return target_name_problem(text) is None


def is_standard_iscsi_name(text):
    """True for an iqn./eui./naa. name (what an initiator must call itself) that is_iscsi_name() accepts."""
    return is_iscsi_name(text) and text[:4].lower() in ('iqn.', 'eui.', 'naa.') and len(text) > 4


def check_target_name(name, field):
    """name when it is a usable target name; raise TargetsError naming field."""
    problem = target_name_problem(name)
    if problem:
        raise TargetsError('%s %s' % (field, problem))
    return name


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
