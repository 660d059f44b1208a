# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.
"""The attach engine of iscsi_volume: every session of every volume at once, then every map at once."""

from __future__ import annotations

import threading
import time

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._device import (
    DeviceManager, checked_targets, min_paths_problem, size_problem)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._discovery import DISCOVERY_LOCK
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._health import node_session_params, template_keys
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import find_session
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import target_lock
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._mount import MountManager, checked_mount
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._records import (
    RecordError, attach_record, write_record)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, Stopwatch
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._session import SessionManager, auth_problem
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import TargetsError

DEVICE_POLL = 0.25
# A login still running when no other login ended for this long is slow (a portal whose packets are dropped): the
# maps are built on the paths that are up meanwhile, and its path joins when (and if) its login ends within its bound.
SLOW_LOGIN = 0.5


def records_missing(params, read_record):
    """The volume ids a detach with O(missing_record=skip) leaves out: given by volume_id alone, with no attach
    record. None in every other call. Raise RecordError (a record that cannot be trusted is not a missing one)."""
    if params['state'] != 'absent' or params['missing_record'] != 'skip' or params['volumes'] is None:
        return None
    return [volume['volume_id'] for volume in params['volumes']
            if volume['volume_id'] and volume['targets'] is None and read_record(volume['volume_id']) is None]


def checked_volumes(params, read_record):
    """[{volume_id, attachment_id, targets, auth, discovery_auth, wwid, size_bytes, previous, mount}] of the call
    (O(volumes), or the one volume of O(targets)). read_record(volume_id) gives a detach its targets and WWID, and an
    attach the WWID it had before (previous). mount: the volume's managed mount from O(mounts), or None. Raise
    TargetsError or RecordError."""
    mounts = params.get('mounts') or {}
    if params['volumes'] is None:
        if mounts:
            raise TargetsError('mounts needs volumes given with volumes[].volume_id (the attach record keeps the mount)')
        return [{'volume_id': None, 'attachment_id': None, 'targets': checked_targets(params['targets']),
                 'auth': params['auth'], 'discovery_auth': None, 'wwid': params['wwid'],
                 'size_bytes': params['size_bytes'], 'previous': None, 'mount': None}]
    unknown = sorted(set(mounts) - set(volume['volume_id'] for volume in params['volumes']))
    if unknown:
        raise TargetsError('mounts names volumes that are not in volumes: %s' % ', '.join(unknown))
    volumes = []
    for index, volume in enumerate(params['volumes']):
        where = 'volumes[%d]' % index
        wwid, attachment_id, targets = volume['wwid'], volume['attachment_id'], volume['targets']
        record = read_record(volume['volume_id']) if volume['volume_id'] else None
        if targets is None or (targets == [] and record is not None and params['state'] == 'absent'):
            if not volume['volume_id'] or params['state'] != 'absent':
                raise TargetsError('%s.targets is required (only a detach can take them from volume_id\'s record)'
                                   % where)
            if record is None:
                raise RecordError('%s: volume %s has no attach record in %s; give its targets (from Cinder)'
                                  % (where, volume['volume_id'], params['record_dir']))
            targets = record['targets']
            attachment_id = attachment_id or record.get('attachment_id')
        try:
            targets = checked_targets(targets)
        except TargetsError as exc:
            raise TargetsError('%s.%s' % (where, exc))
        volumes.append({'volume_id': volume['volume_id'], 'attachment_id': attachment_id, 'targets': targets,
                        'auth': volume['auth'] or params['auth'],
                        'discovery_auth': dict({'method': 'CHAP'}, **volume['discovery_auth']) if volume['discovery_auth'] else None,
                        'wwid': wwid or (record or {}).get('wwid'), 'size_bytes': volume['size_bytes'],
                        'previous': record, 'mount': _mount_of(mounts, volume['volume_id'], params['state'])})
    return volumes


def _mount_of(mounts, volume_id, state):
    if volume_id not in mounts or state != 'present':
        return None
    try:
        return checked_mount(mounts[volume_id], 'mounts[%s]' % volume_id)
    except ValueError as exc:
        raise TargetsError(str(exc))


def share_sessions(volumes):
    """Whether two of the volumes use one (portal, IQN)."""
    keys = [(entry['portal'], entry['iqn']) for volume in volumes for entry in sessions_of(volume['targets'])]
    return len(keys) != len(set(keys))


def in_parallel_unless_shared(work, items, volumes):
    """work(item) for every item, at once; one after the other when two of the volumes (one per item, each with its
    ``targets``) share a session: a login is one volume's to make. Results in item order."""
    if share_sessions(volumes):
        return [work(item) for item in items]
    return in_parallel(work, items)


