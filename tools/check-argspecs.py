#!/usr/bin/env python
"""Check that every role's defaults/main.yml and meta/argument_specs.yml (entry point main) agree.

Every default needs an option, every option with a default needs that same default, and options
without a default must be required. Exit 1 and list each mismatch otherwise.
"""
from __future__ import annotations

import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load(path: pathlib.Path) -> dict:
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding='utf-8')) or {}


def role_problems(role: pathlib.Path) -> list[str]:
    defaults = load(role / 'defaults' / 'main.yml')
    specs = load(role / 'meta' / 'argument_specs.yml')
    if not specs:
        return ['meta/argument_specs.yml is missing or empty']
    options = (specs.get('argument_specs', {}).get('main', {}) or {}).get('options') or {}
    problems = []
    for name in sorted(set(defaults) - set(options)):
        problems.append(f'{name}: in defaults/main.yml but not in argument_specs')
    for name, spec in sorted(options.items()):
        if name not in defaults:
            if not spec.get('required'):
                problems.append(f'{name}: in argument_specs but neither in defaults/main.yml nor required')
            continue
        if 'default' not in spec:
            problems.append(f'{name}: argument_specs has no default (defaults/main.yml: {defaults[name]!r})')
        elif spec['default'] != defaults[name]:
            problems.append(f'{name}: default {spec["default"]!r} in argument_specs, {defaults[name]!r} in defaults/main.yml')
    return problems


def main() -> int:
    failed = False
    for role in sorted(p for p in (ROOT / 'roles').iterdir() if p.is_dir()):
        for problem in role_problems(role):
            failed = True
            print(f'roles/{role.name}: {problem}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
