# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""SCSI devices of iSCSI sessions through sysfs (root configurable for tests) and blockdev."""

from __future__ import annotations

import glob
import os
import re

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, CommandRunner

# udev/multipath WWID prefix per sysfs wwid designator (as scsi_id --export ID_SERIAL builds it)
WWID_PREFIXES = {'naa.': '3', 'eui.': '2', 't10.': '1'}
_HCTL_RE = re.compile(r'^(\d+):(\d+):(\d+):(\d+)$')
DEFAULT_ROOT = '/'


def wwid_from_sysfs(text):
    """sysfs ``device/wwid`` ("naa.6001405...") -> multipath WWID ("36001405...")."""
    text = text.strip().rstrip('\x00')
    for prefix, digit in WWID_PREFIXES.items():
        if text.lower().startswith(prefix):
            body = text[len(prefix):]
            if prefix == 't10.':
                return digit + re.sub(r'\s+', '_', body.strip())
            return digit + body.lower()
    return text


def wwid_from_vpd_pg83(raw):
    """VPD page 0x83 bytes -> multipath WWID from the LU's NAA (3...) or EUI-64 (2...) designator."""
    found = {}
    offset = 4
    while offset + 4 <= len(raw):
        code_set, kind, length = raw[offset] & 0x0F, raw[offset + 1], raw[offset + 3]
        body = raw[offset + 4:offset + 4 + length]
        association, designator = (kind >> 4) & 0x03, kind & 0x0F
        # the longest binary NAA/EUI-64 of the LU wins (16-byte NAA 6 over 8-byte NAA 3), as the kernel picks it
        if association == 0 and code_set == 1 and designator in (2, 3) and len(body) > len(found.get(designator, b'')):
            found[designator] = body
        offset += 4 + length
    if 3 in found:
        return '3' + found[3].hex()
    if 2 in found:
        return '2' + found[2].hex()
    return None


def parse_mountinfo_devices(text):
    """/proc/self/mountinfo -> set of 'major:minor' of mounted devices."""
    devices = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 2:
            devices.add(fields[2])
    return devices


def parse_swaps(text):
    """/proc/swaps -> list of swap device paths."""
    return [line.split()[0] for line in text.splitlines()[1:] if line.strip()]


class Scsi(CommandRunner):
    """sysfs reads/writes under ``root`` (``/`` on hosts), ``blockdev`` through ``_run_command``."""

    COMMANDS = ('timeout', 'udevadm', 'blockdev')

    def __init__(self, module, root=None, timeout=30):
        super().__init__(module, timeout=timeout)
        self.root = DEFAULT_ROOT if root is None else root

    def path(self, *parts):
        return os.path.join(self.root, *[part.lstrip('/') for part in parts])

    def _read(self, *parts):
        try:
            with open(self.path(*parts)) as handle:
                return handle.read().strip()
        except (IOError, OSError):
            return None

    def _write(self, text, *parts):
        """Write to a sysfs attribute; a refusal is a CommandError like any failed command (a rollback follows)."""
        path = self.path(*parts)
        try:
            with open(path, 'w') as handle:
                handle.write(text)
        except (IOError, OSError) as exc:
            raise CommandError('writing %r to %s failed: %s' % (text, path, exc.strerror or exc))

    def session_hctl(self, sid):
        """(host, channel, target) of an iSCSI session; channel/target '-' before any LUN is scanned."""
        base = self.path('sys/class/iscsi_host/host*/device/session%d' % sid)
        targets = sorted(glob.glob(base + '/target*'))
        if targets:
            host, channel, target = os.path.basename(targets[0])[len('target'):].split(':')
            return int(host), channel, target
        sessions = glob.glob(base)
        if not sessions:
            return None
        host = sessions[0].split('/device/session')[0].rsplit('/host', 1)[1]
        return int(host), '-', '-'

    def scan_lun(self, host, channel, target, lun):
        """Ask the SCSI host to scan exactly one LUN."""
        self._write('%s %s %d' % (channel, target, lun), 'sys/class/scsi_host/host%d/scan' % host)

    def session_devices(self, sid):
        """{lun: sdX} of every block device on a session."""
        devices = {}
        pattern = self.path('sys/class/iscsi_host/host*/device/session%d/target*/*:*:*:*/block/*' % sid)
        for block in glob.glob(pattern):
            hctl = os.path.basename(os.path.dirname(os.path.dirname(block)))
            match = _HCTL_RE.match(hctl)
            if match:
                devices[int(match.group(4))] = os.path.basename(block)
        return devices

    def device_exists(self, dev):
        return os.path.exists(self.path('sys/block', dev))

    def wwid(self, dev):
        text = self._read('sys/block', dev, 'device/wwid')
        if text:
            return wwid_from_sysfs(text)
        try:
            with open(self.path('sys/block', dev, 'device/vpd_pg83'), 'rb') as handle:
                return wwid_from_vpd_pg83(handle.read())
        except (IOError, OSError):
            return None

    def size_bytes(self, dev):
        sectors = self._read('sys/block', dev, 'size')
        return int(sectors) * 512 if sectors and sectors.isdigit() else None

    def state(self, dev):
        return self._read('sys/block', dev, 'device/state')

    def holders(self, dev):
        try:
            return sorted(os.listdir(self.path('sys/block', dev, 'holders')))
        except (IOError, OSError):
            return []

    def slaves(self, dm):
        try:
            return sorted(os.listdir(self.path('sys/block', dm, 'slaves')))
        except (IOError, OSError):
            return []

    def dm_name(self, dm):
        return self._read('sys/block', dm, 'dm/name')

    def dm_uuid(self, dm):
        return self._read('sys/block', dm, 'dm/uuid')

    def in_use(self, dm):
        """Why a dm cannot be flushed ('mounted', 'swap', 'held by dm-3'), or None."""
        devt = self._read('sys/block', dm, 'dev')
        mountinfo = self._read('proc/self/mountinfo') or ''
        if devt and devt in parse_mountinfo_devices(mountinfo):
            return 'mounted'
        name = self.dm_name(dm)
        swaps = parse_swaps(self._read('proc/swaps') or '')
        if '/dev/' + dm in swaps or (name and '/dev/mapper/' + name in swaps):
            return 'used as swap'
        holders = self.holders(dm)
        if holders:
            return 'held by ' + ', '.join(holders)
        return None

    def delete_device(self, dev):
        self._write('1', 'sys/block', dev, 'device/delete')

    def udev_known(self, dev):
        """True once udev has processed the device (its database entry exists; multipathd reads the WWID there)."""
        devt = self._read('sys/block', dev, 'dev')
        return bool(devt) and os.path.exists(self.path('run/udev/data', 'b' + devt))

    def settle_udev(self, timeout):
        """``udevadm settle``: multipathd reads the WWID of a new device from the udev database."""
        argv = [self.bin('udevadm'), 'settle', '--timeout=%d' % timeout]
        rc, out, err = self._run_command(argv, timeout=timeout + 5)
        if rc != 0:
            raise self.error('udevadm settle did not finish within %s s' % timeout, argv, rc, out, err)

    def flush_buffers(self, dev):
        argv = [self.bin('blockdev'), '--flushbufs', '/dev/' + dev]
        rc, out, err = self._run_command(argv)
        if rc != 0:
            raise self.error('blockdev --flushbufs /dev/%s failed' % dev, argv, rc, out, err)
