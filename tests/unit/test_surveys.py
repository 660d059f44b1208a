# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX survey specs in playbooks/surveys/ against AWX's rules and against the argument validation
of their playbook: the playbook's validate_argument_spec tasks and the argument specs of its roles."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = pathlib.Path(__file__).resolve().parents[2]
SURVEYS = ROOT / 'playbooks' / 'surveys'
PLAYBOOKS = sorted(p.stem for p in (ROOT / 'playbooks').glob('*.yml'))
ROLE_PREFIX = 'cinder_local.iscsi_multipath.'
# AWX's question types and the Python types it accepts as their default (JobTemplateSurveySpec).
DEFAULT_TYPES = {'text': str, 'textarea': str, 'password': str, 'multiplechoice': str, 'multiselect': (str, list),
                 'integer': int, 'float': (int, float)}
SECRET_NAME = re.compile(r'password|passphrase|secret|token|(^|_)key$', re.IGNORECASE)


def load_survey(name):
    return json.loads((SURVEYS / (name + '.json')).read_text(encoding='utf-8'))


def accepted_options(name):
    """Every option the playbook validates, by variable name."""
    options = {}
    for play in yaml.safe_load((ROOT / 'playbooks' / (name + '.yml')).read_text(encoding='utf-8')):
        for task in play.get('pre_tasks', []) + play.get('tasks', []) + play.get('post_tasks', []):
            options.update((task.get('ansible.builtin.validate_argument_spec') or {}).get('argument_spec', {}))
        for role in play.get('roles', []):
            role_dir = ROOT / 'roles' / role['role'].removeprefix(ROLE_PREFIX)
            specs = yaml.safe_load((role_dir / 'meta' / 'argument_specs.yml').read_text(encoding='utf-8'))
            options.update(specs['argument_specs']['main']['options'])
    return options


def answers(question):
    """Values AWX may pass for the question: every choice, or the bounds and the default."""
    if question['type'] == 'multiplechoice':
        return list(question['choices'])
    if question['type'] == 'multiselect':
        return [list(question['choices'])]
    if question['type'] in ('integer', 'float'):
        return [question[key] for key in ('min', 'max', 'default') if question.get(key) not in ('', None)] or [0]
    return [question.get('default') or 'x' * (question.get('min') or 1)]


def test_every_playbook_has_a_survey():
    assert sorted(p.stem for p in SURVEYS.glob('*.json')) == PLAYBOOKS


@pytest.mark.parametrize('name', PLAYBOOKS)
def test_survey_is_importable(name):
    survey = load_survey(name)
    assert isinstance(survey['name'], str) and isinstance(survey['description'], str)
    assert survey['spec'], 'a survey needs at least one question'
    variables = [question['variable'] for question in survey['spec']]
    assert len(variables) == len(set(variables)), 'a variable is asked twice'
    for question in survey['spec']:
        assert question['type'] in DEFAULT_TYPES
        assert isinstance(question['question_name'], str) and isinstance(question['variable'], str)
        assert isinstance(question['required'], bool)
        assert question.get('default', '') == '' or isinstance(question['default'], DEFAULT_TYPES[question['type']])
        assert all(question.get(key) is None or isinstance(question[key], int) for key in ('min', 'max'))
        if question['type'] in ('multiplechoice', 'multiselect'):
            defaults = question.get('default') or []
            assert set([defaults] if isinstance(defaults, str) else defaults) <= set(question['choices'])


@pytest.mark.parametrize('name', PLAYBOOKS)
def test_survey_matches_playbook_validation(name):
    options = accepted_options(name)
    for question in load_survey(name)['spec']:
        variable = question['variable']
        assert variable in options, '%s: the playbook does not validate this variable' % variable
        option = options[variable]
        if option.get('required'):
            assert question['required'], '%s: required by the playbook' % variable
        if option.get('no_log') or SECRET_NAME.search(variable):
            assert question['type'] == 'password', '%s: a secret' % variable
        if option.get('type') == 'bool':
            assert question['type'] == 'multiplechoice' and sorted(question['choices']) == ['false', 'true'], \
                '%s: a bool is a choice of false and true' % variable
        if 'choices' in option:
            assert sorted(question.get('choices', [])) == sorted(str(c) for c in option['choices']), \
                '%s: not the choices the playbook accepts' % variable
        validator = ArgumentSpecValidator({variable: option})
        for answer in answers(question):
            errors = validator.validate({variable: answer}).error_messages
            assert not errors, '%s: the playbook refuses the answer %r: %s' % (variable, answer, errors)
