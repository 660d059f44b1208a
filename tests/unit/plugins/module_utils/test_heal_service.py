# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The boot-time heal service: its configuration, its passes (the heal of iscsi_volume_heal, replayed), its loop
and the zipapp that carries it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _heal_service
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._heal_service import (
    EXIT_CONFIG, EXIT_GAVE_UP, EXIT_HEALTHY, ConfigError, HostModule, config_params, heal_pass, notify, pass_lines,
    program_sources, runners_of, serve, status_line, zipapp_bytes)
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.test_iscsi_volume import (  # noqa: F401  # pylint: disable=unused-import
    A, B, IQN, MAPS, NODE, ONLY, SECRET, SESSIONS, SHOW, SIZE, STEPS, SYSFS_WWID, TARGETS, TWO_SESSIONS, WWID, _dead_lane,
    _login_lane)
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.test_iscsi_volume_heal import (  # noqa: F401  # pylint: disable=unused-import
    RECORD, VOLUME_ID, args, degraded, one_path, record)
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import (  # noqa: F401  # pylint: disable=unused-import
    call, harness, replay, sysfs)


def test_config_defaults_are_the_heal_modules_and_a_retry_until_healthy():
    params = config_params({})
    assert params['record_dir'] == '/var/lib/cinder_local/attachments' and params['ifaces'] == []
    assert (params['retry_interval'], params['retry_for'], params['device_timeout'], params['lock_timeout']) == (30, 0, 20, 120)


def test_config_ifaces_get_every_key():
    params = config_params({'ifaces': [{'name': 'storage-a', 'netdev': 'eth1'}], 'retry_interval': 5})
    assert params['ifaces'] == [{'name': 'storage-a', 'netdev': 'eth1', 'hwaddress': None, 'transport': None}]


@pytest.mark.parametrize('document, why', [
    ([], 'the configuration is not a JSON object'),
    ({'record_dirs': '/x'}, 'unknown key(s) record_dirs'),
    ({'retry_interval': 0}, 'retry_interval and lock_timeout must be 1 or more'),
    ({'map_timeout': '30'}, 'map_timeout must be an integer 0 or more'),
    ({'retry_for': True}, 'retry_for must be an integer 0 or more'),
    ({'device_timeout': 0}, 'device_timeout must be 1 or more, got 0'),
    ({'record_dir': ''}, 'record_dir must be a non-empty string'),
    ({'ifaces': [{'netdev': 'eth1'}]}, 'ifaces must be a list of objects'),
    ({'volume_ids': 'abc'}, 'volume_ids must be a list of strings'),
])
def test_a_bad_config_is_refused_naming_why(document, why):
    with pytest.raises(ConfigError) as caught:
        config_params(document)
    assert str(caught.value).startswith(why)


def test_warnings_mask_every_secret():
    seen = []
    module = HostModule(config_params({}), seen.append)
    module.no_log_values.add('s3cret')
    module.warn('login with s3cret failed')
    assert module.warnings == ['warning: login with ******** failed'] and seen == []


def test_commands_are_found_in_the_system_directories_only(tmp_path):
    (tmp_path / 'sbin').mkdir()
    (tmp_path / 'sbin' / 'iscsiadm').write_text('')
    os.chmod(str(tmp_path / 'sbin' / 'iscsiadm'), 0o755)
    module = HostModule({}, print, bin_dirs=(str(tmp_path / 'bin'), str(tmp_path / 'sbin')))
    assert module.get_bin_path('iscsiadm', required=True) == str(tmp_path / 'sbin' / 'iscsiadm')
    assert module.get_bin_path('multipath') is None
    with pytest.raises(Exception, match='multipath not found'):
        module.get_bin_path('multipath', required=True)


def test_run_command_passes_arguments_verbatim_with_the_c_locale():
    rc, out, err = HostModule.run_command([sys.executable, '-c', 'import os,sys; print(sys.argv[1], os.environ["LC_ALL"])',
                                           'pa$HOME~'], environ_update={'LC_ALL': 'C'})
    assert (rc, out, err) == (0, 'pa$HOME~ C\n', '')


@pytest.fixture
def host(harness, args, monkeypatch):
    monkeypatch.setattr(HostModule, 'get_bin_path', lambda module, name, required=False: '/usr/sbin/' + name)
    seen = []
    module = HostModule(config_params(args), seen.append)
    return module, runners_of(module), seen


def _expect(harness, calls):
    harness.expected = list(calls)


def test_a_pass_brings_back_the_missing_portal_and_leaves_nothing_pending(harness, degraded, args, host):
    module, runners, seen = host
    degraded.pend_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    _expect(harness, [
        call(SESSIONS, stdout=ONLY[A]), one_path('sda'),                          # health before
        call(SESSIONS, stdout=ONLY[A]),                                           # under the locks
        call(NODE[A] + ['-S'], stdout=SHOW[A]),                                   # CHAP and timeouts of the live path
        *_login_lane(B, 'b', read=True)[:-1], TWO_SESSIONS,                       # B: new record, settings, login
        TWO_SESSIONS,
        replay(STEPS['add_path_sdb'], effect=lambda: degraded.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])),
        MAPS,
        TWO_SESSIONS, MAPS])                                                      # health after
    outcome = heal_pass(module, runners)
    assert not harness.expected and outcome['pending'] == [] and outcome['problems'] == []
    lines = pass_lines(outcome, module.mask)
    assert lines[0] == '%s: healed (degraded), logged in to %s' % (VOLUME_ID, B)
    assert lines[1].startswith('%s: healthy' % VOLUME_ID) and len(lines) == 4
    assert SECRET not in json.dumps(outcome) and SECRET not in '\n'.join(lines + seen + module.warnings)
    assert record(args)['own_sessions'] == TARGETS
    assert status_line(outcome) == '1 volume(s), no path to bring back'


