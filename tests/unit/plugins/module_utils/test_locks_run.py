# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import fcntl
import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import (
    LockTimeout,
    lock_name,
    target_lock,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import MASK, mask_secrets


def test_lock_name_is_a_safe_file_name():
    assert lock_name('[fe80::1]:3260', 'iqn.2010-10.org.openstack:volume-1') == \
        'iscsi-_fe80__1__3260-iqn.2010-10.org.openstack_volume-1.lock'


def test_lock_is_exclusive_and_times_out(tmp_path):
    now = [0.0]
    with target_lock('192.0.2.1:3260', 'iqn.2000-01.a:b', str(tmp_path)) as path:
        assert os.path.exists(path)
        with pytest.raises(LockTimeout, match='still held after 1 s'):
            with target_lock('192.0.2.1:3260', 'iqn.2000-01.a:b', str(tmp_path), timeout=1,
                             clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)):
                pass
        with target_lock('198.51.100.1:3260', 'iqn.2000-01.a:b', str(tmp_path), timeout=0):
            pass  # another portal: another lock
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released
    os.close(fd)


def test_mask_secrets():
    assert mask_secrets(['-v', 'abc', 'xabcx'], ['abc', None, '']) == ['-v', MASK, 'x%sx' % MASK]
    assert mask_secrets('pw abcdef and abc', ['abc', 'abcdef']) == 'pw %s and %s' % (MASK, MASK)
    assert mask_secrets(3, ['3']) == 3
