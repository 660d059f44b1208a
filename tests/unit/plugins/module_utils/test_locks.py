# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lock directory is ours alone: planted directories, links and shared modes are refused."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _locks
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import (
    DEFAULT_LOCK_DIR,
    LockDirError,
    check_lock_dir,
    lock_dir_problem,
    lock_name,
    target_lock,
)

PORTAL, IQN = '192.0.2.1:3260', 'iqn.2010-10.org.openstack:volume-1'


def _stat(mode, uid=0):
    return os.stat_result((mode, 1, 2, 2, uid, 0, 0, 0, 0, 0))


def test_default_lock_dir_is_not_world_writable_run_lock():
    assert DEFAULT_LOCK_DIR == '/run/cinder_local-iscsi_multipath'
    assert not DEFAULT_LOCK_DIR.startswith('/run/lock/')


@pytest.mark.parametrize('st, euid, problem', [
    (_stat(stat.S_IFDIR | 0o700), 0, None),
    (_stat(stat.S_IFDIR | 0o700, uid=1000), 1000, None),  # the user running the module
    (_stat(stat.S_IFDIR | 0o500), 0, None),
    (_stat(stat.S_IFLNK | 0o777), 0, 'is a symbolic link'),
    (_stat(stat.S_IFREG | 0o600), 0, 'is not a directory'),
    (_stat(stat.S_IFDIR | 0o700, uid=1000), 0, 'is owned by uid 1000, not by root'),
    (_stat(stat.S_IFDIR | 0o1777), 0, 'has mode 1777'),
    (_stat(stat.S_IFDIR | 0o750), 0, 'has mode 0750'),
    (_stat(stat.S_IFDIR | 0o701), 0, 'has mode 0701'),
])
def test_lock_dir_problem(st, euid, problem):
    found = lock_dir_problem('/run/x', st, euid)
    assert (found is None) if problem is None else (problem in found)


def test_lock_dir_created_0700(tmp_path):
    lock_dir = tmp_path / 'parent' / 'locks'
    with target_lock(PORTAL, IQN, str(lock_dir)) as path:
        assert path == str(lock_dir / lock_name(PORTAL, IQN))
        assert stat.S_IMODE(os.lstat(str(lock_dir)).st_mode) == 0o700
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600


def test_lock_dir_symlink_refused(tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir(mode=0o700)
    (tmp_path / 'locks').symlink_to(elsewhere)
    with pytest.raises(LockDirError, match='locks is a symbolic link: refused'):
        with target_lock(PORTAL, IQN, str(tmp_path / 'locks')):
            pass
    assert os.listdir(str(elsewhere)) == []  # nothing created through the link


def test_lock_dir_planted_world_writable_refused(tmp_path):
    planted = tmp_path / 'locks'
    planted.mkdir()
    os.chmod(str(planted), 0o1777)
    with pytest.raises(LockDirError, match='has mode 1777: refused'):
        check_lock_dir(str(planted))
    assert os.listdir(str(planted)) == []


def test_lock_dir_planted_by_another_user_refused(tmp_path, monkeypatch):
    planted = tmp_path / 'locks'
    planted.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(str(planted), 4242, 4242)  # a local user made it first
        owner = 4242
    else:  # not root: we own it, so pretend to run as somebody else
        owner = os.geteuid()
        monkeypatch.setattr(_locks, '_euid', lambda: owner + 1)
    with pytest.raises(LockDirError, match='is owned by uid %d, not by root' % owner):
        with target_lock(PORTAL, IQN, str(planted)):
            pass
    assert os.listdir(str(planted)) == []


def test_lock_dir_plain_file_refused(tmp_path):
    (tmp_path / 'locks').write_text('')
    with pytest.raises(LockDirError, match='is not a directory'):
        check_lock_dir(str(tmp_path / 'locks'))


def test_lock_file_symlink_refused(tmp_path):
    lock_dir = tmp_path / 'locks'
    lock_dir.mkdir(mode=0o700)
    victim = tmp_path / 'victim'
    (lock_dir / lock_name(PORTAL, IQN)).symlink_to(victim)
    with pytest.raises(LockDirError, match='cannot open lock file .*without following links'):
        with target_lock(PORTAL, IQN, str(lock_dir)):
            pass
    assert not victim.exists()


def test_lock_files_opened_nofollow_cloexec(tmp_path, monkeypatch):
    flags = []
    real_open = os.open

    def spy(path, flag, *args, **kwargs):
        flags.append(flag)
        return real_open(path, flag, *args, **kwargs)
    monkeypatch.setattr(_locks.os, 'open', spy)
    with target_lock(PORTAL, IQN, str(tmp_path / 'locks')):
        pass
    assert len(flags) == 2  # the directory, then the lock file inside it
    assert all(flag & os.O_NOFOLLOW and flag & os.O_CLOEXEC for flag in flags)
    assert flags[0] & os.O_DIRECTORY and flags[1] & os.O_CREAT
