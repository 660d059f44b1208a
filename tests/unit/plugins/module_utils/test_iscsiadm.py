# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import MASK, CommandError
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import replay_steps

STEPS = replay_steps()
IQN = 'iqn.2010-10.org.openstack:volume-hm-0001'


def test_parse_sessions():
    assert _iscsiadm.parse_sessions(STEPS['session_two']['stdout']) == [
        {'sid': 5, 'transport': 'tcp', 'portal': '192.0.2.1:3260', 'tpgt': 1, 'iqn': IQN},
        {'sid': 6, 'transport': 'tcp', 'portal': '198.51.100.1:3260', 'tpgt': 1, 'iqn': IQN},
    ]


def test_parse_sessions_ipv6_and_iser_and_noise():
    text = ('iser: [7] [FE80::1]:3260,1 iqn.2000-01.example:t (non-flash)\n'
            'qla4xxx: [8] 10.0.0.1:3260,1 iqn.2000-01.example:u (flash)\ngarbage\n')
    assert _iscsiadm.parse_sessions(text) == [
        {'sid': 7, 'transport': 'iser', 'portal': '[fe80::1]:3260', 'tpgt': 1, 'iqn': 'iqn.2000-01.example:t'},
        {'sid': 8, 'transport': 'qla4xxx', 'portal': '10.0.0.1:3260', 'tpgt': 1, 'iqn': 'iqn.2000-01.example:u'},
    ]


def test_parse_records_discovery_and_node_list():
    assert _iscsiadm.parse_records(STEPS['discovery_a']['stdout']) == [
        {'portal': '192.0.2.1:3260', 'iqn': IQN, 'tpgt': 1}]
    text = '[fe80::1]:3260,-1 iqn.2000-01.example:t\n[fe80::1]:3260,-1 iqn.2000-01.example:t\nhost.example:3260,1 iqn.2000-01.example:t\n'
    assert _iscsiadm.parse_records(text) == [
        {'portal': '[fe80::1]:3260', 'iqn': 'iqn.2000-01.example:t', 'tpgt': -1},
        {'portal': 'host.example:3260', 'iqn': 'iqn.2000-01.example:t', 'tpgt': 1}]


def test_parse_node_settings():
    settings = _iscsiadm.parse_node_settings(STEPS['node_show_a']['stdout'])
    assert settings['node.name'] == IQN
    assert settings['node.session.scan'] == 'manual'
    assert settings['node.conn[0].timeo.login_timeout'] == '5'
    assert settings['node.session.auth.username_in'] == ''
    assert not any(key.startswith('#') for key in settings)


def test_find_session():
    sessions = _iscsiadm.parse_sessions(STEPS['session_two']['stdout'])
    assert _iscsiadm.find_session(sessions, '198.51.100.1:3260', IQN)['sid'] == 6
    assert _iscsiadm.find_session(sessions, '198.51.100.1:3260', 'iqn.2000-01.example:x') is None


class FakeModule:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def get_bin_path(self, name, required=False):
        return {'timeout': '/usr/bin/timeout'}.get(name, '/usr/sbin/' + name)

    def run_command(self, argv, environ_update=None, expand_user_and_vars=True):
        assert expand_user_and_vars is False  # arguments (CHAP secrets) verbatim
        self.calls.append((argv, environ_update))
        return self.answers.pop(0)


def test_run_command_seam_prefixes_timeout_and_c_locale():
    module = FakeModule([(0, '', '')])
    _iscsiadm.Iscsiadm(module, timeout=30).node_delete('192.0.2.1:3260', IQN)
    assert module.calls == [(['/usr/bin/timeout', '--kill-after=5', '30', '/usr/sbin/iscsiadm', '-m', 'node', '-T', IQN,
                              '-p', '192.0.2.1:3260', '--op', 'delete'], {'LANG': 'C', 'LC_ALL': 'C'})]


def _answer(name):
    step = STEPS[name]
    return (step['rc'], step['stdout'], step['stderr'])


def test_login_exit_15_is_success_without_new_session():
    module = FakeModule([_answer('login_again_a')])
    assert _iscsiadm.Iscsiadm(module).login('192.0.2.1:3260', IQN, timeout=30) is False
    assert module.calls[0][0][:3] == ['/usr/bin/timeout', '--kill-after=5', '30']