def nothing_known(volume, detach):
    """True for a volume a detach can only leave alone: given by volume_id with no targets (Cinder's attachment has no
    connection details: it was never connected), no attach record and no WWID."""
    return detach and bool(volume.get('volume_id')) and not volume['targets'] and not volume['wwid']


def volumes_problem(volumes, min_paths, detach=False, discovery=False):
    """Why the volumes cannot be attached or detached together as given, or None (min_paths 0: not checked).

    With discovery, min_paths of a volume given one portal is checked after its discovery (discovered_problem)."""
    auth = {}
    for index, volume in enumerate(volumes):
        where = 'volumes[%d] ' % index if len(volumes) > 1 else ''
        if not volume['targets'] and not nothing_known(volume, detach):
            return where + 'targets is empty'
        problem = (auth_problem(volume['auth']) or discovery_auth_problem(volume.get('discovery_auth'))
                   or size_problem(volume.get('size_bytes'), 'size_bytes'))
        if problem:
            return where + problem
        problem = None if discovery and one_portal(volume) else min_paths_problem(min_paths, volume['targets'])
        if problem:
            return where + problem
        for target in volume['targets']:
            key = (target['portal'], target['iqn'])
            if auth.setdefault(key, volume['auth']) != volume['auth']:
                return '%s%s %s is shared with another volume that gives other CHAP credentials' % (where, key[0], key[1])
    return None


def discovery_auth_problem(auth):
    """Why discovery CHAP credentials cannot be used, or None (never quotes a value)."""
    if not auth:
        return None
    unknown = sorted(set(auth) - set(('method', 'username', 'password')))
    if unknown or not auth.get('username') or not auth.get('password') or auth.get('method', 'CHAP') != 'CHAP':
        return 'discovery_auth takes username, password and method CHAP%s' % (
            ' (unknown: %s)' % ', '.join(unknown) if unknown else '')
    return auth_problem(auth, 'discovery_auth')


def sessions_of(targets):
    """One entry per (portal, iqn) in target order, with the LUN of its first target."""
    seen = []
    for target in targets:
        if not any(entry['portal'] == target['portal'] and entry['iqn'] == target['iqn'] for entry in seen):
            seen.append(dict(target))
    return seen


def one_portal(volume):
    """The portal of a volume whose targets all use one portal (discovery may find the others), or None."""
    portals = set(target['portal'] for target in volume['targets'])
    return portals.pop() if len(portals) == 1 else None


def discovered_problem(volumes, discovered, min_paths):
    """Why a volume given one portal still has fewer targets than min_paths after its discovery, or None. Checked
    before any login: a failed discovery (a wrong discovery CHAP secret) fails the attach here when min_paths asks
    for more paths than the one portal given, instead of attaching it with one path."""
    for index, (volume, found) in enumerate(zip(volumes, discovered)):
        problem = min_paths_problem(min_paths, volume['targets']) if found else None
        if problem:
            cause = found.get('error') or 'discovery on %s announced no other portal of %s' % (
                found['portal'], volume['targets'][0]['iqn'])
            return '%s%s, %s' % ('volumes[%d] ' % index if len(volumes) > 1 else '', problem, cause)
    return None


def announced_targets(volume, announced):
    """The volume's targets plus, for each other portal that announced its IQN, the same LUN there."""
    first = volume['targets'][0]
    known = set(target['portal'] for target in volume['targets'])
    found = [{'portal': record['portal'], 'iqn': first['iqn'], 'lun': first['lun']} for record in announced
             if record['iqn'] == first['iqn'] and record['portal'] not in known]
    unique = [target for index, target in enumerate(found) if target not in found[:index]]
    return volume['targets'] + unique


def shared_wwid(devices):
    """[(index, CommandError)] when two volumes of the call show the same WWID: multipathd would put both in one map,
    one volume's data under the other's name."""
    seen = {}
    for index, device in enumerate(devices):
        first = seen.setdefault(device.get('wwid'), index) if device.get('wwid') else index
        if first != index:
            return [(index, CommandError('volumes[%d] and volumes[%d] show the same WWID %s: one volume at two LUNs, '
                                         'or a target that gives two LUNs one identity; refused'
                                         % (first, index, device['wwid'])))]
    return []


