# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.
"""The boot-time heal service: the heal of iscsi_volume_heal run by systemd, without Ansible, until every recorded
volume has all its paths back.

The iscsi_heal_program module packs this file and the module_utils it imports (all stdlib-only) into one Python
zipapp on the host; the initiator role's systemd unit runs it at boot with a JSON configuration file. Each pass reads
the attach records, heals the volumes that have a path to bring back (logs in to the portals without a session, scans
only the recorded LUN on each session, never maps a device whose WWID is not the record's) and logs the health. After
the first pass it tells systemd it is ready (so that boot goes on, a volume on one path or none), then it runs a pass
every ``retry_interval`` seconds while a volume still has a path to bring back (a storage network that was down at
boot), for at most ``retry_for`` seconds (0: until every path is back)."""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import zipfile

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._heal import (
    HEAL_DEFAULTS, heal_volumes, host_health, options_problem, read_records, to_heal)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._health import needs_heal
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._ifaces import Routes
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import LockError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._records import RecordError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, mask_secrets
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi

PACKAGE = 'ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils'
DEFAULT_CONFIG = '/etc/cinder_local/iscsi-heal.json'
SERVICE_DEFAULTS = {'retry_interval': 30, 'retry_for': 0}
INT_OPTIONS = ('device_timeout', 'map_timeout', 'remove_timeout', 'lock_timeout', 'retry_interval', 'retry_for')
PATH_OPTIONS = ('record_dir', 'lock_dir', 'iface')
IFACE_KEYS = ('name', 'netdev', 'hwaddress', 'transport')
BIN_DIRS = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')
EXIT_HEALTHY, EXIT_CONFIG, EXIT_GAVE_UP = 0, 2, 3
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
IMPORT = re.compile(r'\bansible_collections\.cinder_local\.iscsi_multipath\.plugins\.module_utils\.(_\w+)')
MAIN = ('import sys\n'
        'from %s._heal_service import main\n'
        'sys.exit(main(sys.argv[1:]))\n' % PACKAGE)


class ConfigError(Exception):
    """The configuration file cannot be used."""


def config_params(document):
    """The heal parameters of a configuration document (a JSON object): HEAL_DEFAULTS and SERVICE_DEFAULTS
    overridden by its keys. Raise ConfigError naming what is wrong."""
    if not isinstance(document, dict):
        raise ConfigError('the configuration is not a JSON object')
    params = dict(HEAL_DEFAULTS, **SERVICE_DEFAULTS)
    unknown = sorted(set(document) - set(params))
    if unknown:
        raise ConfigError('unknown key(s) %s' % ', '.join(unknown))
    params.update(document)
    for name in INT_OPTIONS:
        if not isinstance(params[name], int) or isinstance(params[name], bool) or params[name] < 0:
            raise ConfigError('%s must be an integer 0 or more' % name)
    if params['retry_interval'] < 1 or params['lock_timeout'] < 1:
        raise ConfigError('retry_interval and lock_timeout must be 1 or more')
    for name in PATH_OPTIONS:
        if not isinstance(params[name], str) or not params[name]:
            raise ConfigError('%s must be a non-empty string' % name)
    if not isinstance(params['volume_ids'], list) or not all(isinstance(v, str) for v in params['volume_ids']):
        raise ConfigError('volume_ids must be a list of strings')
    if not isinstance(params['ifaces'], list) or not all(
            isinstance(i, dict) and set(i) <= set(IFACE_KEYS) and isinstance(i.get('name'), str) for i in params['ifaces']):
        raise ConfigError('ifaces must be a list of objects with name (and netdev, hwaddress, transport)')
    params['ifaces'] = [dict((key, iface.get(key)) for key in IFACE_KEYS) for iface in params['ifaces']]
    problem = options_problem(params)
    if problem:
        raise ConfigError(problem)
    return params


def load_config(path):
    """config_params() of the JSON file at path."""
    try:
        with open(path) as handle:
            return config_params(json.load(handle))
    except (OSError, ValueError) as exc:
        raise ConfigError('cannot read %s: %s' % (path, exc))


