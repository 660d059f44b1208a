# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.modules import iscsi_connector
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import call

TIMEOUT = ['/usr/sbin/timeout', '--kill-after=5', '10']
STATUS = ['/usr/sbin/multipathd', 'show', 'status']
# Debian 12 open-iscsi writes this file on install (comment lines kept as shipped)
INITIATOR_FILE = """## DO NOT EDIT OR REMOVE THIS FILE!
## If you remove this file, the iSCSI daemon will not start.
## If you change the InitiatorName, existing access control lists
## may reject this initiator.  The InitiatorName must be unique
## for each iSCSI initiator.  Do NOT duplicate iSCSI InitiatorNames.
InitiatorName=iqn.1993-08.org.debian:01:3f1a2b3c4d5e
"""


@pytest.fixture
def initiator_file(tmp_path):
    path = tmp_path / 'initiatorname.iscsi'
    path.write_text(INITIATOR_FILE)
    return str(path)


def test_connector_with_multipathd(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {
        'initiator_file': initiator_file, 'ip': '192.0.2.10', 'host': 'compute-1'},
        [call(STATUS, stdout='path checker states:\nup                  2\n\npaths: 2\nbusy: False\n')])
    assert not failed and not result['changed']
    assert result['connector'] == {
        'initiator': 'iqn.1993-08.org.debian:01:3f1a2b3c4d5e', 'ip': '192.0.2.10', 'host': 'compute-1',
        'multipath': True, 'enforce_multipath': False, 'platform': result['connector']['platform'],
        'os_type': 'linux', 'do_local_attach': False}
    assert harness.timeouts == [10]


def test_multipathd_down_warns_and_reports_false(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': initiator_file, 'ip': '192.0.2.10'},
                                 [call(STATUS, rc=1, stderr="ux_socket_connect: No such file or directory\n")])
    assert not failed
    assert result['connector']['multipath'] is False
    assert result['multipathd_running'] is False


def test_old_multipathd_error_receiving_packet_means_down(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': initiator_file, 'ip': '192.0.2.10'},
                                 [call(STATUS, stdout='error receiving packet\n')])
    assert result['connector']['multipath'] is False


def test_enforce_multipath_fails_when_multipathd_down(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {
        'initiator_file': initiator_file, 'ip': '192.0.2.10', 'enforce_multipath': True},
        [call(STATUS, rc=1)])
    assert failed and 'enforce_multipath' in result['msg']


def test_multipath_false_still_probes_but_reports_false(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {
        'initiator_file': initiator_file, 'ip': '192.0.2.10', 'multipath': False}, [call(STATUS)])
    assert result['connector']['multipath'] is False and result['multipathd_running'] is True


def test_check_mode_is_the_same(harness, initiator_file):
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': initiator_file, 'ip': '192.0.2.10'},
                                 [call(STATUS)], check_mode=True)
    assert not failed and not result['changed'] and result['connector']['multipath']


def test_missing_initiator_file(harness, tmp_path):
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': str(tmp_path / 'nope')}, [])
    assert failed and 'cannot read' in result['msg'] and 'open-iscsi' in result['msg']


@pytest.mark.parametrize('text, message', [
    ('# only comments\n', 'no InitiatorName= line'),
    ('InitiatorName=\n', "InitiatorName '' is not an iSCSI name"),
    ('InitiatorName=my host\n', 'is not an iSCSI name'),
    ('InitiatorName=iqn.2000-01.a:b\nInitiatorName=iqn.2000-01.a:c\n', 'has 2 InitiatorName= lines'),
])
def test_malformed_initiator_file(harness, tmp_path, text, message):
    path = tmp_path / 'initiatorname.iscsi'
    path.write_text(text)
    result, failed = harness.run(iscsi_connector.main, {'initiator_file': str(path)}, [])
    assert failed and message in result['msg'] and str(path) in result['msg']


def test_parse_initiator_name_ignores_other_keys():
    text = 'InitiatorAlias=node1\n  InitiatorName = iqn.2000-01.example:node1  \n'
    assert iscsi_connector.parse_initiator_name(text, 'f') == 'iqn.2000-01.example:node1'
