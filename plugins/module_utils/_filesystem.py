# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Online growth of a filesystem mounted from a volume's map (ext2/3/4 with resize2fs, XFS with xfs_growfs)."""

from __future__ import annotations

import os
import re

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, CommandRunner

DEFAULT_ROOT = '/'
EXT_TYPES = ('ext2', 'ext3', 'ext4')
# A filesystem at most this much smaller than its device is full size: ext4 leaves a last block group too small for
# its own metadata unused, XFS a last allocation group under its minimum. Cinder grows a volume by whole GiB.
GROW_SLACK = 16 << 20
_XFS_DATA_RE = re.compile(r'^data\s*=\s*bsize=(\d+)\s+blocks=(\d+)', re.MULTILINE)
_OCTAL_RE = re.compile(r'\\([0-7]{3})')


def unescape(field):
    """A mountinfo path field with its octal escapes (\\040 for a space) decoded."""
    return _OCTAL_RE.sub(lambda match: chr(int(match.group(1), 8)), field)


def parse_mountinfo(text):
    """/proc/self/mountinfo -> [{devt, root, mountpoint, fstype, source}] in mount order."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if ' - ' not in line or len(fields) < 7:
            continue
        tail = line.split(' - ', 1)[1].split()
        mounts.append({'devt': fields[2], 'root': unescape(fields[3]), 'mountpoint': unescape(fields[4]),
                       'fstype': tail[0] if tail else None, 'source': unescape(tail[1]) if len(tail) > 1 else None})
    return mounts


def parse_dumpe2fs(text):
    """``dumpe2fs -h`` -> size of the filesystem in bytes (block count x block size), or None."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition(':')
        if sep and key.strip() in ('Block count', 'Block size'):
            values[key.strip()] = value.strip()
    if values.get('Block count', '').isdigit() and values.get('Block size', '').isdigit():
        return int(values['Block count']) * int(values['Block size'])
    return None


def parse_xfs_info(text):
    """``xfs_info`` (or ``xfs_growfs``) geometry -> size of the data section in bytes, or None."""
    match = _XFS_DATA_RE.search(text)
    return int(match.group(1)) * int(match.group(2)) if match else None


class Filesystems(CommandRunner):
    """The filesystem mounted from a block device: found in /proc/self/mountinfo under ``root`` (``/`` on hosts),
    measured and grown through the ``_run_command`` seam. The tools are looked up only when a filesystem is there."""

    COMMANDS = ('timeout',)
    TOOLS = {'ext': ('dumpe2fs', 'resize2fs'), 'xfs': ('xfs_info', 'xfs_growfs')}

    def __init__(self, module, timeout=600, root=None):
        super().__init__(module, timeout=timeout)
        self.root = DEFAULT_ROOT if root is None else root

    def mount_of(self, devt):
        """The first mount of the whole device devt ('major:minor') with its own root, or None."""
        try:
            with open(os.path.join(self.root, 'proc/self/mountinfo'), encoding='utf-8', errors='replace') as handle:
                text = handle.read()
        except (IOError, OSError):
            return None
        found = [mount for mount in parse_mountinfo(text) if mount['devt'] == devt]
        own = [mount for mount in found if mount['root'] == '/']
        return (own or found or [None])[0]

    @staticmethod
    def family(fstype):
        """'ext' or 'xfs' for a type this module grows, else None."""
        if fstype in EXT_TYPES:
            return 'ext'
        return 'xfs' if fstype == 'xfs' else None

    def _call(self, argv, what):
        rc, out, err = self._run_command(argv)
        if rc != 0:
            raise self.error('%s failed' % what, argv, rc, out, err)
        return out

    def size_bytes(self, family, device, mountpoint):
        """Size of the mounted filesystem in bytes (ext: its superblock through the device, XFS: its geometry)."""
        if family == 'ext':
            argv = [self.bin('dumpe2fs'), '-h', device]
            size = parse_dumpe2fs(self._call(argv, 'dumpe2fs -h %s' % device))
        else:
            argv = [self.bin('xfs_info'), mountpoint]
            size = parse_xfs_info(self._call(argv, 'xfs_info %s' % mountpoint))
        if size is None:
            raise CommandError('cannot read the size of the filesystem on %s from %s' % (device, argv[0]), argv)
        return size

    def grow(self, family, device, mountpoint):
        """Grow the mounted filesystem to its device (resize2fs DEVICE, xfs_growfs -d MOUNTPOINT)."""
        if family == 'ext':
            self._call([self.bin('resize2fs'), device], 'resize2fs %s' % device)
        else:
            self._call([self.bin('xfs_growfs'), '-d', mountpoint], 'xfs_growfs -d %s' % mountpoint)
