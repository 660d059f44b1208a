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
_HEX_WWID_RE = re.compile(r'^[23][0-9a-f]+$')
DEFAULT_ROOT = '/'
# processes whose open file descriptors on a device are no use of it: multipathd keeps every path it checks open,
# udev workers open new devices for a moment to probe them
IGNORED_OPENERS = ('multipathd', 'systemd-udevd', '(udev-worker)', 'udevd')


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


def parse_udev_serial(text):
    """A udev database entry (/run/udev/data/bMAJ:MIN) -> its ID_SERIAL (what multipathd takes as the WWID), or None."""
    for line in text.splitlines():
        if line.startswith('E:ID_SERIAL='):
            return line[len('E:ID_SERIAL='):].strip()
    return None


def udev_disagrees(udev_wwid, wwid):
    """True when udev recorded another NAA/EUI-64 WWID than the device shows now (an identity from before the LUN
    was reused: multipathd would put the device in the old volume's map). Other forms (T10 vendor ids) are spelled
    differently by scsi_id and the kernel: not compared."""
    return bool(udev_wwid and wwid and _HEX_WWID_RE.match(udev_wwid) and _HEX_WWID_RE.match(wwid)
                and udev_wwid != wwid)


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

    def _devt(self, *parts):
        return self._read('sys/block', *(parts + ('dev',)))

    def devt(self, dev):
        """'major:minor' of a block device (sdX, dm-N), or None."""
        return self._devt(dev)

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

    def session_attribute(self, sid, name):
        """An attribute of an iSCSI session in sysfs (``state``: LOGGED_IN, FAILED, FREE; ``ifacename``), or None."""
        return self._read('sys/class/iscsi_session/session%d' % sid, name)

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

    def rescan_device(self, dev):
        """Make the kernel re-read the device's identity (VPD pages, so ``device/wwid``) and size from the target,
        as os-brick does (``device/rescan``; the write returns when it is done). False when the device is gone."""
        try:
            self._write('1', 'sys/block', dev, 'device/rescan')
        except CommandError:
            return False
        return True

    def udev_wwid(self, dev):
        """The WWID (ID_SERIAL) udev recorded for the device, or None."""
        devt = self._devt(dev)
        text = self._read('run/udev/data', 'b' + devt) if devt else None
        return parse_udev_serial(text) if text else None

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

    def partitions(self, dev):
        """The partitions of a block device (sdb1...)."""
        try:
            names = os.listdir(self.path('sys/block', dev))
        except (IOError, OSError):
            return []
        return sorted(name for name in names if name.startswith(dev) and os.path.exists(
            self.path('sys/block', dev, name, 'partition')))

    def maps_of_wwid(self, wwid):
        """The multipath maps (dm-N) of a WWID, from their dm uuid in sysfs."""
        found = []
        for uuid in glob.glob(self.path('sys/block/dm-*/dm/uuid')):
            dm = uuid.split(os.sep)[-3]
            if self._read('sys/block', dm, 'dm/uuid') == 'mpath-' + wwid:
                found.append(dm)
        return sorted(found)

    def openers(self):
        """{device node: ['comm[pid]'...]} of the block devices processes hold open (their /proc/PID/fd links), but
        multipathd and udev workers (IGNORED_OPENERS) and this process."""
        found = {}
        for fd_dir in glob.glob(self.path('proc/[0-9]*/fd')):
            pid = fd_dir.split(os.sep)[-2]
            comm = self._read('proc', pid, 'comm')
            if comm in IGNORED_OPENERS or pid == str(os.getpid()):
                continue
            try:
                names = os.listdir(fd_dir)
            except (IOError, OSError):
                continue  # the process ended, or is not ours to look at
            for name in names:
                try:
                    target = os.readlink(os.path.join(fd_dir, name))
                except (IOError, OSError):
                    continue
                if target.startswith('/dev/'):
                    opener = '%s[%s]' % (comm or '?', pid)
                    if opener not in found.setdefault(target, []):
                        found[target].append(opener)
        return found

    def in_use(self, dev, ignore=(), openers=None):
        """Why a block device (a map or a SCSI path) cannot be removed, or None: 'mounted', 'used as swap',
        'held by dm-3 (NAME)', 'open by dd[123]' - the device or one of its partitions. ignore: holders that do not
        count (a path's own map, removed first); openers: an openers() answer to reuse."""
        names = [dev] + self.partitions(dev)
        parts = dict((name, (name,) if name == dev else (dev, name)) for name in names)
        mounted = parse_mountinfo_devices(self._read('proc/self/mountinfo') or '')
        for name in names:
            devt = self._devt(*parts[name])
            if devt and devt in mounted:
                return 'mounted' if name == dev else 'mounted (%s)' % name
        nodes = dict((name, ['/dev/' + name]) for name in names)
        dm_name = self.dm_name(dev)
        if dm_name:
            nodes[dev].append('/dev/mapper/' + dm_name)
        swaps = parse_swaps(self._read('proc/swaps') or '')
        if any(node in swaps for name in names for node in nodes[name]):
            return 'used as swap'
        holders = []
        for name in names:
            try:
                holders += sorted(os.listdir(self.path('sys/block', *(parts[name] + ('holders',)))))
            except (IOError, OSError):
                pass
        holders = [holder for holder in holders if holder not in ignore]
        if holders:
            return 'held by ' + ', '.join('%s (%s)' % (holder, self.dm_name(holder)) if self.dm_name(holder) else holder
                                          for holder in holders)
        if openers is None:
            openers = self.openers()
        users = [user for name in names for node in nodes[name] for user in openers.get(node, [])]
        if users:
            return 'open by ' + ', '.join(sorted(set(users)))
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
