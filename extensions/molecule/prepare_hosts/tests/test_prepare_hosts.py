# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra checks of the prepare_hosts scenario (roles initiator and multipath) in the lab guest."""

import os
import re

import yaml

DUMMY_IQN = 'iqn.2000-01.org.example:prepare-hosts-dummy'
DUMMY_PORTAL = '203.0.113.250:3260'


def role_defaults(role):
    """The role's defaults/main.yml: the checks follow the defaults instead of repeating them."""
    path = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], 'roles', role, 'defaults', 'main.yml')
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def active_settings(text):
    """key -> [values] of the uncommented `key = value` lines of an iscsid.conf."""
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('#') and '=' in line:
            key, value = line.split('=', 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_services_running_and_enabled(host):
    for name in ('iscsid', 'multipathd'):
        service = host.service(name)
        assert service.is_running, name
        assert service.is_enabled, name


def test_multipath_conf_holds_the_role_defaults(host):
    conf = host.file('/etc/multipath.conf')
    assert conf.mode == 0o644
    defaults = role_defaults('multipath')
    for line in ('user_friendly_names no', 'find_multipaths strict',
                 'no_path_retry %s' % defaults['multipath_no_path_retry'],
                 'polling_interval %s' % defaults['multipath_polling_interval'],
                 'fast_io_fail_tmo %s' % defaults['multipath_fast_io_fail_tmo'],
                 'recheck_wwid yes', 'skip_kpartx yes', 'flush_on_last_del yes',
                 'path_grouping_policy multibus'):
        assert re.search(r'^\s*%s$' % line, conf.content_string, re.M), line
    assert 'no_such_keyword' not in conf.content_string


def test_multipath_tools_parse_it_cleanly(host):
    result = host.run('multipath -t')
    assert result.rc == 0
    assert result.stderr.strip() == ''


def test_multipathd_runs_with_it(host):
    config = host.check_output('multipathd show config')
    assert re.search(r'^\s*recheck_wwid "?yes"?$', config, re.M)
    retries = role_defaults('multipath')['multipath_no_path_retry']
    assert re.search(r'^\s*no_path_retry "?%s"?$' % retries, config, re.M)
    assert re.search(r'^\s*user_friendly_names "?no"?$', config, re.M)


def test_iscsid_conf_tuned_once_per_key(host):
    conf = host.file('/etc/iscsi/iscsid.conf')
    assert conf.mode == 0o600
    settings = active_settings(conf.content_string)
    duplicated = [key for key, values in settings.items() if len(values) > 1]
    assert duplicated == []
    defaults = role_defaults('initiator')
    for key, var in (('node.session.timeo.replacement_timeout', 'initiator_replacement_timeout'),
                     ('node.conn[0].timeo.noop_out_interval', 'initiator_noop_out_interval'),
                     ('node.conn[0].timeo.noop_out_timeout', 'initiator_noop_out_timeout'),
                     ('node.conn[0].timeo.login_timeout', 'initiator_login_timeout'),
                     ('node.session.initial_login_retry_max', 'initiator_initial_login_retry_max'),
                     ('node.session.scan', 'initiator_session_scan')):
        assert settings[key] == [str(defaults[var])], key
    # Debian's own settings are kept.
    assert settings['node.session.cmds_max'] == ['128']


def test_new_node_records_inherit_the_tuning(host):
    base = 'iscsiadm -m node -T %s -p %s' % (DUMMY_IQN, DUMMY_PORTAL)
    host.check_output(base + ' -o new')
    try:
        record = host.check_output(base + ' -o show')
    finally:
        host.run(base + ' -o delete')
    timeout = role_defaults('initiator')['initiator_replacement_timeout']
    assert re.search(r'^node\.session\.timeo\.replacement_timeout = %s$' % timeout, record, re.M)
    assert re.search(r'^node\.session\.scan = manual$', record, re.M)


def test_initiator_name_kept(host):
    lab_dir = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], '.lab', os.environ.get('LAB_NAME', 'molecule'))
    with open(os.path.join(lab_dir, 'guest.env'), encoding='utf-8') as env:
        expected = re.search(r'^INITIATOR_NAME=["\']?([^"\'\n]+)', env.read(), re.M).group(1)
    names = re.findall(r'^InitiatorName=(\S+)$', host.file('/etc/iscsi/initiatorname.iscsi').content_string, re.M)
    assert names == [expected]


def test_boot_heal_service_enabled_and_its_program_runs(host):
    """cinder-local-iscsi-heal.service is enabled; its program (the collection's heal, a zipapp) runs a pass with the
    role's configuration: no attach record here, so it has nothing to bring back and exits 0."""
    assert host.service('cinder-local-iscsi-heal.service').is_enabled
    unit = host.file('/etc/systemd/system/cinder-local-iscsi-heal.service').content_string
    assert 'ExecStart=/usr/bin/python3 /usr/local/lib/cinder_local/iscsi-heal.pyz /etc/cinder_local/iscsi-heal.json' in unit
    result = host.run('python3 /usr/local/lib/cinder_local/iscsi-heal.pyz /etc/cinder_local/iscsi-heal.json')
    assert (result.rc, result.stdout) == (0, 'no attach record\n'), result.stderr
