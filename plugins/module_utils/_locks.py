# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Host-wide file locks per (portal, iqn), like os-brick's connect_to_iscsi_portal-<portal>-<iqn>."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time

DEFAULT_LOCK_DIR = '/run/lock/cinder_local.iscsi_multipath'
POLL_SECONDS = 0.2


def lock_argument_spec():
    """Options of the modules that lock a (portal, IQN) (documented by the _iscsi_target.locks doc fragment)."""
    return dict(
        lock_dir=dict(type='path', default=DEFAULT_LOCK_DIR),
        lock_timeout=dict(type='int', default=120),
    )


class LockTimeout(Exception):
    """The lock stayed taken for longer than the timeout."""


def lock_name(portal, iqn):
    """A file name safe for any portal (IPv6 brackets, colons) and IQN."""
    return re.sub(r'[^A-Za-z0-9.-]', '_', 'iscsi-%s-%s' % (portal, iqn)) + '.lock'


@contextlib.contextmanager
def target_lock(portal, iqn, lock_dir=DEFAULT_LOCK_DIR, timeout=60, clock=time.monotonic, sleep=time.sleep):
    """Hold an exclusive flock on <lock_dir>/<lock_name> while the block runs."""
    os.makedirs(lock_dir, mode=0o700, exist_ok=True)
    path = os.path.join(lock_dir, lock_name(portal, iqn))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = clock() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError):
                if clock() >= deadline:
                    raise LockTimeout('lock %s still held after %s s' % (path, timeout)) from None
                sleep(POLL_SECONDS)
        yield path
    finally:
        os.close(fd)
