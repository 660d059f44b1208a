# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Running host commands: bounded time, C locale, errors that carry cmd/rc/stderr with secrets masked."""

from __future__ import annotations

import copy
import threading
import time

MASK = '********'
C_LOCALE = {'LANG': 'C', 'LC_ALL': 'C'}
# coreutils timeout(1): 124 when the command timed out, 137 when it had to be killed.
TIMEOUT_RCS = (124, 137)
KILL_AFTER = 5


def mask_secrets(value, secrets):
    """Replace every secret in a string (or in every string of a list) by MASK."""
    if isinstance(value, (list, tuple)):
        return [mask_secrets(item, secrets) for item in value]
    if not isinstance(value, str):
        return value
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        value = value.replace(secret, MASK)
    return value


class CommandError(Exception):
    """A host command failed. ``cmd``, ``stdout`` and ``stderr`` are already masked."""

    def __init__(self, msg, cmd=None, rc=None, stdout='', stderr=''):
        super().__init__(msg)
        self.msg = msg
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def fail_kwargs(self):
        """Keyword arguments for AnsibleModule.fail_json."""
        result = {'msg': self.msg}
        if self.cmd is not None:
            result.update(cmd=self.cmd, rc=self.rc, stdout=self.stdout, stderr=self.stderr)
        return result


class CommandRunner:
    """Base for the command wrappers: subclasses route every process call through ``_run_command``."""

    COMMANDS = ('timeout',)  # every binary a subclass may run

    def __init__(self, module, timeout=30, secrets=()):
        self.module = module
        self.timeout = timeout
        self.secrets = set(secrets)
        self._bins = {}
        self._shared = {}
        self._shared_lock = threading.Lock()

    def bin(self, name):
        """Absolute path of a required binary."""
        if name not in self._bins:
            self._bins[name] = self.module.get_bin_path(name, required=True)
        return self._bins[name]

    def require(self):
        """Resolve every binary in COMMANDS now, so that a missing one fails before the first change."""
        for name in self.COMMANDS:
            self.bin(name)

    def _shared_call(self, name, call):
        """call(), one at a time for the threads of this runner that ask at once (see SharedCall)."""
        with self._shared_lock:
            shared = self._shared.setdefault(name, SharedCall(call))
        return shared()

    def _run_command(self, argv, timeout=None):
        """THE seam: run argv under timeout(1) with a C locale; return (rc, stdout, stderr).

        Every argument reaches the command verbatim: run_command would otherwise expand ``$VAR`` and ``~`` in each
        one (a CHAP secret ``pa$HOME`` would become another secret)."""
        seconds = self.timeout if timeout is None else timeout
        full = [self.bin('timeout'), '--kill-after=%d' % KILL_AFTER, str(int(seconds))] + list(argv)
        return self.module.run_command(full, environ_update=dict(C_LOCALE), expand_user_and_vars=False)

    def error(self, msg, argv, rc, stdout='', stderr='', timeout=None):
        """A CommandError with every secret masked; timeouts get a message saying so."""
        if rc in TIMEOUT_RCS:
            msg = '%s: timed out after %s s' % (msg, self.timeout if timeout is None else timeout)
        return CommandError(
            mask_secrets(msg, self.secrets), mask_secrets(list(argv), self.secrets), rc,
            mask_secrets(stdout, self.secrets), mask_secrets(stderr, self.secrets))


class SharedCall:
    """A read-only listing (``iscsiadm -m session``, ``multipathd show maps json``) that threads polling at once share:
    one runs at a time, and a thread gets the answer of a call that started after it asked (never an older one), so
    the threads that ask while a call runs all share the next. Sixteen volumes' threads polling run one process at a
    time instead of sixteen; one or two threads still make a call each. Each caller gets its own copy."""

    def __init__(self, call):
        self.call = call
        self.cond = threading.Condition()
        self.running = False
        self.started = self.finished = 0
        self.outcome = None

    def __call__(self):
        with self.cond:
            need = self.started + 1  # the first call that starts after this request
            while self.running and self.finished < need:
                self.cond.wait()
            mine = self.finished < need
            if mine:
                self.running = True
                self.started += 1
                number = self.started
        if mine:
            try:
                outcome = (self.call(), None)
            except Exception as exc:  # pylint: disable=broad-except  # raised in every caller that shares it
                outcome = (None, exc)
            with self.cond:
                self.running = False
                self.finished, self.outcome = number, outcome
                self.cond.notify_all()
        else:
            outcome = self.outcome
        if outcome[1] is not None:
            raise copy.copy(outcome[1])
        return copy.deepcopy(outcome[0])


def wait_for(predicate, timeout, interval=0.5):
    """Call predicate until it returns a truthy value or timeout seconds passed; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def pause(seconds):
    """Sleep between retries (one place for tests to stub)."""
    time.sleep(seconds)


class Stopwatch:
    """Elapsed seconds per phase: mark(name) ends the phase that started at the previous mark."""

    def __init__(self):
        self.started = self.last = time.monotonic()
        self.phases = {}

    def mark(self, name):
        now = time.monotonic()
        self.phases[name + '_s'] = round(now - self.last, 3)
        self.last = now

    def total(self):
        return round(time.monotonic() - self.started, 3)
