# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import (
    daemon_answer_ok,
    parse_maps_json,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import replay_steps

STEPS = replay_steps()
WWID = '360000000000000000000000000000001'


def test_parse_maps_json():
    maps = parse_maps_json(STEPS['maps_json']['stdout'])
    assert len(maps) == 1
    entry = maps[0]
    assert (entry['name'], entry['wwid'], entry['dm'], entry['dm_st'], entry['write_prot']) == (
        WWID, WWID, 'dm-0', 'active', 'rw')
    assert [(p['dev'], p['dm_st'], p['chk_st'], p['host_adapter']) for p in entry['paths']] == [
        ('sda', 'active', 'ready', '192.0.2.10'), ('sdb', 'active', 'ready', '198.51.100.10')]


def test_parse_maps_json_empty():
    assert parse_maps_json(STEPS['maps_json_empty']['stdout']) == []


def test_parse_maps_json_garbage():
    with pytest.raises(CommandError, match='unreadable output'):
        parse_maps_json('error receiving packet')


@pytest.mark.parametrize('rc, out, expected', [
    (0, 'path checker states:\n\npaths: 0\nbusy: False\n', True),
    (0, 'error receiving packet', False),
    (1, '', False),
])
def test_daemon_answer_ok(rc, out, expected):
    assert daemon_answer_ok(rc, out) is expected
