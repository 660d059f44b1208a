# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iscsid.conf may hold CHAP secrets: no task of the initiator role lets its content reach the output."""

from __future__ import annotations

import glob
import os

import pytest
import yaml

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'initiator')
# what names iscsid.conf or holds its content (results[0] of the slurp is the InitiatorName file)
ISCSID_CONF = ('__initiator_iscsid_conf', '__initiator_iscsid_current', '__initiator_files.results[1]', 'iscsid.conf')
WRITERS = ('template', 'copy', 'lineinfile', 'blockinfile', 'replace', 'ini_file')


def _tasks(entries):
    for task in entries or []:
        for key in ('block', 'rescue', 'always'):
            yield from _tasks(task.get(key))
        if not any(key in task for key in ('block', 'rescue', 'always')):
            yield task


def _module(task):
    return next(key.rsplit('.', 1)[-1] for key in task
                if key.startswith(('ansible.builtin.', 'community.general.')) or key in WRITERS)


def _iscsid_conf_tasks():
    for path in sorted(glob.glob(os.path.join(ROLE, 'tasks', '*.yml'))):
        with open(path) as handle:
            for task in _tasks(yaml.safe_load(handle)):
                body = yaml.safe_dump({key: value for key, value in task.items() if key != 'name'})
                if any(marker in body for marker in ISCSID_CONF) and not _module(task).startswith(('import_', 'include_')):
                    yield pytest.param(task, id='%s: %s' % (os.path.basename(path), task.get('name')))


def test_the_role_reads_and_writes_iscsid_conf():
    modules = sorted(set(_module(param.values[0]) for param in _iscsid_conf_tasks()))
    assert modules == ['set_fact', 'slurp', 'template']
    with open(os.path.join(ROLE, 'vars', 'main.yml')) as handle:
        assert yaml.safe_load(handle)['__initiator_iscsid_conf'] == '/etc/iscsi/iscsid.conf'


@pytest.mark.parametrize('task', list(_iscsid_conf_tasks()))
def test_iscsid_conf_never_reaches_the_output(task):
    """Tasks that read iscsid.conf or hold its lines are no_log; tasks that write it show no diff."""
    module = _module(task)
    if module in WRITERS:
        assert task.get('diff') is False, 'diff: false missing on %r' % task['name']
    else:
        assert task.get('no_log') is True, 'no_log: true missing on %r' % task['name']
