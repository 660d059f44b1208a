# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""iscsiadm wrapper (node, session, discovery modes) and pure parsers of its output."""

from __future__ import annotations

import re

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, CommandRunner
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    TargetsError,
    control_character,
    normalize_portal,
)

# open-iscsi include/iscsi_err.h
ERR_SESS_NOT_FOUND = 2
ERR_LOGIN = 5
ERR_IDBM = 6
ERR_TRANS_TIMEOUT = 8
ERR_TRANS_NOT_FOUND = 12
ERR_SESS_EXISTS = 15
ERR_FATAL_LOGIN = 19
ERR_ISCSID_NOTCONN = 20
ERR_NO_OBJS_FOUND = 21
ERR_LOGIN_AUTH_FAILED = 24
EXIT_REASONS = {
    1: 'generic iscsiadm error',
    ERR_SESS_NOT_FOUND: 'session not found',
    4: 'transport error (portal unreachable?)',
    ERR_LOGIN: 'login failed',
    ERR_IDBM: 'iSCSI node database error (record missing or locked)',
    7: 'invalid argument',
    ERR_TRANS_TIMEOUT: 'connection to the portal timed out',
    11: 'the portal did not answer (PDU timeout)',
    ERR_TRANS_NOT_FOUND: 'iSCSI transport module not loaded',
    ERR_SESS_EXISTS: 'session already exists',
    ERR_FATAL_LOGIN: 'fatal login error (target refused the initiator)',
    ERR_ISCSID_NOTCONN: 'cannot connect to iscsid (is it running?)',
    ERR_NO_OBJS_FOUND: 'no matching node record or session',
    ERR_LOGIN_AUTH_FAILED: 'CHAP authentication failed',
    29: 'iscsid busy, try again',
}
_SESSION_RE = re.compile(r'^(?P<transport>[\w-]+): \[(?P<sid>\d+)\] (?P<portal>\S+),(?P<tpgt>-?\d+) (?P<iqn>\S+)')
_RECORD_RE = re.compile(r'^(?P<portal>\S+),(?P<tpgt>-?\d+) (?P<iqn>\S+)$')


def _portal(text):
    """Canonical portal, or the raw text when iscsiadm printed something unusual (host names)."""
    try:
        return normalize_portal(text)
    except TargetsError:
        return text


def parse_sessions(output):
    """``iscsiadm -m session`` -> [{sid, transport, portal, tpgt, iqn}]."""
    sessions = []
    for line in output.splitlines():
        match = _SESSION_RE.match(line.strip())
        if match:
            sessions.append({
                'sid': int(match.group('sid')), 'transport': match.group('transport'),
                'portal': _portal(match.group('portal')), 'tpgt': int(match.group('tpgt')),
                'iqn': match.group('iqn'),
            })
    return sessions


def parse_records(output):
    """``iscsiadm -m node`` or sendtargets discovery output -> [{portal, iqn, tpgt}]."""
    records = []
    for line in output.splitlines():
        match = _RECORD_RE.match(line.strip())
        if match:
            record = {'portal': _portal(match.group('portal')), 'iqn': match.group('iqn'),
                      'tpgt': int(match.group('tpgt'))}
            if record not in records:
                records.append(record)
    return records


def record_iqns(output):
    """``iscsiadm -m node`` output -> the IQNs of its records, lower case; None when a line is not a record (then
    nothing can be told from it)."""
    matches = [_RECORD_RE.match(line.strip()) for line in output.splitlines() if line.strip()]
    if not all(matches):
        return None
    return set(match.group('iqn').lower() for match in matches)


def parse_node_settings(output):
    """``iscsiadm -m node -T iqn -p portal`` -> {name: value}; ``<empty>`` becomes ''."""
    settings = {}
    for line in output.splitlines():
        name, sep, value = line.partition(' = ')
        if sep and not name.startswith('#'):
            value = value.strip()
            settings[name.strip()] = '' if value == '<empty>' else value
    return settings


def setting_problem(name, value):
    """Why value cannot be written to the record setting name (``-n name -v value``), or None.

    Never quotes the value: it may be a CHAP secret.
    """
    found = control_character(str(value))
    if found:
        return ('%s: the value holds a control character (%s): refused, it would write other settings into the '
                'record' % (name, found))
    return None


def check_settings(settings):
    """Raise CommandError (before anything runs) when a value of settings [(name, value)] cannot be written."""
    for name, value in settings:
        problem = setting_problem(name, value)
        if problem:
            raise CommandError(problem)


def find_session(sessions, portal, iqn):
    """The first session of (portal, iqn), or None."""
    for session in sessions:
        if session['portal'] == portal and session['iqn'] == iqn:
            return session
    return None


