# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra checks of the prepare_hosts scenario (roles initiator and multipath) in the lab guest."""

import os
import re

DUMMY_IQN = 'iqn.2000-01.org.example:prepare-hosts-dummy'
DUMMY_PORTAL = '203.0.113.250:3260'


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
    for line in ('user_friendly_names no', 'find_multipaths strict', 'no_path_retry 12',
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
    assert re.search(r'^\s*no_path_retry "?12"?$', config, re.M)
    assert re.search(r'^\s*user_friendly_names "?no"?$', config, re.M)


def test_iscsid_conf_tuned_once_per_key(host):
    conf = host.file('/etc/iscsi/iscsid.conf')
    assert conf.mode == 0o600
    settings = active_settings(conf.content_string)
    duplicated = [key for key, values in settings.items() if len(values) > 1]
    assert duplicated == []
    assert settings['node.session.timeo.replacement_timeout'] == ['10']
    assert settings['node.conn[0].timeo.noop_out_interval'] == ['5']
    assert settings['node.conn[0].timeo.noop_out_timeout'] == ['10']
    assert settings['node.conn[0].timeo.login_timeout'] == ['5']
    assert settings['node.session.initial_login_retry_max'] == ['2']
    assert settings['node.session.scan'] == ['manual']
    # Debian's own settings are kept.
    assert settings['node.session.cmds_max'] == ['128']


def test_new_node_records_inherit_the_tuning(host):
    base = 'iscsiadm -m node -T %s -p %s' % (DUMMY_IQN, DUMMY_PORTAL)
    host.check_output(base + ' -o new')
    try:
        record = host.check_output(base + ' -o show')
    finally:
        host.run(base + ' -o delete')
    assert re.search(r'^node\.session\.timeo\.replacement_timeout = 10$', record, re.M)
    assert re.search(r'^node\.session\.scan = manual$', record, re.M)


def test_initiator_name_kept(host):
    lab_dir = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], '.lab', os.environ.get('LAB_NAME', 'molecule'))
    with open(os.path.join(lab_dir, 'guest.env'), encoding='utf-8') as env:
        expected = re.search(r'^INITIATOR_NAME=["\']?([^"\'\n]+)', env.read(), re.M).group(1)
    names = re.findall(r'^InitiatorName=(\S+)$', host.file('/etc/iscsi/initiatorname.iscsi').content_string, re.M)
    assert names == [expected]