def in_parallel(work, items):
    """work(item) for every item, a thread of its own each; results in item order (unexpected errors re-raised)."""
    if len(items) < 2:
        return [work(item) for item in items]
    outcomes = [None] * len(items)

    def run(index):
        try:
            outcomes[index] = (work(items[index]), None)
        except Exception as exc:  # pylint: disable=broad-except  # re-raised in the calling thread
            outcomes[index] = (None, exc)
    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for dummy, error in outcomes:
        if error is not None:
            raise error
    return [result for result, dummy in outcomes]


class Logins:
    """Logins running in threads of their own, so that the maps can be built while a slow one is still pending."""

    def __init__(self, work, entries):
        self.entries = entries
        self.outcomes = [None] * len(entries)
        self.ended = threading.Condition()
        self.last_end = time.monotonic()
        self.threads = [threading.Thread(target=self._run, args=(work, index)) for index in range(len(entries))]
        for thread in self.threads:
            thread.start()

    def _run(self, work, index):
        try:
            outcome = (work(self.entries[index]), None)
        except Exception as exc:  # pylint: disable=broad-except  # re-raised in the calling thread by join()
            outcome = (None, exc)
        with self.ended:
            self.outcomes[index] = outcome
            self.last_end = time.monotonic()
            self.ended.notify_all()

    def ended_outcomes(self):
        return [result for result, error in [o for o in self.outcomes if o] if error is None]

    def wait(self, enough):
        """Wait until every login ended, or until enough(outcomes of the ended logins) holds and no login ended for
        SLOW_LOGIN seconds; return (the outcomes of the ended logins, True when a login is still running)."""
        with self.ended:
            while None in self.outcomes:
                quiet = time.monotonic() - self.last_end
                if quiet >= SLOW_LOGIN and enough(self.ended_outcomes()):
                    break
                self.ended.wait(max(SLOW_LOGIN - quiet, 0.05))
            return self.ended_outcomes(), None in self.outcomes

    def join(self):
        """Every outcome, in entry order, once every login ended (each is bounded by its own timeout)."""
        for thread in self.threads:
            thread.join()
        for dummy, error in self.outcomes:
            if error is not None:
                raise error
        return [result for result, dummy in self.outcomes]


def login_missing(outcomes, targets):
    """missing_paths entries of the targets whose portal failed to log in."""
    failed = dict(((o['portal'], o['iqn']), o['error']) for o in outcomes if 'error' in o)
    return [dict(target, reason='login failed: ' + failed[(target['portal'], target['iqn'])])
            for target in targets if (target['portal'], target['iqn']) in failed]


def live_outcomes(outcomes):
    """The outcomes of the portals that logged in."""
    return [o for o in outcomes if 'error' not in o]


def live_targets(outcomes, targets):
    """The targets whose (portal, iqn) has a session."""
    ok = set((o['portal'], o['iqn']) for o in outcomes if 'error' not in o)
    return [target for target in targets if (target['portal'], target['iqn']) in ok]


def outcomes_of(outcomes, targets):
    """The outcomes of the sessions the targets use, in target order."""
    keys = [(entry['portal'], entry['iqn']) for entry in sessions_of(targets)]
    return sorted([o for o in outcomes if (o['portal'], o['iqn']) in keys], key=lambda o: keys.index((o['portal'], o['iqn'])))


def unexpected(exc):
    """A CommandError for an exception no step expected (a bug, or the host in a state nobody foresaw)."""
    return CommandError('unexpected %s: %s' % (type(exc).__name__, exc))


def foreign_luns(results):
    """{(portal, iqn): [LUN]} of the devices the detach left alone as another volume's (their sessions stay)."""
    found = {}
    for result in results:
        for entry in (result.get('foreign_devices') or []) if isinstance(result, dict) else []:
            if entry.get('portal'):
                found.setdefault((entry['portal'], entry['iqn']), []).append(entry['lun'])
    return found


def all_targets(volumes):
    return [target for volume in volumes for target in volume['targets']]


def merged_phases(stopwatches):
    """The slowest of each phase over volumes handled at the same time."""
    names = set(name for watch in stopwatches for name in watch.phases)
    return dict((name, max(watch.phases.get(name, 0.0) for watch in stopwatches)) for name in names)


