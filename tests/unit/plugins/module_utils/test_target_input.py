# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LUNs, ports and target names exactly as meant, and Cinder's addressing_mode, access_mode and encrypted."""

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    MAX_SCSI_LUN,
    TargetsError,
    is_iscsi_name,
    is_standard_iscsi_name,
    lun_for_addressing,
    normalize_connection_info,
    normalize_lun,
    normalize_portal,
)

IQN = 'iqn.2010-10.org.openstack:volume-1'
A, B = '192.0.2.1:3260', '198.51.100.1:3260'
SINGLE = {'target_portal': A, 'target_iqn': IQN, 'target_lun': 1}
PLURAL = {'target_portals': [A, B], 'target_iqns': [IQN, IQN], 'target_luns': [1, 1]}


@pytest.mark.parametrize('lun', ['²', '١', '٣', '１', '𝟗', ' ² '])
def test_lun_non_ascii_digit_refused(lun):
    with pytest.raises(TargetsError, match='^target_lun must be an integer, got'):
        normalize_connection_info(dict(SINGLE, target_lun=lun))
    with pytest.raises(TargetsError, match=r'^target_luns\[1\] must be an integer'):
        normalize_connection_info(dict(PLURAL, target_luns=[1, lun]))


def test_lun_ascii_digit_strings_accepted():
    assert normalize_lun('7') == 7 and normalize_lun(' 7 ') == 7 and normalize_lun('0016383') == 16383


@pytest.mark.parametrize('port', ['３２６０', '٣٢٦٠', '²', '+3260', '3_260', '32\n60'])
def test_port_non_ascii_digit_refused(port):
    with pytest.raises(TargetsError, match='port .* is not a number in 1..65535'):
        normalize_portal('192.0.2.1:' + port, 'target_portal')


@pytest.mark.parametrize('zone', ['%eth1\n', '%eth 1', '%', '%a/b'])
def test_ipv6_zone_with_control_or_space_refused(zone):
    with pytest.raises(TargetsError, match='is not an IPv6 zone'):
        normalize_portal('[fe80::1%s]:3260' % zone)


def test_iqn_ending_in_newline_refused():
    for data, field in ((dict(SINGLE, target_iqn=IQN + '\n'), 'target_iqn'),
                        (dict(PLURAL, target_iqns=[IQN, IQN + '\n']), r'target_iqns\[1\]')):
        with pytest.raises(TargetsError, match=r"^%s '.*\\n' holds a control or format character \(U\+000A\)" % field):
            normalize_connection_info(data)
    assert not is_iscsi_name(IQN + '\n')


def test_target_name_over_223_bytes_refused():
    name = IQN + ':' + 'x' * (223 - len(IQN) - 1)
    assert len(name) == 223 and normalize_connection_info(dict(SINGLE, target_iqn=name))['targets'][0]['iqn'] == name
    with pytest.raises(TargetsError, match='^target_iqn is 224 bytes long, an iSCSI name has at most 223'):
        normalize_connection_info(dict(SINGLE, target_iqn=name + 'x'))
    wide = name[:-2] + 'é'  # 222 characters, 223 bytes: fits; one more 'é' does not
    assert is_iscsi_name(wide) and not is_iscsi_name(wide[:-1] + 'éé')


@pytest.mark.parametrize('name', [
    'target.inspur.db01.example.com-00042137',  # Inspur AS13000
    'iqn.2000-01.com.synology:ds1621.Target-1.4a5b6c7d8e',
    'eui.02004567A425678D', 'naa.52004567BA64678D', 'Volume_1', 'iqn.2020-01.example:ünïcode',
])
def test_target_names_iscsiadm_accepts_are_accepted(name):
    assert normalize_connection_info(dict(SINGLE, target_iqn=name))['targets'][0]['iqn'] == name


@pytest.mark.parametrize('name, problem', [
    (IQN + ' x', r'holds white space \(U\+0020\)'), (IQN + '\t', r'control or format character \(U\+0009\)'),
    (IQN + '\u00a0', r'white space \(U\+00A0\)'), (IQN + '\u2028', r'white space \(U\+2028\)'),
    (IQN + '\u200b', r'control or format character \(U\+200B\)'), ('\x00' + IQN, r'\(U\+0000\)'),
    ('../../etc/x', 'holds "/"'), ('..', 'is a "." name'), ('', 'must be a non-empty string'),
    (None, 'is missing'), (7, 'must be a non-empty string, got 7'),
])
def test_target_name_refused(name, problem):
    with pytest.raises(TargetsError, match='^target_iqn .*' + problem):
        normalize_connection_info(dict(SINGLE, target_iqn=name))


