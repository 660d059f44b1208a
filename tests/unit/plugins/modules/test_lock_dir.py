# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A planted lock_dir fails the modules with a clear error before any command runs."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_session, iscsi_volume

IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
A = '192.0.2.1:3260'


@pytest.fixture
def planted(tmp_path):
    """A symbolic link where the lock directory should be, pointing at a directory of someone else's choice."""
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir(mode=0o700)
    (tmp_path / 'locks').symlink_to(elsewhere)
    return tmp_path / 'locks'


def test_session_lock_dir_symlink_refused(harness, planted):
    args = {'portal': A, 'iqn': IQN, 'lock_dir': str(planted)}
    result, failed = harness.run(iscsi_session.main, args, [])  # not one command
    assert failed and result['msg'].startswith('lock_dir %s is a symbolic link: refused' % planted)
    assert os.listdir(str(planted.resolve())) == []


@pytest.mark.parametrize('state', ['present', 'absent'])
def test_volume_lock_dir_world_writable_refused(harness, tmp_path, state):
    lock_dir = tmp_path / 'locks'
    lock_dir.mkdir()
    os.chmod(str(lock_dir), 0o1777)
    args = {'targets': [{'portal': A, 'iqn': IQN, 'lun': 1}], 'lock_dir': str(lock_dir), 'state': state}
    result, failed = harness.run(iscsi_volume.main, args, [])  # not one command
    assert failed and result['msg'].startswith('lock_dir %s has mode 1777: refused' % lock_dir)
