# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The dm-multipath device of one volume: LUN scan, consistency checks, map build and teardown (shared by the modules).

Errors are raised (CommandError), never reported through fail_json.
"""

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._filesystem import GROW_SLACK, Filesystems
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import find_session
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import path_states, usable_paths
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import (
    CommandError,
    Stopwatch,
    pause,
    wait_for,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import udev_disagrees
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    MAX_SCSI_LUN,
    check_target_name,
    normalize_lun,
    normalize_portal,
)

FLUSH_INTERVAL = 2
GROW_POLL = 1.0
ADD_PATH_ATTEMPTS = 2
COUNT_OPTIONS = ('min_paths', 'device_timeout', 'map_timeout', 'remove_timeout', 'flush_retries')


def device_argument_spec():
    """Options of every module that builds or removes a volume's map
    (documented by the _iscsi_target.targets and .map doc fragments)."""
    return dict(
        targets=dict(type='list', elements='dict', options=dict(
            portal=dict(type='str', required=True),
            iqn=dict(type='str', required=True),
            lun=dict(type='raw', required=True),
        )),
        wwid=dict(type='str'),
        size_bytes=dict(type='int'),
        min_paths=dict(type='int', default=1),
        device_timeout=dict(type='int', default=20),
        map_timeout=dict(type='int', default=30),
        remove_timeout=dict(type='int', default=30),
        flush_retries=dict(type='int', default=3),
        force=dict(type='bool', default=False),
    )


def count_problem(params):
    """Why one of the count or timeout options (or size_bytes) is invalid, or None."""
    for name in COUNT_OPTIONS:
        if params[name] < 1:
            return '%s must be 1 or more, got %d' % (name, params[name])
    return size_problem(params.get('size_bytes'))


def size_problem(size_bytes, field='size_bytes'):
    """Why a volume size given in bytes is invalid, or None (not given)."""
    if size_bytes is not None and size_bytes < 1:
        return '%s must be 1 or more, got %d' % (field, size_bytes)
    return None


def min_paths_problem(min_paths, targets):
    """Why min_paths cannot be met by the targets given, or None."""
    if min_paths > len(targets):
        return 'min_paths is %d but only %d targets are given' % (min_paths, len(targets))
    return None


def consistency_problem(paths):
    """Why the devices cannot be one volume (differing or unreadable WWID or size), or None."""
    for key, label in (('wwid', 'WWID'), ('size_bytes', 'size')):
        unreadable = [path['dev'] for path in paths if path.get(key) is None]
        if unreadable:
            return 'cannot read the %s of %s' % (label, ', '.join('/dev/' + dev for dev in unreadable))
        if len(set(path[key] for path in paths)) > 1:
            detail = ', '.join('%s (%s %s LUN %d): %s' % (path['dev'], path['portal'], path['iqn'], path['lun'],
                                                          path[key]) for path in paths)
            return ('the paths disagree on the %s: %s. Refusing to build a map: a wrong LUN would expose another '
                    "volume's data" % (label, detail))
    return None


def describe(path):
    """'/dev/sda (192.0.2.1:3260 IQN LUN 1)', or '/dev/sda' for a device not found at one of the targets."""
    if path.get('portal'):
        return '/dev/%s (%s %s LUN %d)' % (path['dev'], path['portal'], path['iqn'], path['lun'])
    return '/dev/' + path['dev']


def common_wwid(paths):
    """The WWID every path shows; None when there is no path, one is unreadable or they disagree."""
    wwids = set(path.get('wwid') for path in paths)
    return wwids.pop() if len(wwids) == 1 and None not in wwids else None


def identity_mismatch(path, wwid, size_bytes):
    """Why the device of a path (wwid and size_bytes read) is not the volume of that WWID and size (either None:
    not compared), or None."""
    if wwid and path.get('wwid') != wwid:
        return 'it shows WWID %s, not %s' % (path.get('wwid') or '(unreadable)', wwid)
    if size_bytes is not None and path.get('size_bytes') != size_bytes:
        return 'it is %s bytes, not %d' % (path.get('size_bytes'), size_bytes)
    return None


def short_of(path, wwid, size_bytes):
    """True when the device shows the WWID the caller gave for the volume (the wwid option or its attach record) and
    is smaller than the size Cinder reports: the volume, extended in Cinder, not grown on this path yet. Without a
    WWID given a smaller device is not taken for the volume (a LUN the target gave to another volume)."""
    return bool(wwid and size_bytes is not None and path.get('wwid') == wwid and path.get('size_bytes') is not None
                and path['size_bytes'] < size_bytes)


def not_grown(paths, size_bytes):
    """The error of an extended volume whose paths still show the old size after their rescans."""
    return ('Cinder reports %d bytes for the volume (extended), but %s. The map was not resized (does the target '
            'present the new size on %s?)' % (size_bytes, '; '.join(
                '%s did not grow (still %s bytes after its rescans%s)' % (describe(path), path.get('size_bytes'), (
                    ', state %s' % path['state']) if path.get('state') not in (None, 'running') else '')
                for path in paths), 'that path' if len(paths) == 1 else 'those paths'))


def stale_reason(path, before, udev, reference, size_bytes, wwid=None):
    """Why a device that existed at the LUN before this attach is not the volume (after its rescan), or None.

    before: its WWID before the rescan; udev: the WWID udev recorded for it (multipathd maps it by that one);
    reference: the WWID the volume must show (the wwid option, else the one the devices this call scanned in show,
    else None); size_bytes: the size Cinder reports (None: not compared); wwid: the WWID the caller gave (a device
    of that WWID smaller than size_bytes is the volume, extended in Cinder: see short_of).
    """
    if path.get('wwid') is None:
        return 'its WWID cannot be read after a rescan'
    if before is not None and before != path['wwid']:
        return 'its WWID changed from %s to %s on rescan' % (before, path['wwid'])
    if udev_disagrees(udev, path['wwid']):
        return 'udev still records WWID %s for it, not %s' % (udev, path['wwid'])
    if reference and path['wwid'] != reference:
        return 'it shows WWID %s, not the volume\'s %s' % (path['wwid'], reference)
    if size_bytes is not None and path.get('size_bytes') != size_bytes and not short_of(path, wwid, size_bytes):
        return 'it is %s bytes, Cinder reports %d for the volume' % (path.get('size_bytes'), size_bytes)
    return None


def size_mismatch(paths, size_bytes):
    """Why the paths are not of the size Cinder reports for the volume (each device and both sizes), or None."""
    wrong = [path for path in paths if size_bytes is not None and path.get('size_bytes') != size_bytes]
    if not wrong:
        return None
    return ('%s, but Cinder reports %d bytes for the volume. Refusing to build or use a map: the LUN holds another '
            'volume (or the volume was extended and the devices not rescanned)' % (
                '; '.join('%s is %s bytes' % (describe(path), path.get('size_bytes')) for path in wrong), size_bytes))


def map_problem(facts, paths, wwid, grow_to=None):
    """Why an existing multipath map cannot be the volume's, or None. facts: {dm, name, uuid, size_bytes, slaves};
    every slave must be a device of one of the volume's own (portal, IQN, LUN), and the map of the paths' WWID
    and size, or (grow_to: the size Cinder reports for a volume of a WWID the caller gave) smaller than grow_to, the
    paths not larger: the map of the volume extended in Cinder, to be resized."""
    label = '%s (%s)' % (facts['dm'], facts['name'] or 'no name')
    devs = [path['dev'] for path in paths]
    foreign = [slave for slave in facts['slaves'] if slave not in devs]
    if foreign:
        return ('multipath map %s holds %s, which is not a device at one of this volume\'s (portal, IQN, LUN): '
                'refusing to use it (a map left from another volume would expose its data)' % (
                    label, ', '.join('/dev/' + dev for dev in foreign)))
    if facts['uuid'] != 'mpath-' + wwid:
        return 'multipath map %s is the map of %s, not of WWID %s: refusing to use it' % (label, facts['uuid'], wwid)
    size = paths[0].get('size_bytes') if paths else None
    if grow_to is not None and facts['size_bytes'] is not None and facts['size_bytes'] < grow_to and (
            size is not None and size <= grow_to):
        return None
    if facts['size_bytes'] != size:
        return ('multipath map %s is %s bytes but the paths are %s bytes: it is left from another volume at this LUN, '
                'or the volume was extended without resizing the map (multipathd resize map %s). Refusing to use it' % (
                    label, facts['size_bytes'], size, facts['name'] or wwid))
    return None


def learned_wwid(paths):
    """(WWID, None) when every device at the volume's LUNs shows the same readable WWID, else (None, why not)."""
    unreadable = [path for path in paths if path.get('wwid') is None]
    if unreadable:
        return None, 'cannot read the WWID of %s' % ', '.join(describe(path) for path in unreadable)
    if len(set(path['wwid'] for path in paths)) > 1:
        return None, 'the devices at the volume\'s LUNs show different WWIDs: %s' % '; '.join(
            '%s: %s' % (describe(path), path['wwid']) for path in paths)
    return paths[0]['wwid'], None


