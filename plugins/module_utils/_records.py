# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The attach record of a volume on its host: what a detach needs when Cinder is not asked. No secret in it.

One JSON file per volume, ``<record_dir>/<volume_id>.json``, mode 0600 in a directory only root can enter
(0700), written by iscsi_volume: ``version``, ``volume_id``, ``attachment_id``, ``wwid``, ``device``,
``size_bytes``, ``targets`` (every path of the volume, the ones that did not come up included) and the
``own_sessions`` and ``own_nodes`` its attaches opened or made (each a list of ``{portal, iqn, lun}``), and since
version 2, when this collection mounted the volume, ``mount``: ``{path, fstype, device, fstab, created_filesystem}``
(the fstab line it wrote, the only one a detach removes). Records without ``version`` were written by the roles of an
earlier 0.1.0 build and read the same way; version 1 records have no ``mount``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile

RECORD_VERSION = 2
MOUNT_KEYS = ('path', 'fstype', 'device', 'fstab', 'created_filesystem')
DEFAULT_RECORD_DIR = '/var/lib/cinder_local/attachments'


class RecordError(Exception):
    """A record cannot be trusted or read."""


def record_file(volume_id):
    """The file name of a volume's record; raise RecordError for an id that is not a plain name."""
    if (not isinstance(volume_id, str) or not volume_id or volume_id in ('.', '..') or '/' in volume_id
            or not volume_id.isprintable()):
        raise RecordError('volume_id %r cannot name an attach record' % (volume_id,))
    return volume_id + '.json'


def record_problem(record, volume_id):
    """Why a parsed record cannot be used for volume_id, or None."""
    if not isinstance(record, dict):
        return 'is not a JSON object'
    if record.get('volume_id') != volume_id:
        return 'names volume %r' % (record.get('volume_id'),)
    if record.get('version', 0) > RECORD_VERSION:
        return 'has version %s; this collection reads up to %d' % (record.get('version'), RECORD_VERSION)
    if not isinstance(record.get('targets'), list) or not record['targets']:
        return 'lists no targets'
    mount = record.get('mount')
    if mount is not None and not (isinstance(mount, dict) and isinstance(mount.get('path'), str)
                                  and isinstance(mount.get('fstab'), str)):
        return 'has a mount without its path and fstab line'
    return None


def merged(earlier, later):
    """The targets of both lists, each once, earlier ones first."""
    return earlier + [target for target in later if target not in earlier]


def attach_record(volume, result, previous):
    """The record of a volume iscsi_volume just attached; previous is its earlier record (or None)."""
    previous = previous or {}
    opened = [t for t in result['targets'] if _portal_of(result, t, 'logged_in')]
    made = [t for t in result['targets'] if _portal_of(result, t, 'created_node')]
    mount = result.get('mount') or previous.get('mount')
    record = {'version': RECORD_VERSION, 'volume_id': volume['volume_id'], 'attachment_id': volume['attachment_id'],
              'wwid': result['wwid'], 'device': result['device'], 'size_bytes': result['size_bytes'],
              'targets': result['targets'],
              'own_sessions': merged(previous.get('own_sessions') or [], opened),
              'own_nodes': merged(previous.get('own_nodes') or [], made)}
    if mount:
        record['mount'] = dict((key, mount.get(key)) for key in MOUNT_KEYS)
    return record


def _portal_of(result, target, flag):
    return any(p['portal'] == target['portal'] and p['iqn'] == target['iqn'] and p.get(flag)
               for p in result['portals'])


def _record_dir_fd(record_dir):
    """An fd of record_dir, made 0700 (with its parents) when missing; refused when it is a symbolic link or others can write it."""
    try:
        os.makedirs(record_dir, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise RecordError('cannot create %s: %s' % (record_dir, exc.strerror))
    try:
        fd = os.open(record_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0))
    except OSError as exc:
        raise RecordError('cannot open %s (a symbolic link?): %s' % (record_dir, exc.strerror))
    st = os.fstat(fd)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or st.st_uid != os.geteuid():
        os.close(fd)
        raise RecordError('%s is not a directory only this user can write' % record_dir)
    return fd


def write_record(record_dir, record):
    """Write a record atomically (a 0600 temporary file, fsync, rename over the old one); raise RecordError."""
    name = record_file(record['volume_id'])
    dir_fd = _record_dir_fd(record_dir)
    try:
        handle = tempfile.NamedTemporaryFile('w', dir=record_dir, prefix='.' + name, delete=False)
        try:
            with handle:
                json.dump(record, handle, indent=2, sort_keys=True)
                handle.write('\n')
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(handle.name, os.path.join(record_dir, name))
        except BaseException:
            os.unlink(handle.name)
            raise
        os.fsync(dir_fd)
    except OSError as exc:
        raise RecordError('cannot write the attach record of %s in %s: %s' % (record['volume_id'], record_dir, exc))
    finally:
        os.close(dir_fd)


def record_ids(record_dir):
    """The volume ids of every record in record_dir, sorted (none without the directory; temporary files skipped)."""
    try:
        names = os.listdir(record_dir)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return []
        raise RecordError('cannot list %s: %s' % (record_dir, exc.strerror))
    return sorted(name[:-len('.json')] for name in names if name.endswith('.json') and not name.startswith('.'))


def read_record(record_dir, volume_id):
    """The record of volume_id, or None when there is none; raise RecordError for one that cannot be trusted.

    The directory and the file must not be symbolic links, and the directory must not be writable by others.
    """
    path = os.path.join(record_dir, record_file(volume_id))
    try:
        st = os.lstat(record_dir)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):  # no directory: nothing was ever attached
            return None
        raise RecordError('cannot read %s: %s' % (record_dir, exc.strerror))
    if not stat.S_ISDIR(st.st_mode) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise RecordError('%s is not a directory only its owner can write' % record_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise RecordError('cannot open %s: %s' % (path, exc.strerror))
    with os.fdopen(fd, 'r') as handle:
        return parse_record(handle.read(), path, volume_id)


def parse_record(text, path, volume_id):
    """The record of volume_id in text (read from path); raise RecordError when it is not valid JSON or not usable."""
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise RecordError('%s is not valid JSON: %s' % (path, exc))
    problem = record_problem(record, volume_id)
    if problem:
        raise RecordError('%s %s' % (path, problem))
    return record