class HostModule:
    """What the engine asks of an AnsibleModule, for a program that runs without Ansible: params, check_mode, warn,
    no_log_values, get_bin_path and run_command (argv lists only, never a shell). Warnings are kept (``warnings``,
    every secret of no_log_values masked) for the log lines of the pass."""

    def __init__(self, params, log, bin_dirs=BIN_DIRS):
        self.params = params
        self.check_mode = False
        self.no_log_values = set()
        self.warnings = []
        self.log = log
        self.bin_dirs = bin_dirs

    def warn(self, msg):
        self.warnings.append('warning: ' + self.mask(msg))

    def mask(self, text):
        return mask_secrets(text, self.no_log_values)

    def get_bin_path(self, name, required=False):
        for directory in self.bin_dirs:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        if required:
            raise CommandError('%s not found in %s' % (name, ':'.join(self.bin_dirs)))
        return None

    @staticmethod
    def run_command(argv, environ_update=None, expand_user_and_vars=False):  # pylint: disable=unused-argument
        """(rc, stdout, stderr) of argv; arguments reach the command verbatim (no shell, no expansion).

        This program runs under systemd, without Ansible: there is no AnsibleModule.run_command to call. Every
        command still goes through the one seam (CommandRunner._run_command: timeout(1), C locale, masked errors)."""
        env = dict(os.environ, **(environ_update or {}))
        process = subprocess.run(  # pylint: disable=ansible-bad-function  # no Ansible here (see above)
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
        return (process.returncode, process.stdout.decode('utf-8', 'replace'),
                process.stderr.decode('utf-8', 'replace'))


def runners_of(module):
    """(iscsiadm, multipath, scsi, routes or None) of the module, every binary resolved."""
    iscsiadm, multipath, scsi = Iscsiadm(module), Multipath(module), Scsi(module)
    routes = Routes(module) if module.params['ifaces'] else None
    for runner in (iscsiadm, multipath, scsi, routes):
        if runner:
            runner.require()
    return iscsiadm, multipath, scsi, routes


def heal_pass(module, runners):
    """Heal every recorded volume that has a path to bring back, then read the health again. Returns {volumes (the
    heal results), summary (health lines), problems, pending (ids of the volumes a later pass may still heal)}."""
    iscsiadm, multipath, scsi = runners[:3]
    params = module.params
    try:
        records, volume_ids = read_records(module, params['record_dir'], params['volume_ids'])
        health, summary, problems = host_health(iscsiadm, multipath, scsi, records, volume_ids, params['record_dir'])
        healable = to_heal(records, health)
        volumes = heal_volumes(module, runners, healable) if healable else []
        if healable:
            health, summary, problems = host_health(iscsiadm, multipath, scsi, records, volume_ids,
                                                    params['record_dir'])
    except (RecordError, CommandError, LockError) as exc:
        message = module.mask(getattr(exc, 'msg', None) or str(exc))
        return {'volumes': [], 'summary': [], 'problems': [message], 'pending': ['*'], 'error': message}
    pending = [entry['volume_id'] for entry in health if entry['volume_id'] in records and needs_heal(entry)]
    return {'volumes': volumes, 'summary': summary, 'problems': problems, 'pending': pending}


def pass_lines(outcome, mask):
    """The log lines of a pass: what each heal did, then the health of every volume."""
    lines = []
    for volume in outcome['volumes']:
        if 'error' in volume:
            lines.append('%s: heal failed (%s): %s' % (volume['volume_id'], volume['status_before'], volume['error']))
        else:
            joined = ', '.join(p['portal'] for p in volume.get('portals', []) if p.get('logged_in'))
            lines.append('%s: healed (%s)%s' % (volume['volume_id'], volume['status_before'],
                                                ', logged in to ' + joined if joined else ''))
    if outcome.get('error'):
        lines.append('pass failed: %s' % outcome['error'])
    else:
        lines += outcome['summary'] or ['no attach record']
    return [mask(line) for line in lines]


def status_line(outcome):
    """The STATUS= systemd shows for the service."""
    if outcome.get('error'):
        return 'pass failed: %s' % outcome['error']
    if outcome['pending']:
        return '%d volume(s) with a path to bring back, retrying' % len(outcome['pending'])
    return '%d volume(s), no path to bring back' % len([line for line in outcome['summary'] if not line.startswith(' ')])


def notify(message, environ=None):
    """sd_notify(3): send message to systemd's NOTIFY_SOCKET; False when there is none (not run by systemd)."""
    address = (os.environ if environ is None else environ).get('NOTIFY_SOCKET')
    if not address:
        return False
    if address.startswith('@'):
        address = '\0' + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode('utf-8'))
    return True