def foreign_entry(path, reason):
    """A foreign_devices entry: a device left alone, where it is (portal, iqn, lun: None when not at a target)."""
    entry = dict((key, path.get(key)) for key in ('dev', 'portal', 'iqn', 'lun', 'wwid', 'size_bytes'))
    entry['reason'] = reason
    return entry


def map_of(scsi, devs):
    """The multipath dm holding the devices: {dev: dm or None}."""
    held = {}
    for dev in devs:
        held[dev] = None
        for holder in scsi.holders(dev):
            if (scsi.dm_uuid(holder) or '').startswith('mpath-'):
                held[dev] = holder
    return held


NO_RECORD = ('. Without the WWID of the volume (wwid, from the attach record) it cannot tell which device is the volume: '
             'refusing to remove anything')


class DeviceManager:
    """Assemble or tear down the map of one volume."""

    def __init__(self, module, iscsiadm, multipath, scsi, poll=0.5, filesystems=None):
        self.module = module
        self.iscsiadm = iscsiadm
        self.multipath = multipath
        self.scsi = scsi
        self.poll = poll
        self.filesystems = filesystems
        self.changed = False
        self.resized_from = None
        self.new_map = None
        self.scanned = []
        self.replaced = []
        self.stopwatch = Stopwatch()

    def paths(self, targets):
        """Split targets into paths with a session (dev filled when present) and missing ones."""
        sessions = self.iscsiadm.sessions()
        paths, missing = [], []
        for target in targets:
            session = find_session(sessions, target['portal'], target['iqn'])
            if session is None:
                missing.append(dict(target, reason='no iSCSI session'))
                continue
            dev = self.scsi.session_devices(session['sid']).get(target['lun'])
            paths.append(dict(target, sid=session['sid'], dev=dev))
        return paths, missing

    def _read_identity(self, path):
        path['wwid'] = self.scsi.wwid(path['dev'])
        path['size_bytes'] = self.scsi.size_bytes(path['dev'])

    def _scan(self, paths):
        for path in paths:
            hctl = self.scsi.session_hctl(path['sid'])
            if hctl:
                self.scsi.scan_lun(hctl[0], hctl[1], hctl[2], path['lun'])

    def _wait_devices(self, paths, timeout):
        def all_found():
            for path in paths:
                if not path['dev']:
                    path['dev'] = self.scsi.session_devices(path['sid']).get(path['lun'])
            return all(path['dev'] for path in paths)
        return wait_for(all_found, timeout, self.poll)

    def _scan_and_wait(self, paths, timeout):
        """Scan the LUN of each path and wait for its device (rescanned half-way); the identity of those found read."""
        self._scan(paths)
        if not self._wait_devices(paths, timeout / 2.0):
            self._scan([path for path in paths if not path['dev']])
            self._wait_devices(paths, timeout / 2.0)
        for path in paths:
            if path['dev']:
                self._read_identity(path)
                if path['wwid'] is None and self.scsi.rescan_device(path['dev']):
                    self._read_identity(path)  # VPD page 0x83 not read yet (seen under heavy load): read it again

    def present(self, targets, params):
        paths, missing = self.paths(targets)
        self.scanned = [path for path in paths if not path['dev']]
        try:
            existing, before = self._reidentify([path for path in paths if path['dev']])
            if self.scanned:
                self.changed = True
                if self.module.check_mode:
                    return self._predicted(paths, missing, self._stale(existing, [], params, before))
                self._scan_and_wait(self.scanned, params['device_timeout'])
            stale = self._stale(existing, [path for path in self.scanned if path['dev']], params, before)
            if stale:
                self.changed = True
                if self.module.check_mode:
                    return self._predicted(paths, missing, stale)
                self._replace(stale, params)
            for path in [path for path in paths if not path['dev']]:
                paths.remove(path)
                missing.append({'portal': path['portal'], 'iqn': path['iqn'], 'lun': path['lun'],
                                'reason': 'no SCSI device for the LUN after %s s' % params['device_timeout']})
            self.stopwatch.mark('devices')
            result = self._assemble(paths, missing, params)
            filesystem = self._grow_filesystem(result) if params.get('grow_filesystem') and result.get('dm') else None
            if filesystem:
                result['filesystem'] = filesystem
        except CommandError:
            self.rollback()
            raise
        self.stopwatch.mark('map')
        result['replaced_devices'] = self.replaced
        return result

    def _reidentify(self, paths):
        """The devices that existed at the LUNs before this call, their identity read again after a rescan of each
        (not in check mode): a LUN the target now gives another volume shows that volume's WWID and size only then.
        Returns (the devices still there, {dev: (WWID before the rescan, WWID udev recorded)}); one gone meanwhile
        is scanned in like a missing one, one the kernel would not rescan is judged on its cached identity."""
        before, existing = {}, []
        for path in paths:
            dev = path['dev']
            before[dev] = (self.scsi.wwid(dev), self.scsi.udev_wwid(dev))
            if not self.module.check_mode and not self.scsi.rescan_device(dev):
                if not self.scsi.device_exists(dev):
                    path['dev'] = None
                    self.scanned.append(path)
                    continue
                # a kernel refuses to rescan a device that is not running (a path down): the cached identity it is
                self.module.warn('could not rescan %s (state %s): it is judged on the identity the kernel has cached' % (
                    describe(path), self.scsi.state(dev)))
            self._read_identity(path)
            existing.append(path)
        return existing, before

    def _stale(self, existing, fresh, params, before):
        """[(path, reason)] of the devices that existed before this call and are not (or no longer) the volume.
        Raises, naming each device and what holds it, when one of them is in use: nothing is removed then."""
        reference = params['wwid'] or common_wwid(fresh)
        stale = []
        for path in existing:
            reason = stale_reason(path, before[path['dev']][0], before[path['dev']][1], reference, params['size_bytes'],
                                  params['wwid'])
            if reason:
                stale.append((path, reason))
        if not stale:
            return stale
        openers = self.scsi.openers()
        held = [(path, reason, self.scsi.in_use(path['dev'], openers=openers)) for path, reason in stale]
        held = [entry for entry in held if entry[2]]
        if held:
            raise CommandError('%s. Refusing to replace %s while in use: detach the volume it belongs to first; nothing '
                               'was removed' % ('; '.join(
                                   '%s existed before this attach and is not this volume (%s) but is %s' % (
                                       describe(path), reason, use) for path, reason, use in held),
                                   'it' if len(held) == 1 else 'them'))
        return stale

    def _replace(self, stale, params):
        """Flush and delete the stale devices (nothing uses them), then scan their LUNs for the current ones."""
        paths = [path for path, dummy in stale]
        for path, reason in stale:
            self.replaced.append(foreign_entry(path, reason))
            self.module.warn('%s was left from another volume (%s): deleted, its LUN scanned again' % (
                describe(path), reason))
            self._flush_buffers(path['dev'])
            self.scsi.delete_device(path['dev'])
        gone = [path['dev'] for path in paths]
        if not wait_for(lambda: not any(self.scsi.device_exists(dev) for dev in gone), params['remove_timeout'],
                        self.poll):
            raise CommandError('stale SCSI devices still present %s s after deletion: %s' % (
                params['remove_timeout'], ', '.join(dev for dev in gone if self.scsi.device_exists(dev))))
        for path in paths:
            path.update(dev=None, wwid=None, size_bytes=None)
            self.scanned.append(path)
        self._scan_and_wait(paths, params['device_timeout'])

    def rollback(self):
        """Remove a map present() created and the devices it scanned in, so a failed attach leaves nothing."""
        scanned = [path['dev'] for path in self.scanned if path['dev']]
        if self.new_map and self.scsi.dm_name(self.new_map):
            try:
                self.multipath.flush(self.scsi.dm_name(self.new_map))
            except CommandError as exc:
                self.module.warn('could not remove the map %s after the failure: %s' % (self.new_map, exc.msg))
        for dev in scanned:
            if self.scsi.device_exists(dev) and not self.scsi.holders(dev):
                self.scsi.delete_device(dev)

    def leftovers(self):
        """What a rollback() could not remove: the map it made and the devices it scanned in that still exist."""
        name = self.new_map and self.scsi.dm_name(self.new_map)
        left = ['map %s (%s)' % (name, self.new_map)] if name else []
        return left + [path['dev'] for path in self.scanned if path['dev'] and self.scsi.device_exists(path['dev'])]

    def _predicted(self, paths, missing, stale):
        return {'changed': True, 'paths': paths, 'missing_paths': missing,
                'replaced_devices': [foreign_entry(path, reason) for path, reason in stale]}

    def _assemble(self, paths, missing, params):
        if len(paths) < params['min_paths']:
            raise CommandError('only %d of %d paths came up (min_paths=%d): %s' % (
                len(paths), len(paths) + len(missing), params['min_paths'],
                '; '.join('%s %s: %s' % (m['portal'], m['iqn'], m['reason']) for m in missing) or 'no targets'))
        short = [path for path in paths if short_of(path, params['wwid'], params['size_bytes'])]
        if short and not self.module.check_mode:
            short = self._grow_paths(short, params)
            if short:
                raise CommandError(not_grown(short, params['size_bytes']))
        checked = [path for path in paths if path not in short]  # check mode: the short ones are predicted to grow
        problem = consistency_problem(checked)
        if not problem and params['wwid'] and paths[0]['wwid'] != params['wwid']:
            problem = 'the paths show WWID %s, not the expected %s' % (paths[0]['wwid'], params['wwid'])
        problem = problem or size_mismatch(checked, params['size_bytes'])
        if problem:
            raise CommandError(problem)
        if missing:
            self.module.warn('%d of %d paths missing: %s' % (len(missing), len(paths) + len(missing), '; '.join(
                '%s %s LUN %d: %s' % (m['portal'], m['iqn'], m['lun'], m['reason']) for m in missing)))
        wwid = paths[0]['wwid']
        grow_to = params['size_bytes'] if params['wwid'] and wwid == params['wwid'] else None
        dm = self._build_map(paths, wwid, params['map_timeout'], grow_to)
        result = {'changed': self.changed, 'wwid': wwid, 'size_bytes': params['size_bytes'] if short else
                  paths[0]['size_bytes'], 'paths': paths, 'missing_paths': missing,
                  'resized': self.resized_from is not None}
        if self.resized_from is not None:
            result['previous_size_bytes'] = self.resized_from
        if short and not result['resized']:  # check mode without a map: the paths alone would grow
            self.changed = result['changed'] = result['resized'] = True
            result['previous_size_bytes'] = short[0]['size_bytes']
        if dm is None:
            return result
        maps = self._usable_listing(dm, params['map_timeout'])
        if maps is None:
            raise CommandError("multipath map %s (%s) has no usable path after %s s (no active path in multipathd's "
                               'listing)' % (dm, wwid, params['map_timeout']))
        self._add_states(paths, maps, dm)
        name = self.scsi.dm_name(dm) or wwid
        result.update(dm=dm, name=name, device='/dev/mapper/' + name, by_id='/dev/disk/by-id/dm-uuid-mpath-' + wwid)
        return result

    def _grow_paths(self, short, params):
        """Rescan again, every GROW_POLL s until device_timeout, the paths of an extended volume still smaller than
        Cinder's size after the first rescan (a target may present the new size a moment later, a path in recovery
        refuses a rescan); return those that stay smaller, with the state of their device."""
        pending = list(short)

        def grown():
            for path in list(pending):
                if self.scsi.rescan_device(path['dev']):
                    path['size_bytes'] = self.scsi.size_bytes(path['dev'])
                if not short_of(path, params['wwid'], params['size_bytes']):
                    pending.remove(path)
            return not pending
        if not wait_for(grown, params['device_timeout'], GROW_POLL):
            for path in pending:
                path['state'] = self.scsi.state(path['dev'])
        return pending

    def _grow_filesystem(self, result):
        """Grow the ext2/3/4 or XFS filesystem mounted from the map (not from a partition of it, nor an LVM volume on
        it) when it is smaller than the map; its entry for the result, or None when the map is not mounted."""
        mount = self.filesystems.mount_of(self.scsi.devt(result['dm']))
        if mount is None:
            holders = self.scsi.holders(result['dm'])
            if holders:
                self.module.warn('grow_filesystem: nothing is mounted from %s itself; it is held by %s (a partition or '
                                 'LVM?), whose filesystem is not grown' % (result['device'], ', '.join(holders)))
            return None
        family = Filesystems.family(mount['fstype'])
        if family is None:
            raise CommandError('grow_filesystem: %s is mounted on %s as %s; only ext2, ext3, ext4 and xfs are grown' % (
                result['device'], mount['mountpoint'], mount['fstype']))
        entry = {'mountpoint': mount['mountpoint'], 'fstype': mount['fstype'], 'device': result['device'],
                 'grown': False}
        entry['previous_size_bytes'] = entry['size_bytes'] = self.filesystems.size_bytes(
            family, result['device'], mount['mountpoint'])
        if entry['size_bytes'] >= result['size_bytes'] - GROW_SLACK:
            return entry
        self.changed = result['changed'] = entry['grown'] = True
        if self.module.check_mode:
            return entry
        self.filesystems.grow(family, result['device'], mount['mountpoint'])
        entry['size_bytes'] = self.filesystems.size_bytes(family, result['device'], mount['mountpoint'])
        if entry['size_bytes'] <= entry['previous_size_bytes']:
            raise CommandError('grow_filesystem: the %s filesystem on %s (%s) is still %d bytes after %s, on a map of '
                               '%d bytes' % (mount['fstype'], mount['mountpoint'], result['device'], entry['size_bytes'],
                                             'resize2fs' if family == 'ext' else 'xfs_growfs', result['size_bytes']))
        return entry

    def _map_facts(self, dm):
        return {'dm': dm, 'name': self.scsi.dm_name(dm), 'uuid': self.scsi.dm_uuid(dm),
                'size_bytes': self.scsi.size_bytes(dm), 'slaves': self.scsi.slaves(dm)}

    def _build_map(self, paths, wwid, timeout, grow_to=None):
        """Make multipathd put every path in one map; return its dm (None in check mode when there is none).

        A map that exists already (holding a path, or of the WWID) is used only when every one of its paths is a
        device at one of the volume's own (portal, IQN, LUN) and it is of the paths' WWID and size, or smaller than
        grow_to (the size Cinder reports for the volume of the WWID the caller gave): then it is resized first."""
        devs = [path['dev'] for path in paths]
        held = map_of(self.scsi, devs)
        dms = set(dm for dm in held.values() if dm)
        if len(dms) > 1:
            raise CommandError('the paths belong to different multipath maps: %s' % ', '.join(
                '%s in %s' % (dev, dm) for dev, dm in sorted(held.items())))
        dms.update(self.scsi.maps_of_wwid(wwid))
        if len(dms) > 1:
            raise CommandError('the paths and WWID %s belong to different multipath maps: %s' % (
                wwid, ', '.join(sorted(dms))))
        for dm in dms:
            facts = self._map_facts(dm)
            problem = map_problem(facts, paths, wwid, grow_to)
            if problem:
                raise CommandError(problem)
            if grow_to is not None and facts['size_bytes'] < grow_to:
                # before any new path is added: multipathd refuses a path of another size than its map
                self._resize_map(facts, grow_to, timeout)
        if all(held.values()):
            return dms.pop()
        self.changed = True
        if self.module.check_mode:
            return dms.pop() if dms else None
        # multipathd identifies a path by the WWID udev stored: wait for our devices' udev entries only, up to the
        # map's timeout (udevadm settle waits for the whole event queue: 3-7 s on the TCG lab, and with 16 volumes at
        # once it also waits for the events of the other volumes' maps), settle if they never show
        if not wait_for(lambda: all(self.scsi.udev_known(dev) for dev in devs), timeout, self.poll):
            self.scsi.settle_udev(timeout)
        # find_multipaths strict needs the WWID in the wwids file: skip the multipath process when it is listed
        if not dms and not self.multipath.wwid_listed(wwid):
            self.multipath.add_wwid(wwid)

        def one_map():
            found = set(map_of(self.scsi, devs).values())
            return found.pop() if len(found) == 1 and None not in found else None
        refused = []
        for attempt in range(ADD_PATH_ATTEMPTS):
            refused = [dev for dev in devs if not map_of(self.scsi, [dev])[dev] and not self.multipath.add_path(dev)]
            dm = wait_for(one_map, timeout / float(ADD_PATH_ATTEMPTS), self.poll)
            if dm:
                self.new_map = dm if not dms else None
                if self.scsi.dm_uuid(dm) != 'mpath-' + wwid:
                    raise CommandError('multipathd put %s in %s, the map of %s, not of WWID %s (udev still holds an '
                                       'old identity of a path?)' % (', '.join(devs), dm, self.scsi.dm_uuid(dm), wwid))
                return dm
        raise CommandError('multipathd did not put %s in one map for WWID %s within %s s%s' % (
            ', '.join(devs), wwid, timeout,
            ' (multipathd add path refused %s)' % ', '.join(refused) if refused else ''))

    def _resize_map(self, facts, size_bytes, timeout):
        """``multipathd resize map`` (the map takes its paths' size, all grown to size_bytes), then wait until the
        kernel shows the map at that size (nothing is run in check mode)."""
        self.changed = True
        self.resized_from = facts['size_bytes']
        if self.module.check_mode:
            return
        name = facts['name'] or facts['uuid'][len('mpath-'):]
        self.multipath.resize_map(name)
        if not wait_for(lambda: self.scsi.size_bytes(facts['dm']) == size_bytes, timeout, self.poll):
            raise CommandError('multipath map %s (%s) is %s bytes after multipathd resize map, not the %d bytes of its '
                               'paths and of the volume in Cinder' % (facts['dm'], name,
                                                                      self.scsi.size_bytes(facts['dm']), size_bytes))

    def _usable_listing(self, dm, timeout):
        """multipathd's maps once dm has a path the kernel can do IO on, None if it has none after timeout
        (check mode: the one listing, no wait)."""
        if self.module.check_mode:
            return self.multipath.maps()

        def listing():
            maps = self.multipath.maps()
            return maps if usable_paths(maps, dm) else None
        return wait_for(listing, timeout, self.poll)

    @staticmethod
    def _add_states(paths, maps, dm):
        """dm_st/chk_st of each path from the listing that proved the map usable (no second listing)."""
        states = path_states(maps, dm)
        for path in paths:
            state = states.get(path['dev'], {})
            path.update(dm_st=state.get('dm_st'), chk_st=state.get('chk_st'))

    def absent(self, targets, params):
        plan = self._absent_plan(targets, params)
        devs, dm = plan['devs'], plan['dm']
        result = {'changed': bool(devs or dm), 'removed_devices': devs, 'paths': [{'dev': dev} for dev in devs],
                  'foreign_devices': plan['foreign']}
        if plan['wwid']:
            result['wwid'] = plan['wwid']
        if dm:
            result.update(dm=dm, name=self.scsi.dm_name(dm))
        if plan['foreign']:
            self.module.warn('left alone, not this volume: %s' % '; '.join(
                '%s: %s' % (describe(entry), entry['reason']) for entry in plan['foreign']))
        if self.module.check_mode or not result['changed']:
            return result
        flushed = True
        if dm:
            flushed = self._flush_map(result['name'], params)
        for dev in devs:
            if self.scsi.device_exists(dev):
                self._flush_buffers(dev)
                self.scsi.delete_device(dev)
        if not wait_for(lambda: not any(self.scsi.device_exists(dev) for dev in devs), params['remove_timeout'],
                        self.poll):
            raise CommandError('SCSI devices still present %s s after deletion: %s' % (
                params['remove_timeout'], ', '.join(dev for dev in devs if self.scsi.device_exists(dev))))
        self._wait_multipathd_drops(devs, params['remove_timeout'])
        if not flushed:
            self.multipath.del_map(result['name'])
        return result

    def _absent_plan(self, targets, params):
        """What a detach removes - {wwid, devs, dm, foreign} - decided before anything is touched; raises when it
        cannot tell the volume's devices from others or one of them is in use (unless force).

        The volume is the WWID given (and the size, when given); without a WWID it is learned from the devices at
        the volume's LUNs, which must agree, and from their map, which must hold nothing else. Devices that are not
        the volume (a LUN the target gave another volume) are foreign: left alone and reported."""
        wwid, size = params['wwid'], params['size_bytes']
        at_luns = []
        if targets:
            at_luns = [path for path in self.paths(targets)[0] if path['dev']]
        mine, foreign = [], []
        for path in at_luns:
            self._read_identity(path)
            reason = identity_mismatch(path, wwid, size)
            if reason:
                foreign.append(foreign_entry(path, reason))
            else:
                mine.append(path)
        learned = not wwid
        if learned and mine:
            wwid, problem = learned_wwid(mine)
            if problem:
                raise CommandError(problem + NO_RECORD)
        devs = dict((path['dev'], path) for path in mine)
        dms = dict((dm, []) for dm in map_of(self.scsi, list(devs)).values() if dm)
        if params['wwid']:
            for entry in self.multipath.maps():
                if entry['wwid'] == wwid:
                    dms.setdefault(entry['dm'], []).extend(path['dev'] for path in entry['paths'])
        own_dms = []
        for dm in sorted(dms):
            facts = self._map_facts(dm)
            held = [dev for dev in devs if dev in facts['slaves']]
            problem = None
            if facts['uuid'] != 'mpath-' + wwid:
                problem = 'is the map of %s, not of WWID %s' % (facts['uuid'], wwid)
            elif size is not None and facts['size_bytes'] != size:
                problem = 'is %s bytes, not %d' % (facts['size_bytes'], size)
            if problem and held:
                raise CommandError('multipath map %s (%s) holds %s but %s: refusing to remove anything' % (
                    dm, facts['name'], ', '.join(describe(devs[dev]) for dev in held), problem))
            if problem:  # another volume's map of the same WWID: not ours, nor its paths
                foreign += [foreign_entry({'dev': dev}, 'a path of multipath map %s (%s), which %s' % (
                    dm, facts['name'], problem)) for dev in facts['slaves'] if dev not in [f['dev'] for f in foreign]]
                continue
            own_dms.append(dm)
            for dev in sorted(set(facts['slaves'] + dms[dm])):
                known = [entry for entry in foreign if entry['dev'] == dev]
                if dev in devs or (known and not learned):
                    continue
                path = known[0] if known else {'dev': dev}
                if not known:
                    self._read_identity(path)
                if learned:
                    raise CommandError('multipath map %s (%s) also holds %s (%s), which is not this volume\'s%s' % (
                        dm, facts['name'], describe(path), known[0]['reason'] if known else
                        'not at one of its (portal, IQN, LUN), WWID %s' % path['wwid'], NO_RECORD))
                reason = identity_mismatch(path, wwid, size)
                if reason:
                    foreign.append(foreign_entry(path, reason))
                else:
                    devs[dev] = path
        if len(own_dms) > 1:
            raise CommandError('the devices belong to different multipath maps: %s' % ', '.join(own_dms))
        dm = own_dms[0] if own_dms else None
        self._check_not_in_use(dm, devs, params['force'])
        return {'wwid': wwid, 'devs': sorted(devs), 'dm': dm, 'foreign': foreign}

    def _check_not_in_use(self, dm, devs, force):
        """Refuse (unless force) a map or a path device that is mounted, used as swap, held or open."""
        if not dm and not devs:
            return
        openers = self.scsi.openers()
        if dm:
            reason = self.scsi.in_use(dm, openers=openers)
            if reason and not force:
                raise CommandError('multipath map %s (%s) is %s: refusing to remove it (unmount it or use force)' % (
                    self.scsi.dm_name(dm), dm, reason))
        for dev in sorted(devs):
            reason = self.scsi.in_use(dev, ignore=[dm] if dm else [], openers=openers)
            if reason and not force:
                raise CommandError('%s is %s: refusing to delete it (unmount it or use force)' % (
                    describe(devs[dev]), reason))
            if reason:
                self.module.warn('%s is %s; force: deleting it anyway' % (describe(devs[dev]), reason))

    def _flush_map(self, name, params):
        """Flush the map; True when it is gone. Raises unless force when it stays."""
        error = None
        for attempt in range(params['flush_retries']):
            try:
                self.multipath.flush(name)
                return True
            except CommandError as exc:
                error = exc
                if attempt + 1 < params['flush_retries']:
                    pause(FLUSH_INTERVAL)
        if not params['force']:
            raise error
        self.module.warn('multipath -f %s failed %d times; force: removing paths and the map anyway' % (
            name, params['flush_retries']))
        return False

    def _flush_buffers(self, dev):
        if self.scsi.state(dev) != 'running':
            return
        try:
            self.scsi.flush_buffers(dev)
        except CommandError as exc:
            self.module.warn('%s (rc %s); deleting /dev/%s anyway' % (exc.msg, exc.rc, dev))

    def _wait_multipathd_drops(self, devs, timeout):
        if not self.multipath.is_running():
            return

        def dropped():
            listed = set(path['dev'] for entry in self.multipath.maps() for path in entry['paths'])
            return not listed.intersection(devs)
        if not wait_for(dropped, timeout, self.poll):
            listed = set(path['dev'] for entry in self.multipath.maps() for path in entry['paths'])
            for dev in sorted(listed.intersection(devs)):
                self.multipath.del_path(dev)


def checked_targets(targets):
    """Canonical targets; raise TargetsError naming targets[i].field.

    A LUN is the number the kernel uses (the iscsi_targets filter has applied Cinder's addressing_mode): up to
    MAX_SCSI_LUN for flat space addressing.
    """
    result = []
    for index, target in enumerate(targets or []):
        field = 'targets[%d].' % index
        checked = {'portal': normalize_portal(target['portal'], field + 'portal'),
                   'iqn': check_target_name(target['iqn'], field + 'iqn'),
                   'lun': normalize_lun(target['lun'], field + 'lun', MAX_SCSI_LUN)}
        if checked not in result:
            result.append(checked)
    return result