class VolumeManager:
    """Attach or detach volumes: every session in parallel, then every map in parallel."""

    def __init__(self, module, iscsiadm, multipath, scsi, routes=None, filesystems=None, mounts=None):
        self.module = module
        self.mounts = mounts
        self.mount_managers = []
        self.iscsiadm = iscsiadm
        self.multipath = multipath
        self.scsi = scsi
        self.routes = routes
        self.filesystems = filesystems
        self.params = module.params
        self.portal_iface = {}
        self.stopwatch = Stopwatch()
        self.device_watches = []
        self.errors = {}
        self.left_behind = []
        self.rolled_back = []
        self.kept = []
        self.outcomes = []
        self.results = []

    def _volume_params(self, volume):
        return dict(self.params, auth=volume['auth'], wwid=volume['wwid'], size_bytes=volume['size_bytes'])

    def _iface(self, portal):
        return self.portal_iface.get(portal, self.params['iface'])

    def prepare(self, volumes):
        """Before any lock: each portal's iface (O(ifaces)), then discovery of the portals of the volumes given one
        portal (O(discovery), not in check mode). Adds the discovered targets to the volumes; returns, per volume,
        what its discovery found (or None)."""
        if self.params['ifaces']:
            self.portal_iface = self.routes.portal_ifaces(sorted(set(t['portal'] for t in all_targets(volumes))),
                                                          self.params['ifaces'])
        discovered = [self._discover(volume) for volume in volumes]
        if self.params['ifaces'] and any(discovered):
            portals = set(t['portal'] for t in all_targets(volumes)) - set(self.portal_iface)
            self.portal_iface.update(self.routes.portal_ifaces(sorted(portals), self.params['ifaces']))
        if self.params['ifaces'] or any(discovered):
            self.stopwatch.mark('discovery')
        return discovered

    def _discover(self, volume):
        """SendTargets on the volume's one portal, leaving the node database as it was (a failure only warns)."""
        portal = one_portal(volume)
        if not (self.params['discovery'] and portal and self.params['state'] == 'present') or self.module.check_mode:
            return None
        try:
            with target_lock(portal, DISCOVERY_LOCK, self.params['lock_dir'], self.params['lock_timeout']):
                announced = self.iscsiadm.discover(portal, volume['discovery_auth'], self._iface(portal),
                                                   persistent=False)
        except CommandError as exc:
            self.module.warn('discovery on %s failed, only the portal Cinder gave is used: %s' % (portal, exc.msg))
            return {'portal': portal, 'error': exc.msg, 'added': []}
        targets = announced_targets(volume, announced)
        added = targets[len(volume['targets']):]
        volume['targets'] = targets
        return {'portal': portal, 'added': added}

    def _devices(self):
        devices = DeviceManager(self.module, self.iscsiadm, self.multipath, self.scsi, poll=DEVICE_POLL,
                                filesystems=self.filesystems)
        self.device_watches.append(devices.stopwatch)
        return devices

    def _session(self, entry):
        return SessionManager(self.module, self.iscsiadm, self.scsi, entry['portal'], entry['iqn'])

    def _guarded(self, entry, action):
        """action(); a failure is kept in self.errors and becomes an outcome with 'error'.

        Any exception counts: one escaping a worker thread would skip the rollback of the other threads' work."""
        try:
            return action()
        except CommandError as exc:
            error = exc
        except Exception as exc:  # pylint: disable=broad-except  # becomes this portal's failure, rolled back
            error = unexpected(exc)
        self.errors[(entry['portal'], entry['iqn'])] = error
        return {'portal': entry['portal'], 'iqn': entry['iqn'], 'error': error.msg}

    def _login(self, entry, sessions, node_iqns=None):
        watch = Stopwatch()
        manager = self._session(entry)
        outcome = self._guarded(entry, lambda: manager.present(entry['params'], sessions, node_iqns))
        outcome = dict((key, value) for key, value in outcome.items() if key not in ('changed', 'scsi_host'))
        outcome['elapsed_s'] = watch.total()
        return outcome

    def _undo_logins(self, outcomes):
        """Log out of the sessions and delete the node records this call made (errors only warn)."""
        def undo(outcome):
            try:
                self._session(outcome).undo(outcome['created_node'], outcome['logged_in'])
            except CommandError as exc:
                self.module.warn('could not roll back the login to %s %s: %s' % (
                    outcome['portal'], outcome['iqn'], getattr(exc, 'msg', exc)))
        in_parallel(undo, [o for o in live_outcomes(outcomes) if o['created_node'] or o['logged_in']])

    def _log_in(self, volumes):
        """Every (portal, iqn) of every volume once, all at once, in the background."""
        sessions = self.iscsiadm.sessions()
        node_iqns = self.iscsiadm.node_iqns()  # 32 logins of 16 new volumes: one listing, not 32 reads
        entries = []
        for volume in volumes:
            params = self._volume_params(volume)
            entries += [dict(entry, params=dict(params, iface=self._iface(entry['portal'])))
                        for entry in sessions_of(volume['targets'])
                        if (entry['portal'], entry['iqn']) not in [(e['portal'], e['iqn']) for e in entries]]
        return Logins(lambda entry: self._login(entry, sessions, node_iqns), entries)

    def _login_results(self, volumes):
        """One result per volume from the logins' outcomes."""
        results = []
        for volume in volumes:
            portals = outcomes_of(self.outcomes, volume['targets'])
            results.append({
                'changed': any(o.get('created_node') or o.get('updated') or o.get('logged_in') for o in portals),
                'targets': volume['targets'], 'portals': portals, 'paths': [],
                'missing_paths': login_missing(portals, volume['targets'])})
        return results

    def attached(self, volume):
        """Whether the volume is attached here already: its attach record's WWID (the one it must show) has a multipath
        map now. Such a volume takes the heal path (see heal())."""
        record = volume.get('previous')
        return bool(record and record.get('wwid') and volume['wwid'] == record['wwid']
                    and self.scsi.maps_of_wwid(record['wwid']))

    def present(self, volumes):
        """Attach the volumes. One attached already (attached()) is healed, first: only its missing portals are logged
        in and its missing LUNs scanned, its healthy paths' sessions and node records are left as they are, and it grows
        when Cinder's size is larger. The others are attached together; a failure rolls back what this call made."""
        count = len(volumes)
        attached = [index for index, volume in enumerate(volumes) if self.attached(volume)]
        results = [None] * count

        def heal(index):
            try:
                return self.heal(volumes[index]['previous'], self.iscsiadm.sessions(), volume=volumes[index])
            except CommandError as exc:
                return self._for_volume((index, exc), count)
        healed = in_parallel_unless_shared(heal, attached, [volumes[index] for index in attached])
        if attached:
            self.stopwatch.mark('heal')
        self.kept = [volumes[index]['volume_id'] for index in attached]
        for index, result in zip(attached, healed):
            if isinstance(result, CommandError):
                raise result
            results[index] = result
        fresh = [index for index in range(count) if index not in attached]
        if fresh:
            self.mount_managers = []  # a failure below undoes only the mounts of the volumes it rolls back
            for index, result in zip(fresh, self._present_fresh([volumes[index] for index in fresh], fresh, count)):
                results[index] = result
        return results

    def _enough(self, volumes, outcomes):
        """True when the outcomes give every volume min_paths logged-in paths (never in check mode: it logs in
        nowhere, its logins end at once)."""
        return not self.module.check_mode and all(
            len(live_targets(outcomes, volume['targets'])) >= self.params['min_paths'] for volume in volumes)

    def _warn_missing(self, results):
        for missing in [m for result in results for m in result['missing_paths']]:
            self.module.warn('no path through %s %s LUN %d: %s' % (
                missing['portal'], missing['iqn'], missing['lun'], missing['reason']))

    def _present_fresh(self, volumes, indexes, count):
        """Attach volumes not attached here yet (indexes: their places in the call, for error messages): log in
        everywhere, build each volume's map on the paths that are up (a slow login left running), then add the paths
        whose login ended late; on a failure every one of these volumes is rolled back."""
        logins = self._log_in(volumes)
        early, slow = logins.wait(lambda outcomes: self._enough(volumes, outcomes))
        self.stopwatch.mark('login')
        if not slow:
            self.outcomes = logins.join()  # every login ended (an unexpected error in one is raised here)
            results = self._login_results(volumes)
            for index, result in enumerate(results):
                if len(result['targets']) - len(result['missing_paths']) < self.params['min_paths']:
                    self._undo_logins(self.outcomes)
                    self.rolled_back = [volume['volume_id'] for volume in volumes]
                    error = self._short_of_paths(result['missing_paths'], len(result['targets']))
                    raise self._for_volume((indexes[index], error), count)
            self._warn_missing(results)
            if self.module.check_mode and any(o['logged_in'] for o in live_outcomes(self.outcomes)):
                return results
        managers = [self._devices() for volume in volumes]

        def attach(index):
            """The volume's map, or the error after its own devices and map were rolled back."""
            try:
                return managers[index].present(live_targets(early, volumes[index]['targets']),
                                               self._volume_params(volumes[index]))
            except CommandError as exc:
                return exc  # present() rolled back its own map and devices
            except Exception as exc:  # pylint: disable=broad-except  # any other failure: roll back, then report it
                managers[index].rollback()
                return unexpected(exc)
        first = devices = in_parallel(attach, list(range(len(volumes))))
        late = [None] * len(volumes)
        if slow:
            self.outcomes = logins.join()  # each slow login ends within its own bound
            self.stopwatch.mark('slow_login')
            results = self._login_results(volumes)
            self._warn_missing(results)
        failed = ([(index, error) for index, error in enumerate(devices) if isinstance(error, CommandError)]
                  or shared_wwid(devices))
        if slow and not failed:
            devices = self._late_paths(volumes, first, early, late)
            self.stopwatch.mark('late_paths')
            failed = [(index, error) for index, error in enumerate(devices) if isinstance(error, CommandError)]
        if not failed:
            for result, device in zip(results, devices):
                result['changed'] = result['changed'] or device.pop('changed')
                result['missing_paths'] += device.pop('missing_paths')
                result.update(device)
            failed = self._mount(volumes, results) or self._write_records(volumes, results)
        if failed:
            for manager in self.mount_managers:
                manager.rollback()
            for manager, device in zip(managers, first):
                if not isinstance(device, CommandError):
                    manager.rollback()
            for manager in [manager for manager in late if manager]:
                manager.rollback()  # the late devices a map held until the rollback above
            self._undo_logins(self.outcomes)
            leftovers = [(volume['volume_id'], manager.leftovers() + (extra.leftovers() if extra else []))
                         for volume, manager, extra in zip(volumes, managers, late)]
            self.left_behind = [{'volume_id': volume_id, 'devices': devices} for volume_id, devices in leftovers if devices]
            self.rolled_back = [volume['volume_id'] for volume in volumes]
            index, error = failed[0]
            raise self._for_volume((indexes[index], error), count)
        return results

    def _mount(self, volumes, results):
        """The managed mount of each volume that asks for one (O(mounts)); [(index, CommandError)] of the first that
        failed (its own steps undone; the caller undoes the others')."""
        for index, (volume, result) in enumerate(zip(volumes, results)):
            if volume.get('mount') and result.get('dm'):
                manager = MountManager(self.module, self.mounts, self.scsi)
                try:
                    result['mount'] = manager.ensure(volume['volume_id'], volume['mount'], result,
                                                     (volume['previous'] or {}).get('mount'))
                except CommandError as exc:
                    return [(index, exc)]
                self.mount_managers.append(manager)
                changed = result['mount'].pop('changed')
                result['changed'] = result['changed'] or changed
        return []

    def _late_paths(self, volumes, devices, early, managers):
        """Each volume's map (devices: present()'s results) with the paths whose login ended after it was built: their
        devices join it only once they show its WWID and size (the volume's CommandError, its late devices removed,
        if they do not). managers gets the DeviceManager of each volume that had late paths."""
        def join(index):
            volume, device = volumes[index], devices[index]
            live = live_targets(self.outcomes, volume['targets'])
            if live == live_targets(early, volume['targets']):
                return device
            managers[index] = self._devices()
            params = dict(self._volume_params(volume), wwid=device['wwid'], grow_filesystem=False)
            try:
                joined = managers[index].present(live, params)
            except CommandError as exc:
                return exc  # present() removed the devices it scanned in
            except Exception as exc:  # pylint: disable=broad-except  # any other failure: roll back, then report it
                managers[index].rollback()
                return unexpected(exc)
            return dict(device, **dict(joined, changed=True, resized=bool(device.get('resized') or joined.get('resized')),
                                       replaced_devices=device['replaced_devices'] + joined['replaced_devices']))
        return in_parallel(join, list(range(len(volumes))))

    def _write_records(self, volumes, results):
        """Write the attach record of each volume given by volume_id; [(index, CommandError)] of those that failed."""
        if self.module.check_mode:
            return []
        for index, (volume, result) in enumerate(zip(volumes, results)):
            if volume['volume_id']:
                try:
                    write_record(self.params['record_dir'], attach_record(volume, result, volume['previous']))
                except RecordError as exc:
                    return [(index, CommandError(str(exc)))]
        return []

    def _short_of_paths(self, missing, total):
        first = self.errors[(missing[0]['portal'], missing[0]['iqn'])] if missing else CommandError('no targets')
        return CommandError('only %d of %d paths logged in (min_paths=%d): %s' % (
            total - len(missing), total, self.params['min_paths'],
            '; '.join('%s: %s' % (m['portal'], m['reason']) for m in missing)),
            first.cmd, first.rc, first.stdout, first.stderr)

    @staticmethod
    def _for_volume(failure, count):
        """The error of volume `index`, named so when several were given."""
        index, error = failure
        if count > 1:
            error.msg = 'volumes[%d]: %s' % (index, error.msg)
        return error

    def absent(self, volumes):
        for volume in [volume for volume in volumes if nothing_known(volume, True)]:
            self.module.warn('%s: no targets (the Cinder attachment has no connection details) and no attach record: '
                             'nothing of it to detach on this host' % volume['volume_id'])

        def detach(volume):
            try:
                released = self._release(volume)
                if released and released['changed'] and self.module.check_mode:
                    return {'changed': True, 'removed_devices': [], 'paths': [], 'foreign_devices': [],
                            'wwid': volume['wwid'], 'mount': released}  # the devices cannot be judged while mounted
                removed = self._devices().absent(volume['targets'], self._volume_params(volume))
                if released:
                    removed.update(mount=released, changed=removed['changed'] or released['changed'])
                return removed
            except CommandError as exc:
                return exc
            except Exception as exc:  # pylint: disable=broad-except  # this volume's outcome; the others go on
                return unexpected(exc)
        removed = in_parallel(detach, volumes)
        self.stopwatch.mark('devices')
        check = self.module.check_mode
        detached = [volume for volume, result in zip(volumes, removed) if not isinstance(result, CommandError)]

        entries = sessions_of(all_targets(detached))
        sessions = self.iscsiadm.sessions() if entries else []  # once, before any logout starts
        foreign = foreign_luns(removed)

        def logout(entry):
            manager = self._session(entry)
            return self._guarded(entry, lambda: manager.absent(
                entry['lun'], False, lun_removed=check, sessions=sessions,
                foreign_luns=foreign.get((entry['portal'], entry['iqn']), [])))
        outcomes = self.outcomes = in_parallel(logout, entries)
        self.stopwatch.mark('logout')
        portals = [dict((k, v) for k, v in o.items() if k != 'changed') for o in outcomes]
        self.results = [self._detached(volume, result, outcomes, portals) for volume, result in zip(volumes, removed)]
        failed = [(index, error) for index, error in enumerate(removed) if isinstance(error, CommandError)]
        if failed:
            raise self._for_volume(failed[0], len(volumes))
        errors = [o for o in outcomes if 'error' in o]
        if errors:
            raise self.errors[(errors[0]['portal'], errors[0]['iqn'])]
        return self.results

    def _release(self, volume):
        """Before the volume's devices go: its managed mount (from its attach record) unmounted and its fstab line
        removed when O(unmount) asks, else refused while either is there; the entry for its result, or None."""
        recorded = (volume.get('previous') or {}).get('mount')
        if not recorded:
            return None
        return MountManager(self.module, self.mounts, self.scsi).release(
            volume['volume_id'], recorded, volume['wwid'], self.params.get('unmount'))

    @staticmethod
    def _detached(volume, removed, outcomes, portals):
        """One volume's detach result: its devices' removal, its sessions' logouts, or the error that kept it."""
        mine = outcomes_of(outcomes, volume['targets'])
        result = {'targets': volume['targets'], 'portals': outcomes_of(portals, volume['targets'])}
        if isinstance(removed, CommandError):
            return dict(result, changed=False, error=removed.msg)
        errors = [o['error'] for o in mine if 'error' in o]
        if errors:
            result['error'] = '; '.join(errors)
        return dict(removed, changed=removed['changed'] or any(o.get('changed') for o in mine), **result)

    def heal(self, record, sessions, volume=None):
        """Bring back the missing paths of the volume of an attach record: log in to each (portal, IQN) of its targets
        that has no session (sessions: a listing taken under the targets' locks), scan the LUNs without a device, add
        the devices to the map of the record's WWID. A (portal, IQN) with a session is not logged in again and its node
        record is not changed (only read, for its settings); its device only has its identity read again (as every
        attach does) to prove it is still the volume before another path joins its map. Nothing is logged out but what this call opened,
        when it fails. The login of a missing (portal, IQN) takes its settings (CHAP, timeouts, node.startup) from
        a node record of the volume, best first as template_keys() orders them.

        volume: the volume as iscsi_volume was given it, when present() heals a volume attached already (a re-run of
        the attach). Its targets, CHAP and settings (from Cinder) are then used for the logins instead of a node
        record's, its size_bytes grows the volume when Cinder's is larger, O(min_paths) applies, its managed mount is
        made when missing, and its record is written even when nothing changed (the attachment may be new).

        Returns the volume's result as present() gives it; raises CommandError (after its rollback)."""
        targets = (volume or record)['targets']
        entries = [entry for entry in sessions_of(targets) if not find_session(sessions, entry['portal'], entry['iqn'])]
        unknown = sorted(set(e['portal'] for e in entries) - set(self.portal_iface))
        if self.params['ifaces'] and unknown:
            self.portal_iface.update(self.routes.portal_ifaces(unknown, self.params['ifaces']))
        settings = {}
        outcomes = [self._kept(entry, sessions) for entry in sessions_of(targets) if entry not in entries]
        ready = []
        for entry in entries:
            if volume:
                params = dict(self._volume_params(volume), iface=self._iface(entry['portal']))
            else:
                params = self._template(entry, targets, sessions, settings)
            if params is None:
                outcomes.append({'portal': entry['portal'], 'iqn': entry['iqn'], 'error': 'no node record of the '
                                 "volume's targets to copy the CHAP and timeouts from (attach the volume again)"})
            else:
                ready.append(dict(entry, params=params))
        outcomes += in_parallel(lambda entry: self._login(entry, sessions), ready)
        self.outcomes = outcomes
        portals = outcomes_of(outcomes, targets)
        result = {'targets': targets, 'portals': portals, 'missing_paths': login_missing(portals, targets)}
        for missing in result['missing_paths']:
            self.module.warn('%s: no path through %s %s LUN %d: %s' % (
                record['volume_id'], missing['portal'], missing['iqn'], missing['lun'], missing['reason']))
        live = live_targets(portals, targets)
        if len(live) < (self.params['min_paths'] if volume else 1):
            self._undo_logins(outcomes)
            if volume:
                raise self._short_of_paths(result['missing_paths'], len(targets))
            raise CommandError('no path logged in: %s' % '; '.join(
                '%s: %s' % (missing['portal'], missing['reason']) for missing in result['missing_paths']))
        if self.module.check_mode and any(o['logged_in'] for o in live_outcomes(portals)):
            return dict(result, changed=True, wwid=record['wwid'])  # the new paths' devices cannot be predicted
        devices = self._devices()
        params = dict(self.params, wwid=record['wwid'], size_bytes=volume['size_bytes'] if volume else None, min_paths=1)
        try:
            found = devices.present(live, params)
        except CommandError:  # present() rolled back its own devices and map
            self._undo_logins(outcomes)
            raise
        except Exception as exc:  # pylint: disable=broad-except  # any other failure: roll back, then report it
            devices.rollback()
            self._undo_logins(outcomes)
            raise unexpected(exc)
        result['missing_paths'] += found.pop('missing_paths')
        result.update(found, changed=found['changed'] or any(o.get('logged_in') or o.get('created_node') or o.get('updated')
                                                             for o in live_outcomes(portals)))
        if volume:
            failed = self._mount([volume], [result]) or self._write_records([volume], [result])
            if failed:
                raise failed[0][1]  # the healed paths stay: the volume was attached before this call
            return result
        if result['changed']:
            try:
                write_record(self.params['record_dir'], attach_record(record, result, record))
            except RecordError as exc:
                self.module.warn('%s: the attach record could not be updated: %s' % (record['volume_id'], exc))
        return result

    @staticmethod
    def _kept(entry, sessions):
        """The outcome of a (portal, IQN) whose session a heal leaves as it is."""
        session = find_session(sessions, entry['portal'], entry['iqn'])
        return {'portal': entry['portal'], 'iqn': entry['iqn'], 'sid': session['sid'], 'created_node': False,
                'logged_in': False, 'updated': []}

    def _template(self, entry, targets, sessions, settings):
        """The login options of a missing (portal, IQN) from the first node record of template_keys() that has them
        (settings: the records read so far, by key), its passwords masked from then on; None when none has."""
        for key in template_keys(entry, targets, sessions):
            if key not in settings:
                settings[key] = self.iscsiadm.node_settings(*key)
            params = node_session_params(settings[key]) if settings[key] else None
            if params:
                secrets = [(params['auth'] or {}).get(name) for name in ('password', 'mutual_password')]
                self.iscsiadm.secrets.update(secret for secret in secrets if secret)
                self.module.no_log_values.update(secret for secret in secrets if secret)
                return dict(self.params, scan='manual', iface=self._iface(entry['portal']), **params)
        return None

    def elapsed(self, total):
        return dict(self.stopwatch.phases, **dict(merged_phases(self.device_watches), total_s=total))


def identified(volumes, results):
    """Each volume's result with its volume_id and, when a record gave it, attachment_id (no 'changed')."""
    return [dict(dict((k, v) for k, v in result.items() if k != 'changed'), volume_id=volume['volume_id'],
                 **({'attachment_id': volume['attachment_id']} if volume['attachment_id'] else {}))
            for volume, result in zip(volumes, results)]
