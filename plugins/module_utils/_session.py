# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""One iSCSI node record and its session: settings, login with rollback, logout (shared by the modules).

Errors are raised (CommandError), never reported through fail_json, so callers may run managers in threads.
"""

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import (
    ERR_IDBM,
    ERR_LOGIN,
    ERR_SESS_EXISTS,
    find_session,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, pause
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import control_character

LOGIN_MARGIN = 15
AUTH_NAMES = (('username', 'node.session.auth.username'), ('password', 'node.session.auth.password'),
              ('mutual_username', 'node.session.auth.username_in'),
              ('mutual_password', 'node.session.auth.password_in'))
# iscsiadm --login fails (exit 5) when it lists the sessions while another login on this host is still
# creating its session in sysfs (real, lab: "could not find session info for session1"); one retry.
SESSION_RACE_TEXT = 'could not find session info for session'
SESSION_RACE_PAUSE = 0.5
# Deleting a record can meet exit 6 (record locked): right after a failed login while iscsid lets go of it,
# and when 32 logouts hold the node database lock at once (both seen in the lab). Retried after these pauses.
DELETE_RETRY_PAUSES = (1, 2, 4)
TIMING_NAMES = ('replacement_timeout', 'noop_out_interval', 'noop_out_timeout', 'login_timeout', 'login_retries')


def session_argument_spec():
    """Options of every module that opens sessions: CHAP and the node timeouts
    (documented by the _iscsi_target.session_auth and .session_timeouts doc fragments)."""
    return dict(
        auth=dict(type='dict', no_log=False, options=dict(
            method=dict(type='str', choices=['CHAP'], default='CHAP'),
            username=dict(type='str', required=True),
            password=dict(type='str', required=True, no_log=True),
            mutual_username=dict(type='str'),
            mutual_password=dict(type='str', no_log=True),
        )),
        replacement_timeout=dict(type='int', default=10),
        noop_out_interval=dict(type='int', default=1),
        noop_out_timeout=dict(type='int', default=2),
        login_timeout=dict(type='int', default=5),
        login_retries=dict(type='int', default=1),
    )


def auth_problem(auth, field='auth'):
    """Why CHAP credentials cannot be written to a node or discovery record, or None (never quotes a value)."""
    for key in ('username', 'password', 'mutual_username', 'mutual_password'):
        value = (auth or {}).get(key)
        found = control_character(value) if isinstance(value, str) else None
        if found:
            return ('%s.%s holds a control character (%s): refused, it would write other settings into the node '
                    'record' % (field, key, found))
    return None


def iface_problem(iface, field='iface'):
    """Why an iface name cannot go into a node record (it names a file under /etc/iscsi/ifaces), or None."""
    found = control_character(iface)
    if found:
        return '%s holds a control character (%s): refused, it would write other settings into the node record' % (
            field, found)
    if not iface or '/' in iface or iface in ('.', '..') or any(char.isspace() for char in iface):
        return '%s %r is not an iface name (no white space, no "/")' % (field, iface)
    return None


def desired_settings(params):
    """The node settings (name, value) to enforce before login, in a fixed order."""
    settings = [
        ('node.session.scan', params['scan']),
        ('node.session.timeo.replacement_timeout', params['replacement_timeout']),
        ('node.conn[0].timeo.noop_out_interval', params['noop_out_interval']),
        ('node.conn[0].timeo.noop_out_timeout', params['noop_out_timeout']),
        ('node.conn[0].timeo.login_timeout', params['login_timeout']),
        ('node.session.initial_login_retry_max', params['login_retries']),
    ]
    auth = params['auth']
    if auth:
        settings.append(('node.session.auth.authmethod', auth['method']))
        settings.extend((name, auth[key]) for key, name in AUTH_NAMES if auth.get(key))
    else:
        settings.append(('node.session.auth.authmethod', 'None'))
    return [(name, str(value)) for name, value in settings]


def settings_to_change(current, desired):
    """The desired settings whose current value differs (all of them for a new record)."""
    if current is None:
        return list(desired)
    return [(name, value) for name, value in desired if current.get(name) != value]


def login_timeout_seconds(params):
    """Upper bound of one iscsiadm --login: every attempt plus a margin for iscsid."""
    return params['login_timeout'] * (params['login_retries'] + 1) + LOGIN_MARGIN


def lost_session_race(error):
    """True when a login failed only because another session was being set up at the same time."""
    return error.rc == ERR_LOGIN and SESSION_RACE_TEXT in (error.stderr or '')


def timing_problem(params):
    """Why the iSCSI timing options are invalid, or None."""
    for name in TIMING_NAMES:
        if params[name] < 0 or (name == 'login_timeout' and params[name] == 0):
            bound = 'positive' if name == 'login_timeout' else '0 or more'
            return '%s must be %s, got %d' % (name, bound, params[name])
    return None


class SessionManager:
    """Drive iscsiadm for one (portal, iqn)."""

    def __init__(self, module, iscsiadm, scsi, portal, iqn):
        self.module = module
        self.iscsiadm = iscsiadm
        self.scsi = scsi
        self.portal = portal
        self.iqn = iqn
        self.result = {'changed': False, 'portal': portal, 'iqn': iqn, 'sid': None}

    def present(self, params, sessions=None, node_iqns=None):
        """Node record set up and logged in; sessions: a fresh ``iscsiadm -m session`` listing, when the caller has one;
        node_iqns: the IQNs (lower case) of every node record, listed by the caller under the target's lock: a target
        none of whose records is listed has no record to read (one listing instead of a read per portal)."""
        check = self.module.check_mode
        unknown = node_iqns is not None and self.iqn.lower() not in node_iqns
        current = None if unknown else self.iscsiadm.node_settings(self.portal, self.iqn)
        created = current is None
        changes = settings_to_change(current, desired_settings(params))
        session = find_session(self.iscsiadm.sessions() if sessions is None else sessions, self.portal, self.iqn)
        startup_change = created or (current or {}).get('node.startup') != params['startup']
        self.result.update(created_node=created, logged_in=session is None,
                           updated=[name for name, dummy in changes] + (['node.startup'] if startup_change else []))
        self.result['changed'] = bool(created or changes or session is None or startup_change)
        if check:
            self._report_session(session)
            return self.result
        if created:  # a new record gets node.startup with the other settings (it is deleted if the login fails)
            self.iscsiadm.node_new(self.portal, self.iqn, params['iface'])
            changes, startup_change = changes + [('node.startup', params['startup'])], False
        try:
            session = self._configure_and_login(params, changes, session, startup_change)
        except CommandError:
            if created:
                self._rollback()
            raise
        self._report_session(session)
        return self.result

    def _configure_and_login(self, params, changes, session, startup_change):
        if changes:
            self.iscsiadm.node_update(self.portal, self.iqn, changes)
        if session is None:
            self.result['logged_in'] = self._login(params)
            session = find_session(self.iscsiadm.sessions(), self.portal, self.iqn)
            if session is None:
                raise CommandError('login to %s %s reported success but no session is listed' % (self.portal, self.iqn))
        if startup_change:
            self.iscsiadm.node_update(self.portal, self.iqn, [('node.startup', params['startup'])])
        return session

    def _login(self, params):
        try:
            return self.iscsiadm.login(self.portal, self.iqn, login_timeout_seconds(params))
        except CommandError as exc:
            if not lost_session_race(exc):
                raise
        pause(SESSION_RACE_PAUSE)
        return self.iscsiadm.login(self.portal, self.iqn, login_timeout_seconds(params))

    def _delete_node(self, logged_out=False):
        """Delete the record, retrying a locked database; logged_out: this run logged its session out, so a
        session still using the record is one the logout missed (seen with 32 logouts at once): log out again."""
        for retry_after in DELETE_RETRY_PAUSES + (None,):
            try:
                return self.iscsiadm.node_delete(self.portal, self.iqn)
            except CommandError as exc:
                retried = exc.rc == ERR_IDBM or (logged_out and exc.rc == ERR_SESS_EXISTS)
                if not retried or retry_after is None:
                    raise
                pause(retry_after)
                if exc.rc == ERR_SESS_EXISTS:
                    self.iscsiadm.logout(self.portal, self.iqn)

    def _rollback(self):
        """Undo a node record this run created after a later step failed (errors ignored: the first error wins)."""
        try:
            self.iscsiadm.logout(self.portal, self.iqn)
            self._delete_node(logged_out=True)
        except CommandError as exc:
            self.module.warn('could not remove node %s %s after the failed login: %s' % (self.portal, self.iqn, exc.msg))

    def _report_session(self, session):
        if session:
            self.result['sid'] = session['sid']
            hctl = self.scsi.session_hctl(session['sid'])
            if hctl:
                self.result['scsi_host'] = hctl[0]

    def undo(self, created_node, logged_in):
        """Roll back what one present() made: its login (unless a device still uses the session) and node record."""
        session = find_session(self.iscsiadm.sessions(), self.portal, self.iqn) if logged_in else None
        if session and not self.scsi.session_devices(session['sid']):
            self.iscsiadm.logout(self.portal, self.iqn)
        elif session:
            return
        if created_node:
            self._delete_node(logged_out=session is not None)

    def absent(self, lun, force, lun_removed=False, sessions=None, foreign_luns=()):
        """Log out and delete the node record unless other LUNs use the session.

        lun_removed: the LUN's own device is being removed by the caller (check mode predicts it gone).
        sessions: an ``iscsiadm -m session`` listing taken before any logout of the caller started (a listing
        taken while other sessions are torn down can miss this one: then the record delete meets its session).
        foreign_luns: LUNs whose device the caller left alone as another volume's (the target gave the LUN to
        another volume): they keep the session like other LUNs do, and are no error.
        """
        check = self.module.check_mode
        session = find_session(self.iscsiadm.sessions() if sessions is None else sessions, self.portal, self.iqn)
        exists = self.iscsiadm.node_settings(self.portal, self.iqn) is not None
        self.result.update(logged_out=False, deleted_node=False, in_use_luns=[])
        if session:
            devices = self.scsi.session_devices(session['sid'])
            in_use = sorted(other for other in devices if other != lun or other in foreign_luns)
            self.result['in_use_luns'] = in_use
            if not force and not lun_removed and lun in devices and lun not in foreign_luns:
                raise CommandError('LUN %d still has /dev/%s on session %d: remove it first (multipath_device '
                                   'state=absent) or use force' % (lun, devices[lun], session['sid']))
            if in_use and not force:
                self.result['sid'] = session['sid']
                return self.result
        self.result.update(logged_out=session is not None, deleted_node=exists,
                           changed=session is not None or exists)
        if check:
            return self.result
        if session:
            self.iscsiadm.logout(self.portal, self.iqn)
        if exists:
            self._delete_node(logged_out=session is not None)
        return self.result
