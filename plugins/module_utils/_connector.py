# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The connector of a host and its attach records, read with one batch of read-only commands.

The iscsi_connector action runs on the controller: it sends the batch as one shell command (no module start on the
host, which costs seconds on a slow host) and builds the answer here from the output of each command. A batch is a
list of argv lists; ``batch_script`` joins them into one POSIX shell script and ``batch_outputs`` splits its
output back, each command's combined stdout and stderr with its exit status.
"""

from __future__ import annotations

import posixpath
import shlex

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._connector_ip import (
    check_portals, find_connector_ip)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import daemon_answer_ok
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._records import (
    DEFAULT_RECORD_DIR, RecordError, parse_record, record_file)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    TargetsError, is_standard_iscsi_name)

ARGUMENT_SPEC = dict(
    initiator_file=dict(type='path', default='/etc/iscsi/initiatorname.iscsi'),
    ip=dict(type='str'),
    portals=dict(type='list', elements='str'),
    host=dict(type='str'),
    multipath=dict(type='bool', default=True),
    enforce_multipath=dict(type='bool', default=False),
    volume_ids=dict(type='list', elements='str', default=[]),
    record_dir=dict(type='path', default=DEFAULT_RECORD_DIR),
)
SEARCH_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
COMMAND_TIMEOUT = 10
MAX_ROUNDS = 3  # a route lookup may need the answer of another one (the gateway of the default route)


class InitiatorError(Exception):
    """The initiator name file is missing or malformed."""


class NeedCommand(Exception):
    """The answer of a command that was not in the batch is needed: run another batch with it."""

    def __init__(self, argv):
        super().__init__(' '.join(argv))
        self.argv = list(argv)


def parse_initiator_name(text, path):
    """The IQN from an initiatorname.iscsi file; raise InitiatorError naming the file otherwise."""
    names = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            key, sep, value = line.partition('=')
            if sep and key.strip() == 'InitiatorName':
                names.append(value.strip())
    if not names:
        raise InitiatorError('%s has no InitiatorName= line (generate one with iscsi-iname)' % path)
    if len(names) > 1:
        raise InitiatorError('%s has %d InitiatorName= lines, expected one' % (path, len(names)))
    if not is_standard_iscsi_name(names[0]):
        raise InitiatorError('%s: InitiatorName %r is not an iSCSI name (iqn./eui./naa.)' % (path, names[0]))
    return names[0]


def error_reason(text):
    """The reason at the end of a coreutils error line (``cat: /x: No such file or directory``)."""
    lines = text.strip().splitlines()
    return lines[-1].rsplit(': ', 1)[-1] if lines else 'no error output'


def batch_script(commands, token):
    """One POSIX shell script running each argv of commands (C locale, bounded time, fixed search path), each
    followed by a line ``<token> <index> <rc>``; token is random per batch, so no output can fake that line."""
    lines = ['PATH=%s; export PATH; LANG=C; LC_ALL=C; export LANG LC_ALL' % SEARCH_PATH]
    for index, argv in enumerate(commands):
        lines.append('timeout --kill-after=5 %d %s </dev/null 2>&1; printf "\\n%s %d %%s\\n" "$?"' % (
            COMMAND_TIMEOUT, ' '.join(shlex.quote(arg) for arg in argv), token, index))
    return '\n'.join(lines) + '\n'


def batch_outputs(commands, output, token):
    """{tuple(argv): (rc, combined output)} of a batch's output; a command without its end line is left out."""
    answers = {}
    text = output
    for index, argv in enumerate(commands):
        head, sep, rest = text.partition('\n%s %d ' % (token, index))
        if not sep:
            break
        rc, dummy, text = rest.partition('\n')
        answers[tuple(argv)] = (int(rc) if rc.strip().lstrip('-').isdigit() else -1, head)
    return answers


def record_commands(record_dir, volume_ids):
    """The commands that read the attach records of volume_ids: the directory's type and mode, then each file's
    type and content. Raise RecordError for a volume id that cannot name a record."""
    commands = [['stat', '-c', '%F %a', '--', record_dir]]
    for volume_id in volume_ids:
        path = posixpath.join(record_dir, record_file(volume_id))
        commands += [['stat', '-c', '%F', '--', path], ['cat', '--', path]]
    return commands


def parse_records(record_dir, volume_ids, answers):
    """{volume_id: record} from the answers of record_commands (a volume without a record is left out); raise
    RecordError for a record that cannot be trusted (the checks of _records.read_record)."""
    rc, out = answers[('stat', '-c', '%F %a', '--', record_dir)]
    if rc != 0:
        if 'No such file or directory' in out or 'Not a directory' in out:
            return {}  # nothing was ever attached here
        raise RecordError('cannot read %s: %s' % (record_dir, error_reason(out)))
    kind, dummy, mode = out.strip().rpartition(' ')
    if kind != 'directory' or int(mode, 8) & 0o022:
        raise RecordError('%s is not a directory only its owner can write' % record_dir)
    records = {}
    for volume_id in volume_ids:
        path = posixpath.join(record_dir, record_file(volume_id))
        rc, kind = answers[('stat', '-c', '%F', '--', path)]
        if rc != 0 and 'No such file or directory' in kind:
            continue
        if rc != 0 or kind.strip() not in ('regular file', 'regular empty file'):
            raise RecordError('cannot open %s: %s' % (path, error_reason(kind) if rc else 'it is a ' + kind.strip()))
        rc, text = answers[('cat', '--', path)]
        if rc != 0:
            raise RecordError('cannot read %s: %s' % (path, error_reason(text)))
        records[volume_id] = parse_record(text, path, volume_id)
    return records