def log_line(text):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def serve(module, runners, clock=time.monotonic, sleep=time.sleep, send=notify):
    """Passes until no volume has a path to bring back (EXIT_HEALTHY) or retry_for ran out (EXIT_GAVE_UP)."""
    params = module.params
    deadline = clock() + params['retry_for'] if params['retry_for'] else None
    last, ready = None, False
    while True:
        module.warnings = []
        outcome = heal_pass(module, runners)
        lines = module.warnings + pass_lines(outcome, module.mask)
        if lines != last:  # a pass like the one before (a network still down) logs nothing
            for line in lines:
                module.log(line)
            last = lines
        send(('READY=1\n' if not ready else '') + 'STATUS=' + module.mask(status_line(outcome)))
        ready = True
        if not outcome['pending']:
            return EXIT_HEALTHY
        if deadline is not None and clock() + params['retry_interval'] > deadline:
            module.log('gave up after %d s: %s' % (params['retry_for'], '; '.join(outcome['problems'])))
            return EXIT_GAVE_UP
        sleep(params['retry_interval'])


def main(argv=None):
    """usage: python3 iscsi-heal.pyz [CONFIG]; exit 0 once every recorded volume is healthy (or has only paths that
    multipathd itself reinstates), 2 on a bad configuration or host, 3 when retry_for ran out."""
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else DEFAULT_CONFIG
    try:
        params = load_config(path)
    except ConfigError as exc:
        log_line('configuration %s: %s' % (path, exc))
        return EXIT_CONFIG
    module = HostModule(params, log_line)
    try:
        runners = runners_of(module)
    except CommandError as exc:
        log_line(exc.msg)
        return EXIT_CONFIG
    return serve(module, runners)


def module_source(name):
    """The source text of an imported module (from its loader: AnsiballZ runs modules from a zip)."""
    loaded = importlib.import_module(name)
    loader = getattr(loaded, '__loader__', None)
    source = loader.get_source(name) if loader is not None and hasattr(loader, 'get_source') else None
    if source is None:
        with open(loaded.__file__) as handle:
            source = handle.read()
    return source


def program_sources(read=module_source):
    """{name in the zipapp: source} of this module_utils and every one of this package it imports (transitively),
    the packages above them and __main__.py."""
    sources = {'__main__.py': MAIN}
    parts = PACKAGE.split('.')
    for depth in range(1, len(parts) + 1):
        sources['/'.join(parts[:depth]) + '/__init__.py'] = ''
    pending, seen = ['_heal_service'], set()
    while pending:
        short = pending.pop()
        if short in seen:
            continue
        seen.add(short)
        source = read(PACKAGE + '.' + short)
        sources[PACKAGE.replace('.', '/') + '/' + short + '.py'] = source
        pending += IMPORT.findall(source)
    return sources


def zipapp_bytes(sources, interpreter='/usr/bin/python3'):
    """A Python zipapp of sources ({name: text}): the same sources give the same bytes (fixed dates, sorted, stored)."""
    buffer = io.BytesIO()
    buffer.write(('#!%s\n' % interpreter).encode('utf-8'))
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_STORED) as archive:
        for name in sorted(sources):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, sources[name].encode('utf-8'))
    return buffer.getvalue()
