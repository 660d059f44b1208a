# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one run_command seam, run for real (coreutils timeout and echo: no side effect)."""

from __future__ import annotations

import threading
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, CommandRunner, SharedCall


def test_chap_secret_passed_verbatim(monkeypatch):
    """run_command expands $VAR and ~ in every argument unless told not to: a CHAP secret must arrive as given."""
    monkeypatch.setenv('HOME', '/expanded-home')
    monkeypatch.setenv('CHAP', 'expanded-var')
    with patch_module_args({}):
        module = AnsibleModule(argument_spec={})
    runner = CommandRunner(module, timeout=10)
    args = ['pa$CHAP-${HOME}', '~', '~/x', '~root']
    rc, out, err = runner._run_command([runner.bin('printf'), r'%s\n'] + args)
    assert (rc, err) == (0, '')
    assert out.splitlines() == args


def _waiting(shared):
    with shared.cond:
        return len(shared.cond._waiters)  # pylint: disable=protected-access


def test_threads_listing_at_once_share_the_next_listing_never_an_older_one():
    """The call running when two threads ask started before them: they wait for it, then share one new call."""
    first_runs, release = threading.Event(), threading.Event()
    calls = []

    def listing():
        calls.append(len(calls) + 1)
        if len(calls) == 1:
            first_runs.set()
            assert release.wait(10)
        return {'listing': len(calls)}
    shared = SharedCall(listing)
    answers = {}
    first = threading.Thread(target=lambda: answers.setdefault('first', shared()))
    first.start()
    assert first_runs.wait(10)
    later = [threading.Thread(target=lambda name=name: answers.setdefault(name, shared())) for name in ('b', 'c')]
    for thread in later:
        thread.start()
    while _waiting(shared) < 2:  # both wait for the first call to end
        time.sleep(0.01)
    release.set()
    for thread in [first] + later:
        thread.join(10)
    assert calls == [1, 2]
    assert answers == {'first': {'listing': 1}, 'b': {'listing': 2}, 'c': {'listing': 2}}
    assert answers['b'] is not answers['c']  # a copy each
    assert shared() == {'listing': 3}  # alone: a call of its own


def test_a_shared_listing_that_fails_raises_a_copy_of_its_error_in_each_caller():
    def listing():
        raise CommandError('listing sessions failed: exit code 1', ['iscsiadm', '-m', 'session'], 1)
    shared = SharedCall(listing)
    errors = []
    for dummy in range(2):
        try:
            shared()
        except CommandError as exc:
            errors.append(exc)
    assert [error.msg for error in errors] == ['listing sessions failed: exit code 1'] * 2
    assert errors[0] is not errors[1]
