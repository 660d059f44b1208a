# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The attach record of a volume on its host: what a detach needs when Cinder is not asked. No secret in it.

One JSON file per volume, ``<record_dir>/<volume_id>.json``, mode 0600 in a root-only directory:
``version`` (absent in records written before it existed), ``volume_id``, ``attachment_id``, ``host``,
``initiator``, ``controller``, ``wwid``, ``device``, ``size_bytes``, ``targets`` and the ``own_sessions`` and
``own_nodes`` the attach opened or made (each a list of ``{portal, iqn, lun}``).
"""

from __future__ import annotations

import errno
import json
import os
import stat

RECORD_VERSION = 1
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
    return None


def read_record(record_dir, volume_id):
    """The record of volume_id, or None when there is none; raise RecordError for one that cannot be trusted.

    The directory and the file must not be symbolic links, and the directory must not be writable by others.
    """
    path = os.path.join(record_dir, record_file(volume_id))
    try:
        st = os.lstat(record_dir)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
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
        try:
            record = json.load(handle)
        except ValueError as exc:
            raise RecordError('%s is not valid JSON: %s' % (path, exc))
    problem = record_problem(record, volume_id)
    if problem:
        raise RecordError('%s %s' % (path, problem))
    return record
