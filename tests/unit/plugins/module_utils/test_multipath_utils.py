# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import (
    WWIDS_FILE,
    Multipath,
    daemon_answer_ok,
    parse_maps_json,
    path_states,
    usable_paths,
    wwids_listed,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import (
    WWIDS_HEADER,
    replay_steps,
    with_path_states,
)

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


MAPS = parse_maps_json(STEPS['maps_json']['stdout'])  # real: dm-0 on sda and sdb, both active


def _with_paths(**states):
    return parse_maps_json(with_path_states(STEPS['maps_json']['stdout'], **states))


def test_usable_paths_of_the_captured_map():
    assert usable_paths(MAPS, 'dm-0') == ['sda', 'sdb']


def test_usable_paths_one_failed_path_still_usable():
    maps = _with_paths(dm_st='failed', chk_st='faulty')
    maps[0]['paths'][1].update(dm_st='active')
    assert usable_paths(maps, 'dm-0') == ['sdb']


def test_usable_paths_none_active():
    # the kernel's state decides, not the checker's: a ready path the kernel has not reinstated is not usable
    assert usable_paths(_with_paths(dm_st='failed', chk_st='ready'), 'dm-0') == []


def test_usable_paths_of_another_map_or_none_listed():
    assert usable_paths(MAPS, 'dm-1') == []
    assert usable_paths(parse_maps_json(STEPS['maps_json_empty']['stdout']), 'dm-0') == []


def test_usable_paths_map_without_paths():
    maps = [dict(MAPS[0], paths=[])]
    assert usable_paths(maps, 'dm-0') == []


def test_path_states():
    assert path_states(MAPS, 'dm-0') == {'sda': {'dm_st': 'active', 'chk_st': 'ready'},
                                         'sdb': {'dm_st': 'active', 'chk_st': 'ready'}}
    assert path_states(MAPS, 'dm-1') == {}


WWID2 = '360000000000000000000000000000002'


def test_wwids_listed_as_multipath_writes_it():
    assert wwids_listed(WWIDS_HEADER) == set()
    assert wwids_listed(WWIDS_HEADER + '/%s/\n/%s/\n' % (WWID, WWID2)) == {WWID, WWID2}


def test_wwids_listed_skips_comments_blank_and_broken_lines():
    text = '\n'.join([
        '# Valid WWIDs:', '', '   ', '#/3600commented/', ' /3600indented/', '/3600unclosed', '//',
        '/%s/ # trailing text' % WWID, '/%s/' % WWID2])  # no newline at the end
    assert wwids_listed(text) == {WWID, WWID2}


@pytest.fixture
def multipath(tmp_path):
    return Multipath(None, root=str(tmp_path))


def _write_wwids(root, text):
    path = root / WWIDS_FILE
    path.parent.mkdir(parents=True)
    path.write_text(text)


def test_wwid_listed_reads_the_file_under_root(multipath, tmp_path):
    _write_wwids(tmp_path, WWIDS_HEADER + '/%s/\n' % WWID)
    assert multipath.wwid_listed(WWID) is True
    assert multipath.wwid_listed(WWID2) is False


def test_wwid_listed_missing_file(multipath):
    assert multipath.wwid_listed(WWID) is False


def test_wwid_listed_unreadable_file(multipath, tmp_path):
    (tmp_path / WWIDS_FILE).mkdir(parents=True)  # a directory where the file should be
    assert multipath.wwid_listed(WWID) is False


def test_wwid_listed_despite_bytes_that_are_not_text(multipath, tmp_path):
    (tmp_path / WWIDS_FILE).parent.mkdir(parents=True)
    (tmp_path / WWIDS_FILE).write_bytes(b'# \xff\xfe\n/' + WWID.encode() + b'/\n')
    assert multipath.wwid_listed(WWID) is True


def test_default_root_is_the_host():
    assert Multipath(None).root == '/'
