# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Host-wide file locks per (portal, iqn), like os-brick's connect_to_iscsi_portal-<portal>-<iqn>.

The lock files live in a directory of our own that only its owner (root, or the user running the module) may
enter: in a world-writable directory such as /run/lock (mode 1777) any local user could plant the lock files
(hold every lock forever) or symbolic links (make root create files elsewhere). The directory is checked with
lstat() and opened with O_NOFOLLOW; lock files are opened inside that open directory with O_NOFOLLOW.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import time

# /run is root's (0755): nobody else can plant a directory or a link there before we create ours.
DEFAULT_LOCK_DIR = '/run/cinder_local-iscsi_multipath'
POLL_SECONDS = 0.2
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def lock_argument_spec():
    """Options of the modules that lock a (portal, IQN) (documented by the _iscsi_target.locks doc fragment)."""
    return dict(
        lock_dir=dict(type='path', default=DEFAULT_LOCK_DIR),
        lock_timeout=dict(type='int', default=120),
    )


class LockError(Exception):
    """A lock could not be taken."""


class LockTimeout(LockError):
    """The lock stayed taken for longer than the timeout."""


class LockDirError(LockError):
    """The lock directory or a lock file is not one only we control (planted, shared, a link)."""


def lock_name(portal, iqn):
    """A file name safe for any portal (IPv6 brackets, colons) and IQN."""
    return re.sub(r'[^A-Za-z0-9.-]', '_', 'iscsi-%s-%s' % (portal, iqn)) + '.lock'


def _euid():
    return os.geteuid()


def lock_dir_problem(path, st, euid):
    """Why the lstat() result st of the lock directory cannot be trusted, or None."""
    if stat.S_ISLNK(st.st_mode):
        return ('lock_dir %s is a symbolic link: refused (someone may have planted it; remove it, or choose another '
                'lock_dir)' % path)
    if not stat.S_ISDIR(st.st_mode):
        return 'lock_dir %s is not a directory: refused (remove it, or choose another lock_dir)' % path
    if st.st_uid not in (0, euid):
        return ('lock_dir %s is owned by uid %d, not by root (or uid %d running the module): refused, its owner '
                'could hold or swap every lock (remove it, or choose another lock_dir)' % (path, st.st_uid, euid))
    if st.st_mode & 0o077:
        return ('lock_dir %s has mode %04o: refused, others could plant or hold lock files in it (it must be 0700: '
                'chmod 0700 it, or choose another lock_dir)' % (path, stat.S_IMODE(st.st_mode)))
    return None


def open_lock_dir(lock_dir):
    """An fd of lock_dir (created 0700 when missing) once it is checked; raise LockDirError."""
    if not os.path.lexists(lock_dir):
        try:
            os.makedirs(lock_dir, mode=0o700)
        except FileExistsError:
            pass  # another run created it meanwhile: checked below like any other
        except OSError as exc:
            raise LockDirError('cannot create lock_dir %s: %s' % (lock_dir, exc.strerror)) from None
    try:
        before = os.lstat(lock_dir)
    except OSError as exc:
        raise LockDirError('cannot read lock_dir %s: %s' % (lock_dir, exc.strerror)) from None
    problem = lock_dir_problem(lock_dir, before, _euid())
    if problem:
        raise LockDirError(problem)
    try:
        fd = os.open(lock_dir, _DIR_FLAGS)
    except OSError as exc:
        raise LockDirError('cannot open lock_dir %s: %s' % (lock_dir, exc.strerror)) from None
    after = os.fstat(fd)
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        raise LockDirError('lock_dir %s was replaced while it was checked: refused' % lock_dir)
    return fd


def check_lock_dir(lock_dir):
    """Create (0700) and check lock_dir; raise LockDirError. For modules to fail before any change."""
    os.close(open_lock_dir(lock_dir))


def _open_lock_file(dir_fd, lock_dir, name):
    path = os.path.join(lock_dir, name)
    try:
        fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        raise LockDirError('cannot open lock file %s: %s (refused: lock files are opened without following '
                           'links)' % (path, exc.strerror)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LockDirError('lock file %s is not a regular file: refused' % path)
    return fd, path


@contextlib.contextmanager
def target_lock(portal, iqn, lock_dir=DEFAULT_LOCK_DIR, timeout=60, clock=time.monotonic, sleep=time.sleep):
    """Hold an exclusive flock on <lock_dir>/<lock_name> while the block runs."""
    dir_fd = open_lock_dir(lock_dir)
    try:
        fd, path = _open_lock_file(dir_fd, lock_dir, lock_name(portal, iqn))
    finally:
        os.close(dir_fd)
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


@contextlib.contextmanager
def targets_locked(keys, lock_dir=DEFAULT_LOCK_DIR, timeout=60):
    """Hold the lock of every (portal, iqn) in keys for the whole block, as os-brick holds its lock over a
    whole connect or disconnect: a detach of one LUN cannot log out the session an attach of another LUN of
    the same target is scanning. Taken in sorted order, so two callers never wait on each other in a circle."""
    with contextlib.ExitStack() as stack:
        for portal, iqn in sorted(set(keys)):
            stack.enter_context(target_lock(portal, iqn, lock_dir, timeout))
        yield
