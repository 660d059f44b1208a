# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""multipath / multipathd wrapper, the parser of ``multipathd show maps json`` and of the wwids file."""

from __future__ import annotations

import json
import os

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, CommandRunner

DEFAULT_ROOT = '/'
# the WWIDs find_multipaths strict accepts: multipath-tools' default path (its wwids_file setting is deprecated)
WWIDS_FILE = 'etc/multipath/wwids'


def parse_maps_json(output):
    """``multipathd show maps json`` -> [{name, wwid, dm, paths: [{dev, dm_st, dev_st, chk_st}]...}]."""
    try:
        document = json.loads(output)
    except ValueError as exc:
        raise CommandError('multipathd show maps json: unreadable output (%s)' % exc) from None
    maps = []
    for entry in document.get('maps', []):
        paths = []
        for group in entry.get('path_groups', []):
            for path in group.get('paths', []):
                paths.append({
                    'dev': path.get('dev'), 'dev_t': path.get('dev_t'), 'dm_st': path.get('dm_st'),
                    'dev_st': path.get('dev_st'), 'chk_st': path.get('chk_st'),
                    'target': path.get('target_wwnn'), 'host_adapter': path.get('host_adapter'),
                })
        maps.append({
            'name': entry.get('name'), 'wwid': entry.get('uuid'), 'dm': entry.get('sysfs'),
            'dm_st': entry.get('dm_st'), 'write_prot': entry.get('write_prot'),
            'queueing': entry.get('queueing'), 'vendor': entry.get('vend'), 'product': entry.get('prod'),
            'paths': paths,
        })
    return maps


def usable_paths(maps, dm):
    """Devices of map dm (dm-N) whose kernel path state (dm_st, as multipathd read it) is active, in
    parse_maps_json's list: the map can do IO when there is one (the kernel state ``multipath -C`` checks).
    Empty when multipathd does not list the map yet or none of its paths is active."""
    return [path['dev'] for entry in maps if entry['dm'] == dm for path in entry['paths']
            if path['dm_st'] == 'active']


def path_states(maps, dm):
    """{dev: {dm_st, chk_st}} of the paths of map dm in parse_maps_json's list."""
    return dict((path['dev'], {'dm_st': path['dm_st'], 'chk_st': path['chk_st']})
                for entry in maps if entry['dm'] == dm for path in entry['paths'])


def wwids_listed(text):
    """The WWIDs of a wwids file: lines ``/WWID/``; comments ('#') and anything else are not entries
    (as multipath-tools reads it: the line must start with '/')."""
    listed = set()
    for line in text.splitlines():
        wwid, closed, dummy = line[1:].partition('/')
        if line.startswith('/') and closed and wwid:
            listed.add(wwid)
    return listed


def daemon_answer_ok(rc, out):
    """multipathd answers rc 0, but old versions print 'error receiving packet' with rc 0 when down."""
    return rc == 0 and 'error receiving packet' not in out


class Multipath(CommandRunner):
    """multipath and multipathd calls through the one ``_run_command`` seam; the wwids file read under ``root``
    (``/`` on hosts)."""

    COMMANDS = ('timeout', 'multipath', 'multipathd')

    def __init__(self, module, timeout=30, root=None):
        super().__init__(module, timeout=timeout)
        self.root = DEFAULT_ROOT if root is None else root

    def wwid_listed(self, wwid):
        """True when the wwids file lists the WWID; a missing or unreadable file lists nothing."""
        try:
            with open(os.path.join(self.root, WWIDS_FILE), encoding='utf-8', errors='replace') as handle:
                return wwid in wwids_listed(handle.read())
        except (IOError, OSError):
            return False

    def _call(self, binary, args, what, ok_rcs=(0,)):
        argv = [self.bin(binary)] + list(args)
        rc, out, err = self._run_command(argv)
        if rc not in ok_rcs:
            raise self.error('%s failed' % what, argv, rc, out, err)
        return rc, out

    def is_running(self):
        """True when multipathd answers on its socket."""
        argv = [self.bin('multipathd'), 'show', 'status']
        rc, out, dummy = self._run_command(argv)
        return daemon_answer_ok(rc, out)

    def maps(self):
        """``multipathd show maps json``, parsed; the threads that list at once share one listing (SharedCall)."""
        return self._shared_call('maps', self._maps)

    def _maps(self):
        rc, out = self._call('multipathd', ['show', 'maps', 'json'], 'listing multipath maps')
        if not daemon_answer_ok(rc, out):
            raise CommandError('multipathd is not running', ['multipathd', 'show', 'maps', 'json'], rc, out, '')
        return parse_maps_json(out)

    def add_wwid(self, wwid):
        """``multipath -a WWID``: put the WWID in the wwids file so find_multipaths strict accepts it."""
        self._call('multipath', ['-a', wwid], 'multipath -a %s' % wwid)

    def add_path(self, dev):
        """``multipathd add path``; True when it answered ok (a refusal is not fatal: the caller waits for the map)."""
        rc, out, dummy = self._run_command([self.bin('multipathd'), 'add', 'path', '/dev/' + dev])
        return rc == 0 and out.strip() == 'ok'

    def del_path(self, dev):
        self._call('multipathd', ['del', 'path', '/dev/' + dev], 'multipathd del path /dev/%s' % dev)

    def flush(self, name):
        """``multipath -f NAME``; raises CommandError when the map stays (in use)."""
        self._call('multipath', ['-f', name], 'flushing multipath map %s' % name)

    def resize_map(self, name):
        """``multipathd resize map NAME``: the map takes the size its first path shows in sysfs (multipath-tools 0.9
        never does it by itself, and ``reconfigure`` or ``reload`` keep the old size)."""
        argv = [self.bin('multipathd'), 'resize', 'map', name]
        rc, out, err = self._run_command(argv)
        if not daemon_answer_ok(rc, out) or out.strip() != 'ok':
            raise self.error('multipathd resize map %s failed' % name, argv, rc, out, err)

    def del_map(self, name):
        self._call('multipathd', ['del', 'map', name], 'multipathd del map %s' % name)
