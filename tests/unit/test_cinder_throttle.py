# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every task of the roles and playbooks that calls Cinder is bounded by the documented throttle variable."""

from __future__ import annotations

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CINDER_MODULES = ('cinder_local.iscsi_multipath.cinder_attachment', 'cinder_local.iscsi_multipath.cinder_volume_size')
THROTTLE_OF = {'volume_attach': 'volume_attach_cinder_throttle', 'volume_detach': 'volume_detach_cinder_throttle',
               'playbooks': 'volume_attach_cinder_throttle'}


def tasks_of(node):
    """Every task in a list of tasks, plays or blocks, depth first."""
    for item in node or []:
        if not isinstance(item, dict):
            continue
        yield item
        for key in ('block', 'rescue', 'always', 'pre_tasks', 'tasks', 'post_tasks'):
            yield from tasks_of(item.get(key))


def cinder_tasks():
    files = [(role, path) for role in ('volume_attach', 'volume_detach')
             for path in sorted((ROOT / 'roles' / role / 'tasks').glob('*.yml'))]
    files += [('playbooks', path) for path in sorted((ROOT / 'playbooks').glob('*.yml'))]
    for owner, path in files:
        for task in tasks_of(yaml.safe_load(path.read_text(encoding='utf-8'))):
            if any(module in task for module in CINDER_MODULES):
                yield pytest.param(owner, task, id='%s: %s' % (path.relative_to(ROOT), task.get('name')))


@pytest.mark.parametrize('owner, task', list(cinder_tasks()))
def test_cinder_task_is_throttled(owner, task):
    assert THROTTLE_OF[owner] in str(task.get('throttle', ''))


def test_every_cinder_call_was_found():
    assert len(list(cinder_tasks())) == 6


@pytest.mark.parametrize('role', ['volume_attach', 'volume_detach'])
def test_throttle_default_is_documented(role):
    defaults = yaml.safe_load((ROOT / 'roles' / role / 'defaults' / 'main.yml').read_text(encoding='utf-8'))
    specs = yaml.safe_load((ROOT / 'roles' / role / 'meta' / 'argument_specs.yml').read_text(encoding='utf-8'))
    option = specs['argument_specs']['main']['options'][role + '_cinder_throttle']
    assert defaults[role + '_cinder_throttle'] == option['default'] == 10
    assert option['type'] == 'int'
