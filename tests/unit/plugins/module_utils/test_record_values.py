# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Values written to node and discovery records (iscsiadm -n NAME -v VALUE): verbatim, one line each."""

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm, setting_problem
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._session import auth_problem, iface_problem
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    TargetsError,
    control_character,
    normalize_connection_info,
)

SECRET = 's3cret'
INJECTED = SECRET + '\nnode.startup = automatic'  # a newline writes a second setting into the record
IQN = 'iqn.2010-10.org.openstack:volume-1'


class NoCommands:
    """A module that fails the test if anything would run."""

    def get_bin_path(self, name, required=False):
        raise AssertionError('a command was about to run')

    def run_command(self, *args, **kwargs):
        raise AssertionError('a command ran')


@pytest.mark.parametrize('text, found', [
    ('plain', None), ('pa$HOME ~ é', None), ('a\nb', 'U+000A'), ('a\rb', 'U+000D'), ('\x00', 'U+0000'),
    ('tab\there', 'U+0009'), ('\x7f', 'U+007F'), ('\x85', 'U+0085'),
])
def test_control_character(text, found):
    assert control_character(text) == found


def test_node_record_value_newline_refused():
    problem = setting_problem('node.session.auth.password', INJECTED)
    assert problem.startswith('node.session.auth.password: the value holds a control character (U+000A)')
    assert SECRET not in problem
    assert setting_problem('node.session.timeo.replacement_timeout', 15) is None


def test_node_update_with_newline_refused_before_iscsiadm_runs():
    with pytest.raises(CommandError) as info:
        Iscsiadm(NoCommands()).node_update('192.0.2.1:3260', IQN, [
            ('node.session.auth.username', 'user'), ('node.session.auth.password', INJECTED)])
    assert 'node.session.auth.password' in info.value.msg and SECRET not in repr(vars(info.value))


def test_discovery_chap_with_newline_refused_before_iscsiadm_runs():
    with pytest.raises(CommandError) as info:
        Iscsiadm(NoCommands()).discover('192.0.2.1:3260', {'method': 'CHAP', 'username': 'u', 'password': INJECTED})
    assert 'discovery.sendtargets.auth.password' in info.value.msg and SECRET not in info.value.msg


@pytest.mark.parametrize('key', ['username', 'password', 'mutual_username', 'mutual_password'])
def test_chap_control_character_refused(key):
    auth = {'method': 'CHAP', 'username': 'u', 'password': 'p', key: INJECTED}
    problem = auth_problem(auth, 'volumes[1].auth')
    assert problem.startswith('volumes[1].auth.%s holds a control character (U+000A)' % key)
    assert SECRET not in problem


def test_chap_with_shell_characters_accepted():
    assert auth_problem({'username': '~user', 'password': 'pa$HOME`x` "y"'}) is None
    assert auth_problem(None) is None


@pytest.mark.parametrize('iface, problem', [
    ('default', None), ('iser', None), ('st-a_1.0', None),
    ('a\nb', 'iface holds a control character (U+000A)'), ('', 'is not an iface name'),
    ('../x', 'is not an iface name'), ('..', 'is not an iface name'), ('a b', 'is not an iface name'),
])
def test_iface_name_checked(iface, problem):
    found = iface_problem(iface)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize('prefix', ['auth_', 'discovery_auth_'])
@pytest.mark.parametrize('key', ['username', 'password'])
def test_cinder_chap_control_character_refused(prefix, key):
    data = {'target_portal': '192.0.2.1:3260', 'target_iqn': IQN, 'target_lun': 1,
            prefix + 'method': 'CHAP', prefix + 'username': 'u', prefix + 'password': 'p'}
    data[prefix + key] = INJECTED
    with pytest.raises(TargetsError) as info:
        normalize_connection_info(data)
    assert str(info.value).startswith('%s%s holds a control character (U+000A)' % (prefix, key))
    assert SECRET not in str(info.value)