@pytest.mark.parametrize('step, rc, reason', [
    ('login_badchap', 24, 'CHAP authentication failed'),
    ('login_dead', 8, 'connection to the portal timed out'),
])
def test_login_failures_carry_cmd_rc_stderr_masked(step, rc, reason):
    module = FakeModule([_answer(step)])
    adm = _iscsiadm.Iscsiadm(module, secrets=['hmsecret-0001'])
    with pytest.raises(CommandError) as info:
        adm.login('192.0.2.1:3260', IQN, timeout=25)
    assert info.value.rc == rc and reason in info.value.msg
    assert info.value.stderr == STEPS[step]['stderr']
    assert info.value.cmd == ['/usr/sbin/iscsiadm', '-m', 'node', '-T', IQN, '-p', '192.0.2.1:3260', '--login']
    assert module.calls[0][0][:3] == ['/usr/bin/timeout', '--kill-after=5', '25']


def test_login_timeout_message():
    module = FakeModule([_answer('login_dead_timeout')])
    with pytest.raises(CommandError) as info:
        _iscsiadm.Iscsiadm(module).login('203.0.113.1:3260', IQN, timeout=3)
    assert info.value.rc == 124 and 'timed out after 3 s' in info.value.msg


def test_secrets_masked_in_failed_update():
    module = FakeModule([(6, '', 'iscsiadm: could not update hmsecret-0001\n')])
    adm = _iscsiadm.Iscsiadm(module, secrets=['hmsecret-0001'])
    with pytest.raises(CommandError) as info:
        adm.node_update('192.0.2.1:3260', IQN, [('node.session.auth.password', 'hmsecret-0001')])
    assert 'hmsecret-0001' not in repr(info.value.fail_kwargs())
    assert info.value.cmd[-1] == MASK and MASK in info.value.stderr
    assert info.value.rc == 6 and 'node database' in info.value.msg


@pytest.mark.parametrize('method, args, step, expected', [
    ('sessions', (), 'session_none', []),
    ('records', (), 'node_list_none', []),
    ('node_settings', ('192.0.2.1:3260', IQN), 'node_show_missing', None),
    ('logout', ('192.0.2.1:3260', IQN), 'logout_again_a', False),
    ('node_delete', ('192.0.2.1:3260', IQN), 'node_delete_again_a', False),
])
def test_exit_21_means_nothing_there(method, args, step, expected):
    module = FakeModule([_answer(step)])
    assert getattr(_iscsiadm.Iscsiadm(module), method)(*args) == expected


def test_iscsid_down_is_a_clear_error():
    module = FakeModule([_answer('iscsid_down')])
    with pytest.raises(CommandError, match='cannot connect to iscsid'):
        _iscsiadm.Iscsiadm(module).sessions()


def test_discovery_chap_creates_missing_record_exit_6():
    auth = {'method': 'CHAP', 'username': 'hmuser', 'password': 'hmsecret-0001'}
    module = FakeModule([_answer('discoverydb_update_missing'), (0, '', ''), (0, '', ''), _answer('discovery_a')])
    found = _iscsiadm.Iscsiadm(module, secrets=['hmsecret-0001']).discover('192.0.2.1:3260', auth)
    base = ['/usr/sbin/iscsiadm', '-m', 'discoverydb', '-t', 'sendtargets', '-I', 'default', '-p', '192.0.2.1:3260']
    update = STEPS['discoverydb_update_missing']['argv']
    assert [call[0][3:] for call in module.calls] == [update, base + ['--op', 'new'], update,
                                                      base + ['--discover', '--op', 'new']]
    assert found == [{'portal': '192.0.2.1:3260', 'iqn': IQN, 'tpgt': 1}]


def test_discovery_dead_portal_fails_with_pdu_timeout():
    module = FakeModule([_answer('discovery_dead')])  # real: exit 11 after 18.6 s under TCG
    with pytest.raises(CommandError) as info:
        _iscsiadm.Iscsiadm(module).discover('203.0.113.1:3260')
    assert info.value.rc == 11 and 'portal did not answer' in info.value.msg
    assert 'No route to host' in info.value.stderr


def test_record_iqns_lists_the_targets_with_a_record_and_nothing_from_an_unknown_line():
    listing = ('192.0.2.1:3260,1 iqn.2010-10.org.openstack:volume-HM-0001\n'
               '[2001:db8::1]:3260,1 iqn.2010-10.org.openstack:volume-2\n')
    assert _iscsiadm.record_iqns(listing) == {'iqn.2010-10.org.openstack:volume-hm-0001', 'iqn.2010-10.org.openstack:volume-2'}
    assert _iscsiadm.record_iqns('') == set()
    assert _iscsiadm.record_iqns(listing + 'iscsiadm: something else\n') is None  # then every record is read
