# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iscsi_connector: reads the host with one shell command per batch, builds the connector on the controller."""

from __future__ import annotations

import secrets

from ansible.plugins.action import ActionBase

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._connector import (
    ARGUMENT_SPEC, batch_outputs, batch_script, read_connector)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True  # it only reads
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        dummy, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        answer = read_connector(params, self._run_batch)
        warnings = answer.pop('warnings', [])
        if warnings:
            result['warnings'] = result.get('warnings', []) + warnings
        if not params['volume_ids']:
            answer.pop('records', None)
        result.update(answer, changed=False)
        return result

    def _run_batch(self, commands):
        """Run the commands as one shell command on the host (become applies) and split the answers."""
        token = 'cinder-local-%s' % secrets.token_hex(8)
        res = self._low_level_execute_command(batch_script(commands, token), sudoable=True)
        answers = batch_outputs(commands, res.get('stdout', ''), token)
        if not answers:
            raise CommandError('cannot run the read-only commands on the host (rc=%s): %s' % (
                res.get('rc'), (res.get('stderr') or '').strip() or 'no error output'))
        return answers
