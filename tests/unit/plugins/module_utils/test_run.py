# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one run_command seam, run for real (coreutils timeout and echo: no side effect)."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandRunner


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