def test_initiator_names_stay_iqn_eui_naa():
    assert is_standard_iscsi_name('iqn.1993-08.org.debian:01:abc')
    assert not is_standard_iscsi_name('target.inspur.h-1') and not is_standard_iscsi_name('iqn.')
    assert not is_standard_iscsi_name('iqn.1993-08.org.debian:01:abc\n')


def test_target_portals_null_means_one_portal():
    data = dict(SINGLE, target_portals=None, target_iqns=None, target_luns=None)
    assert normalize_connection_info(data) == {
        'targets': [{'portal': A, 'iqn': IQN, 'lun': 1}], 'auth': None, 'discovery_auth': None, 'single_portal': True}


def test_synology_no_target_lun_means_lun_0():
    data = {'target_portal': A, 'target_iqn': IQN, 'target_discovered': False, 'access_mode': 'rw'}
    result = normalize_connection_info(data)
    assert result['targets'] == [{'portal': A, 'iqn': IQN, 'lun': 0}] and result['single_portal']


def test_explicit_null_lun_still_refused():
    with pytest.raises(TargetsError, match='target_lun is missing'):
        normalize_connection_info(dict(SINGLE, target_lun=None))


# os-brick linuxscsi.LinuxSCSI.lun_for_addressing, value for value
@pytest.mark.parametrize('lun, mode, expected', [
    (1, None, 1), (300, None, 300), (300, 'SAM', 300), (300, 'transparent', 300),
    (0, 'SAM2', 0), (255, 'SAM2', 255), (256, 'SAM2', 16640), (16383, 'SAM2', 32767),
    (0, 'SAM3-flat', 16384), (1, 'SAM3-flat', 16385), (256, 'SAM3-flat', 16640),
])
def test_lun_for_addressing_as_os_brick(lun, mode, expected):
    assert lun_for_addressing(lun, mode) == expected
    assert expected <= MAX_SCSI_LUN


def test_addressing_mode_sam2_lun_256_is_flat_space():
    data = dict(PLURAL, target_luns=[256, 256], addressing_mode='SAM2')
    assert [t['lun'] for t in normalize_connection_info(data)['targets']] == [16640, 16640]
    data = dict(SINGLE, target_lun='255', addressing_mode='SAM2')
    assert normalize_connection_info(data)['targets'][0]['lun'] == 255


def test_addressing_mode_range_checked_before_translation():
    with pytest.raises(TargetsError, match='target_lun 16384 is out of range 0..16383'):
        normalize_connection_info(dict(SINGLE, target_lun=16384, addressing_mode='SAM2'))


@pytest.mark.parametrize('mode', ['SAM3_FLAT', 'sam2', 'SAM-2', 'flat', 7])
def test_addressing_mode_unknown_refused(mode):
    with pytest.raises(TargetsError, match=r"^addressing_mode is %r: only transparent, SAM, SAM2, SAM3-flat" % mode):
        normalize_connection_info(dict(SINGLE, addressing_mode=mode))


@pytest.mark.parametrize('changes, message', [
    ({'access_mode': 'ro'}, r"^access_mode is 'ro': only 'rw' is supported"),
    ({'access_mode': 'RW'}, r"^access_mode is 'RW': only 'rw'"),
    ({'encrypted': True}, '^encrypted is true: Cinder volume encryption is not supported'),
    ({'encrypted': 'false'}, "^encrypted must be true or false, got 'false'"),
])
def test_access_mode_ro_and_encrypted_refused(changes, message):
    for info in (dict(SINGLE, **changes), {'driver_volume_type': 'iscsi', 'data': dict(PLURAL, **changes)}):
        with pytest.raises(TargetsError, match=message):
            normalize_connection_info(info)


def test_access_mode_rw_and_not_encrypted_accepted():
    for changes in ({'access_mode': 'rw', 'encrypted': False}, {'access_mode': None, 'encrypted': None}, {}):
        assert normalize_connection_info(dict(SINGLE, **changes))['targets'] == [{'portal': A, 'iqn': IQN, 'lun': 1}]