class Iscsiadm(CommandRunner):
    """iscsiadm calls; every one goes through ``_run_command`` and is bounded in time."""

    COMMANDS = ('timeout', 'iscsiadm')

    def _iscsiadm(self, args, ok_rcs=(0,), what='iscsiadm', timeout=None):
        argv = [self.bin('iscsiadm')] + list(args)
        rc, out, err = self._run_command(argv, timeout=timeout)
        if rc not in ok_rcs:
            reason = EXIT_REASONS.get(rc, 'exit code %s' % rc)
            raise self.error('%s failed: %s' % (what, reason), argv, rc, out, err, timeout=timeout)
        return rc, out

    @staticmethod
    def _node(portal, iqn):
        return ['-m', 'node', '-T', iqn, '-p', portal]

    def sessions(self):
        """``iscsiadm -m session``, parsed; the threads that list at once share one listing (SharedCall)."""
        return self._shared_call('sessions', self._sessions)

    def _sessions(self):
        rc, out = self._iscsiadm(['-m', 'session'], ok_rcs=(0, ERR_NO_OBJS_FOUND), what='listing sessions')
        return parse_sessions(out) if rc == 0 else []

    def records(self):
        rc, out = self._iscsiadm(['-m', 'node'], ok_rcs=(0, ERR_NO_OBJS_FOUND), what='listing node records')
        return parse_records(out) if rc == 0 else []

    def node_iqns(self):
        """The IQNs (lower case) of every node record, one listing; None when a line of it is not a record."""
        rc, out = self._iscsiadm(['-m', 'node'], ok_rcs=(0, ERR_NO_OBJS_FOUND), what='listing node records')
        return record_iqns(out) if rc == 0 else set()

    def node_settings(self, portal, iqn):
        """Settings of one node record (secrets unmasked, -S, to compare them), or None when it does not exist."""
        rc, out = self._iscsiadm(self._node(portal, iqn) + ['-S'], ok_rcs=(0, ERR_NO_OBJS_FOUND),
                                 what='reading node %s %s' % (portal, iqn))
        return parse_node_settings(out) if rc == 0 else None

    def node_new(self, portal, iqn, iface='default'):
        self._iscsiadm(self._node(portal, iqn) + ['--interface', iface, '--op', 'new'],
                       what='creating node %s %s' % (portal, iqn))

    def node_update(self, portal, iqn, settings):
        """Set several node settings in one call; settings is a list of (name, value)."""
        check_settings(settings)
        args = self._node(portal, iqn) + ['--op', 'update']
        for name, value in settings:
            args += ['-n', name, '-v', str(value)]
        self._iscsiadm(args, what='updating node %s %s' % (portal, iqn))

    def node_delete(self, portal, iqn):
        """Delete a node record; False when there was none."""
        rc, dummy = self._iscsiadm(self._node(portal, iqn) + ['--op', 'delete'], ok_rcs=(0, ERR_NO_OBJS_FOUND),
                                   what='deleting node %s %s' % (portal, iqn))
        return rc == 0

    def login(self, portal, iqn, timeout):
        """Log in; False when a session already existed (exit 15)."""
        rc, dummy = self._iscsiadm(self._node(portal, iqn) + ['--login'], ok_rcs=(0, ERR_SESS_EXISTS),
                                   what='login to %s %s' % (portal, iqn), timeout=timeout)
        return rc == 0

    def logout(self, portal, iqn):
        """Log out; False when there was no session (exit 21)."""
        rc, dummy = self._iscsiadm(self._node(portal, iqn) + ['--logout'], ok_rcs=(0, ERR_NO_OBJS_FOUND),
                                   what='logout from %s %s' % (portal, iqn))
        return rc == 0

    def discover(self, portal, auth=None, iface='default', persistent=True):
        """SendTargets discovery (with discovery CHAP when auth is given) -> [{portal, iqn, tpgt}].

        ``--op new`` only adds records for targets not known yet: without it iscsiadm rewrites every record
        the portal announces (attached volumes would lose their CHAP and timeouts) and deletes the others.
        With persistent=False (``--op nonpersistent``) the node database is not touched at all.
        """
        op = 'new' if persistent else 'nonpersistent'
        base = ['-m', 'discoverydb', '-t', 'sendtargets', '-I', iface, '-p', portal]
        if auth:
            check_settings([('discovery.sendtargets.auth.authmethod', auth['method']),
                            ('discovery.sendtargets.auth.username', auth['username']),
                            ('discovery.sendtargets.auth.password', auth['password'])])
            update = base + ['--op', 'update',
                             '-n', 'discovery.sendtargets.auth.authmethod', '-v', auth['method'],
                             '-n', 'discovery.sendtargets.auth.username', '-v', auth['username'],
                             '-n', 'discovery.sendtargets.auth.password', '-v', auth['password']]
            rc, dummy = self._iscsiadm(update, ok_rcs=(0, ERR_IDBM), what='setting discovery CHAP on %s' % portal)
            if rc == ERR_IDBM:
                self._iscsiadm(base + ['--op', 'new'], what='creating discovery record %s' % portal)
                self._iscsiadm(update, what='setting discovery CHAP on %s' % portal)
            rc, out = self._iscsiadm(base + ['--discover', '--op', op], what='discovery on %s' % portal)
        else:
            rc, out = self._iscsiadm(['-m', 'discovery', '-t', 'sendtargets', '-I', iface, '-p', portal,
                                      '--op', op], what='discovery on %s' % portal)
        return parse_records(out)