def record_portals(records):
    """The portals of the records' targets, each once, in order."""
    portals = []
    for record in records.values():
        for target in record['targets']:
            if target['portal'] not in portals:
                portals.append(target['portal'])
    return portals


class ConnectorReader:
    """Builds the result of iscsi_connector from batches run by run_batch(commands) -> output text of batch_script.

    read() returns {connector, multipathd_running, records, warnings} or raises InitiatorError, TargetsError,
    RecordError or CommandError."""

    def __init__(self, params, run_batch):
        self.params = params
        self.run_batch = run_batch
        self.answers = {}
        self.warnings = []

    def first_batch(self):
        params = self.params
        commands = [['cat', '--', params['initiator_file']], ['uname', '-n', '-m']]
        if params['multipath']:
            commands.append(['multipathd', 'show', 'status'])
        if params['volume_ids']:
            commands += record_commands(params['record_dir'], params['volume_ids'])
        if not params['ip']:
            commands += [['ip', '-o', 'route', 'get', address] for address in check_portals(params['portals'])]
            commands += [['ip', '-o', 'route', 'show', 'default'], ['ip', '-o', '-6', 'route', 'show', 'default'],
                         ['ip', '-o', 'addr', 'show', 'scope', 'global']]
        return commands

    def _run(self, commands):
        self.answers.update(self.run_batch(commands))
        missing = [argv for argv in commands if tuple(argv) not in self.answers]
        if missing:
            raise CommandError('the host did not answer the command `%s` (did the batch stop early?)'
                               % ' '.join(missing[0]), cmd=missing[0])

    def _ask(self, argv):
        """(rc, stdout, stderr) of an ``ip`` command of ConnectorIp; NeedCommand when it was not run yet."""
        if tuple(argv) not in self.answers:
            raise NeedCommand(argv)
        rc, text = self.answers[tuple(argv)]
        return (rc, text, '') if rc == 0 else (rc, '', text)

    def read(self):
        params = self.params
        check_portals(params['portals'])  # a malformed portal fails before any command runs
        self._run(self.first_batch())
        initiator = self._initiator()
        records = parse_records(params['record_dir'], params['volume_ids'], self.answers) if params['volume_ids'] else {}
        running = bool(params['multipath']) and daemon_answer_ok(*self.answers[('multipathd', 'show', 'status')])
        if params['multipath'] and not running:
            if params['enforce_multipath']:
                raise CommandError('enforce_multipath is true but multipathd does not answer (multipathd show status)')
            self.warnings.append('multipathd does not answer: reporting multipath=false, Cinder will give one portal')
        nodename, dummy, machine = self.answers[('uname', '-n', '-m')][1].strip().partition(' ')
        connector = {
            'initiator': initiator,
            'ip': params['ip'] or self._ip(record_portals(records)),
            'host': params['host'] or nodename,
            'multipath': running,
            'enforce_multipath': params['enforce_multipath'],
            'platform': machine,
            'os_type': 'linux',
            'do_local_attach': False,
        }
        return {'connector': connector, 'multipathd_running': running, 'records': records,
                'warnings': self.warnings}

    def _initiator(self):
        path = self.params['initiator_file']
        rc, text = self.answers[('cat', '--', path)]
        if rc != 0:
            raise InitiatorError('cannot read %s (is open-iscsi installed?): %s' % (path, error_reason(text)))
        return parse_initiator_name(text, path)

    def _ip(self, more_portals):
        """The source address towards the portals (those given, then the records'), else of the default route."""
        addresses = check_portals(self.params['portals'])
        addresses += [address for address in check_portals(more_portals) if address not in addresses]
        for dummy in range(MAX_ROUNDS):
            warnings = []  # of this round only: a round cut short by NeedCommand is asked again
            try:
                ip = find_connector_ip(self._ask, addresses, warnings.append)
                self.warnings += warnings
                return ip
            except NeedCommand as need:
                self._run([need.argv] + [['ip', '-o', 'route', 'get', address] for address in addresses
                                         if ('ip', '-o', 'route', 'get', address) not in self.answers
                                         and ['ip', '-o', 'route', 'get', address] != need.argv])
        raise CommandError('the connector ip needs more than %d rounds of route lookups' % MAX_ROUNDS)


def read_connector(params, run_batch):
    """The iscsi_connector result for params (ARGUMENT_SPEC) or {'failed': True, 'msg': ...}."""
    try:
        return ConnectorReader(params, run_batch).read()
    except (InitiatorError, TargetsError, RecordError) as exc:
        return {'failed': True, 'msg': str(exc)}
    except CommandError as exc:
        return dict(exc.fail_kwargs(), failed=True)