def test_a_pass_with_a_portal_still_down_leaves_the_volume_pending(harness, degraded, args, host):
    module, runners, seen = host
    _expect(harness, [
        call(SESSIONS, stdout=ONLY[A]), one_path('sda'),
        call(SESSIONS, stdout=ONLY[A]), call(NODE[A] + ['-S'], stdout=SHOW[A]),
        *_dead_lane(B, 'b', True),
        call(SESSIONS, stdout=ONLY[A]), one_path('sda'),
        call(SESSIONS, stdout=ONLY[A]), one_path('sda')])
    outcome = heal_pass(module, runners)
    assert not harness.expected and outcome['pending'] == [VOLUME_ID]
    assert any(B in line and 'login failed' in line for line in module.warnings)
    assert NODE[A] + ['--logout'] not in harness.made and record(args) == RECORD
    assert status_line(outcome) == '1 volume(s) with a path to bring back, retrying'


def test_a_healthy_host_runs_no_heal(harness, degraded, args, host):
    module, runners, dummy = host
    degraded.add_device(1, 6, 1, 'sdb', SYSFS_WWID, SIZE)
    degraded.add_map('dm-0', WWID, WWID, ['sda', 'sdb'])
    _expect(harness, [TWO_SESSIONS, MAPS])
    outcome = heal_pass(module, runners)
    assert not harness.expected and outcome['volumes'] == [] and outcome['pending'] == []


def test_a_failing_listing_is_pending_and_logged(harness, args, host):
    module, runners, dummy = host
    _expect(harness, [call(SESSIONS, rc=4, stderr='iscsiadm: can not connect to iSCSI daemon (111)!')])
    outcome = heal_pass(module, runners)
    assert outcome['pending'] == ['*'] and pass_lines(outcome, module.mask) == [
        'pass failed: listing sessions failed: transport error (portal unreachable?)']


class FakeModule:
    def __init__(self, retry_for=0):
        self.params = {'retry_interval': 30, 'retry_for': retry_for}
        self.lines = []
        self.warnings = []

    def log(self, line):
        self.lines.append(line)

    @staticmethod
    def mask(text):
        return text


def _outcomes(monkeypatch, *pending):
    outcomes = [{'volumes': [], 'summary': ['v: degraded' if p else 'v: healthy'], 'problems': ['v: degraded'] if p else [],
                 'pending': ['v'] if p else []} for p in pending]
    monkeypatch.setattr(_heal_service, 'heal_pass', lambda module, runners: outcomes.pop(0))
    return outcomes


def test_serve_is_ready_after_the_first_pass_and_retries_until_healthy(monkeypatch):
    _outcomes(monkeypatch, True, True, False)
    sent, slept, module = [], [], FakeModule()
    assert serve(module, None, clock=lambda: 0, sleep=slept.append, send=sent.append) == EXIT_HEALTHY
    assert sent == ['READY=1\nSTATUS=1 volume(s) with a path to bring back, retrying',
                    'STATUS=1 volume(s) with a path to bring back, retrying', 'STATUS=1 volume(s), no path to bring back']
    assert slept == [30, 30] and module.lines == ['v: degraded', 'v: healthy']  # a repeated pass logs nothing


def test_serve_gives_up_after_retry_for(monkeypatch):
    _outcomes(monkeypatch, True, True, True)
    now = [0]
    module = FakeModule(retry_for=60)

    def sleep(seconds):
        now[0] += seconds
    assert serve(module, None, clock=lambda: now[0], sleep=sleep, send=lambda message: None) == EXIT_GAVE_UP
    assert now[0] == 60 and module.lines[-1] == 'gave up after 60 s: v: degraded'


def test_notify_sends_to_the_systemd_socket(tmp_path):
    path = str(tmp_path / 'notify')
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        assert notify('READY=1', {'NOTIFY_SOCKET': path})
        assert server.recv(100) == b'READY=1'
    assert not notify('READY=1', {})


def test_the_zipapp_is_reproducible_and_runs_without_ansible(tmp_path):
    sources = program_sources()
    names = set(sources)
    base = 'ansible_collections/cinder_local/iscsi_multipath/plugins/module_utils/'
    assert {'__main__.py', base + '__init__.py', base + '_heal_service.py', base + '_volume.py', base + '_device.py'} <= names
    assert base + '_openstack.py' not in names
    data = zipapp_bytes(sources)
    assert data == zipapp_bytes(program_sources()) and data.startswith(b'#!/usr/bin/python3\n')
    program = tmp_path / 'iscsi-heal.pyz'
    program.write_bytes(data)
    config = tmp_path / 'heal.json'
    config.write_text(json.dumps({'retry_interval': 0}))
    # -I: no site-packages, no current directory: only the zipapp's own modules (and no ansible) can be imported
    process = subprocess.run([sys.executable, '-I', str(program), str(config)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=False)
    assert process.returncode == EXIT_CONFIG, process.stderr
    assert process.stdout.decode() == 'configuration %s: retry_interval and lock_timeout must be 1 or more\n' % config


def test_serve_logs_a_pass_like_the_one_before_once(monkeypatch):
    outcomes = _outcomes(monkeypatch, True, True, False)
    module = FakeModule()

    def heal_pass_warning(module, runners):
        module.warnings.append('warning: v: no path through B: login failed')
        return outcomes.pop(0)
    monkeypatch.setattr(_heal_service, 'heal_pass', heal_pass_warning)
    assert serve(module, None, clock=lambda: 0, sleep=lambda seconds: None, send=lambda message: None) == EXIT_HEALTHY
    assert module.lines == ['warning: v: no path through B: login failed', 'v: degraded',
                            'warning: v: no path through B: login failed', 'v: healthy']
