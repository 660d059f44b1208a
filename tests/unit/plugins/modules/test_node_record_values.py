# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CHAP and every value a module writes to a node record: verbatim, refused with a control character before any
command runs, never quoted in the error."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_discovery, iscsi_session, iscsi_volume
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call, replay_steps

STEPS = replay_steps()
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'
A, B = '192.0.2.1:3260', '198.51.100.1:3260'
NODE = ['/usr/sbin/iscsiadm', '-m', 'node', '-T', IQN, '-p', A]
SESSIONS = ['/usr/sbin/iscsiadm', '-m', 'session']
ONE_SESSION = 'tcp: [1] 192.0.2.1:3260,1 %s (non-flash)\n' % IQN
SHOW_AUTOMATIC = STEPS['node_show_a']['stdout'].replace('node.startup = manual', 'node.startup = automatic')
SECRET = 's3cret'
INJECTED = SECRET + '\nnode.startup = automatic'


def _session_args(tmp_path, **auth):
    return {'portal': A, 'iqn': IQN, 'lock_dir': str(tmp_path / 'locks'),
            'replacement_timeout': 15, 'noop_out_interval': 5, 'noop_out_timeout': 10, 'login_retries': 2,
            'auth': dict({'username': 'hmuser', 'password': 'hmsecret-0001'}, **auth)}


def test_chap_secret_passed_verbatim_to_iscsiadm(harness, sysfs, tmp_path):
    """$VAR and ~ stay as they are in the argv (the run_command seam keeps them: test_run.py)."""
    sysfs.add_session(2, 1)
    secret = 'pa$HOME~/${USER}`id`'
    update = NODE + ['--op', 'update', '-n', 'node.session.auth.password', '-v', secret]
    result, failed = harness.run(iscsi_session.main, _session_args(tmp_path, password=secret), [
        call(NODE + ['-S'], stdout=SHOW_AUTOMATIC), call(SESSIONS, stdout=ONE_SESSION), call(update)])
    assert not failed and result['updated'] == ['node.session.auth.password']


@pytest.mark.parametrize('key', ['username', 'password', 'mutual_username', 'mutual_password'])
def test_session_chap_control_character_refused(harness, tmp_path, key):
    args = _session_args(tmp_path, **{key: INJECTED})
    result, failed = harness.run(iscsi_session.main, args, [])  # not one command
    assert failed and result['msg'].startswith('auth.%s holds a control character (U+000A)' % key)
    assert SECRET not in repr(result)
    assert not os.path.exists(args['lock_dir'])


def test_session_iface_newline_refused(harness, tmp_path):
    args = dict(_session_args(tmp_path), iface='default\nnode.startup = automatic')
    result, failed = harness.run(iscsi_session.main, args, [])
    assert failed and result['msg'].startswith('iface holds a control character (U+000A)')


def test_volume_chap_control_character_refused(harness, tmp_path):
    volume = {'targets': [{'portal': A, 'iqn': IQN, 'lun': 1}]}
    args = {'lock_dir': str(tmp_path / 'locks'), 'volumes': [
        dict(volume, auth={'username': 'u', 'password': 'p'}),
        {'targets': [{'portal': B, 'iqn': IQN + '-2', 'lun': 1}], 'auth': {'username': 'u', 'password': INJECTED}}]}
    result, failed = harness.run(iscsi_volume.main, args, [])
    assert failed and result['msg'].startswith('volumes[1] auth.password holds a control character (U+000A)')
    assert SECRET not in repr(result)


def test_discovery_chap_control_character_refused(harness):
    args = {'portal': A, 'auth': {'username': 'u', 'password': INJECTED}}
    result, failed = harness.run(iscsi_discovery.main, args, [])
    assert failed and result['msg'].startswith('auth.password holds a control character (U+000A)')
    assert SECRET not in repr(result)
