#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: multipath_device
short_description: Build or remove the dm-multipath device of one volume from its iSCSI paths
version_added: 0.1.0
description:
  - O(state=present) scans only the LUN of each target on its (already logged-in) session through sysfs,
    waits for the SCSI devices, checks that every path shows the same WWID and size (it refuses otherwise,
    a wrong LUN would expose another volume's data), makes multipathd build the map whatever
    C(find_multipaths) says (C(udevadm settle), C(multipath -a WWID), C(multipathd add path), retried once
    when multipathd refuses a path it cannot identify yet), and waits until the map can do IO
    (C(multipath -C dm-N)).
  - Paths whose session is missing or whose device does not appear in time are reported in
    RV(missing_paths) with a warning; the module fails only when fewer than O(min_paths) paths came up.
  - O(state=absent) flushes the map (retried; refused while it is mounted, used as swap or held by
    another device unless O(force=true)), flushes and deletes every SCSI device of the volume, waits for
    them to vanish and for multipathd to drop the paths. It does not log out (see
    M(cinder_local.iscsi_multipath.iscsi_session)).
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is scanned, flushed or deleted; C(changed) is predicted from sysfs and multipathd.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  targets:
    description:
      - The paths of the volume, one per (portal, IQN, LUN); the C(targets) value of the
        P(cinder_local.iscsi_multipath.iscsi_targets#filter) filter fits here.
      - Required with O(state=present). With O(state=absent), O(targets) or O(wwid) (or both) is needed.
    type: list
    elements: dict
    suboptions:
      portal:
        description: Target portal, C(address:port) or C([ipv6]:port).
        type: str
        required: true
      iqn:
        description: Target IQN.
        type: str
        required: true
      lun:
        description: LUN of the volume on that target.
        type: int
        required: true
  wwid:
    description:
      - WWID of the map (as RV(wwid) returned it). With O(state=present) the paths must show this WWID.
        With O(state=absent) it finds the map and its paths even when sessions are already gone.
    type: str
  state:
    description: Whether the map and its SCSI devices should exist.
    type: str
    choices: [present, absent]
    default: present
  min_paths:
    description: Fail when fewer paths than this came up (fewer than all only warns).
    type: int
    default: 1
  device_timeout:
    description: Seconds to wait for the SCSI devices after the LUN scan (rescanned half-way).
    type: int
    default: 20
  map_timeout:
    description: Seconds to wait for multipathd to build the map, and again for it to become usable.
    type: int
    default: 30
  remove_timeout:
    description: Seconds to wait for deleted SCSI devices to vanish and multipathd to drop them.
    type: int
    default: 30
  flush_retries:
    description: Attempts of C(multipath -f) before giving up (or deleting the map with O(force=true)).
    type: int
    default: 3
  force:
    description:
      - With O(state=absent), remove the map even when it is in use or cannot be flushed
        (C(multipathd del map)). Data not yet written is lost.
    type: bool
    default: false
requirements:
  - multipath-tools (multipath, multipathd running)
  - open-iscsi (iscsiadm)
  - util-linux blockdev, coreutils timeout, udevadm
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.iscsi_session
  - plugin: cinder_local.iscsi_multipath.iscsi_targets
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Build the map over both portals
  cinder_local.iscsi_multipath.multipath_device:
    targets:
      - {portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}
      - {portal: 198.51.100.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}
    min_paths: 1
  register: volume_device

- name: Remove it again
  cinder_local.iscsi_multipath.multipath_device:
    targets: "{{ volume_paths.targets }}"
    wwid: "{{ volume_device.wwid }}"
    state: absent
"""

RETURN = r"""
wwid:
  description: WWID of the volume (multipath C(uuid)).
  returned: when a device was found
  type: str
  sample: 360000000000000000e00000000010001
dm:
  description: Kernel name of the map.
  returned: when a map exists
  type: str
  sample: dm-0
name:
  description: Map name (the WWID with C(user_friendly_names no)).
  returned: when a map exists
  type: str
  sample: 360000000000000000e00000000010001
device:
  description: Path of the map, C(/dev/mapper/<name>).
  returned: when a map exists
  type: str
  sample: /dev/mapper/360000000000000000e00000000010001
by_id:
  description: Stable udev path of the map.
  returned: when a map exists
  type: str
  sample: /dev/disk/by-id/dm-uuid-mpath-360000000000000000e00000000010001
size_bytes:
  description: Size of the volume.
  returned: when a device was found
  type: int
  sample: 1073741824
paths:
  description: Every path that came up, with the SCSI device and the states multipathd reports.
  returned: always
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1, sid: 1,
            dev: sdb, dm_st: active, chk_st: ready}]
missing_paths:
  description: Targets without a session or a SCSI device, with the reason.
  returned: state=present
  type: list
  elements: dict
  sample: [{portal: 198.51.100.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1,
            reason: no iSCSI session}]
removed_devices:
  description: SCSI devices deleted (O(state=absent)).
  returned: state=absent
  type: list
  elements: str
  sample: [sdb, sdc]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm, find_session
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, pause, wait_for
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    TargetsError,
    is_iscsi_name,
    normalize_lun,
    normalize_portal,
)

FLUSH_INTERVAL = 2
ADD_PATH_ATTEMPTS = 2


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


def map_of(scsi, devs):
    """The multipath dm holding the devices: {dev: dm or None}."""
    held = {}
    for dev in devs:
        held[dev] = None
        for holder in scsi.holders(dev):
            if (scsi.dm_uuid(holder) or '').startswith('mpath-'):
                held[dev] = holder
    return held


class DeviceManager:
    """Assemble or tear down the map of one volume."""

    def __init__(self, module, iscsiadm, multipath, scsi):
        self.module = module
        self.iscsiadm = iscsiadm
        self.multipath = multipath
        self.scsi = scsi
        self.changed = False

    def _paths(self, targets):
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
        return wait_for(all_found, timeout)

    def present(self, targets, params):
        paths, missing = self._paths(targets)
        unscanned = [path for path in paths if not path['dev']]
        if unscanned:
            self.changed = True
            if self.module.check_mode:
                return self._predicted(paths, missing)
            self._scan(unscanned)
            half = params['device_timeout'] / 2.0
            if not self._wait_devices(unscanned, half):
                self._scan([path for path in unscanned if not path['dev']])
                self._wait_devices(unscanned, half)
        for path in [path for path in paths if not path['dev']]:
            paths.remove(path)
            missing.append({'portal': path['portal'], 'iqn': path['iqn'], 'lun': path['lun'],
                            'reason': 'no SCSI device for the LUN after %s s' % params['device_timeout']})
        try:
            return self._assemble(paths, missing, params)
        except CommandError:
            self._drop_unheld([path['dev'] for path in unscanned if path['dev']])
            raise

    def _drop_unheld(self, devs):
        """Delete devices this run scanned in and nothing holds, so a refused LUN is not left behind."""
        for dev in devs:
            if self.scsi.device_exists(dev) and not self.scsi.holders(dev):
                self.scsi.delete_device(dev)

    def _predicted(self, paths, missing):
        return {'changed': True, 'paths': paths, 'missing_paths': missing}

    def _assemble(self, paths, missing, params):
        if len(paths) < params['min_paths']:
            raise CommandError('only %d of %d paths came up (min_paths=%d): %s' % (
                len(paths), len(paths) + len(missing), params['min_paths'],
                '; '.join('%s %s: %s' % (m['portal'], m['iqn'], m['reason']) for m in missing) or 'no targets'))
        for path in paths:
            path['wwid'] = self.scsi.wwid(path['dev'])
            path['size_bytes'] = self.scsi.size_bytes(path['dev'])
        problem = consistency_problem(paths)
        if not problem and params['wwid'] and paths[0]['wwid'] != params['wwid']:
            problem = 'the paths show WWID %s, not the expected %s' % (paths[0]['wwid'], params['wwid'])
        if problem:
            raise CommandError(problem)
        if missing:
            self.module.warn('%d of %d paths missing: %s' % (len(missing), len(paths) + len(missing), '; '.join(
                '%s %s LUN %d: %s' % (m['portal'], m['iqn'], m['lun'], m['reason']) for m in missing)))
        wwid = paths[0]['wwid']
        dm = self._build_map(paths, wwid, params['map_timeout'])
        result = {'changed': self.changed, 'wwid': wwid, 'size_bytes': paths[0]['size_bytes'],
                  'paths': paths, 'missing_paths': missing}
        if dm is None:
            return result
        if not self.module.check_mode and not wait_for(lambda: self.multipath.map_usable(dm), params['map_timeout']):
            raise CommandError('multipath map %s (%s) has no usable path after %s s (multipath -C)' % (
                dm, wwid, params['map_timeout']))
        self._add_states(paths, dm)
        name = self.scsi.dm_name(dm) or wwid
        result.update(dm=dm, name=name, device='/dev/mapper/' + name, by_id='/dev/disk/by-id/dm-uuid-mpath-' + wwid)
        return result

    def _build_map(self, paths, wwid, timeout):
        """Make multipathd put every path in one map; return its dm (None in check mode when there is none)."""
        devs = [path['dev'] for path in paths]
        held = map_of(self.scsi, devs)
        dms = set(dm for dm in held.values() if dm)
        if len(dms) > 1:
            raise CommandError('the paths belong to different multipath maps: %s' % ', '.join(
                '%s in %s' % (dev, dm) for dev, dm in sorted(held.items())))
        if all(held.values()):
            return dms.pop()
        self.changed = True
        if self.module.check_mode:
            return dms.pop() if dms else None
        self.scsi.settle_udev(timeout)
        if not dms:
            self.multipath.add_wwid(wwid)

        def one_map():
            found = set(map_of(self.scsi, devs).values())
            return found.pop() if len(found) == 1 and None not in found else None
        refused = []
        for attempt in range(ADD_PATH_ATTEMPTS):
            refused = [dev for dev in devs if not map_of(self.scsi, [dev])[dev] and not self.multipath.add_path(dev)]
            dm = wait_for(one_map, timeout / float(ADD_PATH_ATTEMPTS))
            if dm:
                return dm
        raise CommandError('multipathd did not put %s in one map for WWID %s within %s s%s' % (
            ', '.join(devs), wwid, timeout,
            ' (multipathd add path refused %s)' % ', '.join(refused) if refused else ''))

    def _add_states(self, paths, dm):
        states = {}
        for entry in self.multipath.maps():
            if entry['dm'] == dm:
                states = dict((path['dev'], path) for path in entry['paths'])
        for path in paths:
            state = states.get(path['dev'], {})
            path.update(dm_st=state.get('dm_st'), chk_st=state.get('chk_st'))

    def absent(self, targets, params):
        devs, dm = self._volume_devices(targets, params['wwid'])
        result = {'changed': bool(devs or dm), 'removed_devices': devs, 'paths': [{'dev': dev} for dev in devs]}
        if dm:
            result.update(dm=dm, name=self.scsi.dm_name(dm))
        if self.module.check_mode or not result['changed']:
            return result
        flushed = True
        if dm:
            flushed = self._flush_map(dm, result['name'], params)
        for dev in devs:
            if self.scsi.device_exists(dev):
                self._flush_buffers(dev)
                self.scsi.delete_device(dev)
        if not wait_for(lambda: not any(self.scsi.device_exists(dev) for dev in devs), params['remove_timeout']):
            raise CommandError('SCSI devices still present %s s after deletion: %s' % (
                params['remove_timeout'], ', '.join(dev for dev in devs if self.scsi.device_exists(dev))))
        self._wait_multipathd_drops(devs, params['remove_timeout'])
        if not flushed:
            self.multipath.del_map(result['name'])
        return result

    def _volume_devices(self, targets, wwid):
        devs = []
        if targets:
            paths, dummy = self._paths(targets)
            devs = [path['dev'] for path in paths if path['dev']]
        dms = set(dm for dm in map_of(self.scsi, devs).values() if dm)
        if wwid:
            for entry in self.multipath.maps():
                if entry['wwid'] == wwid:
                    dms.add(entry['dm'])
                    devs += [path['dev'] for path in entry['paths'] if path['dev'] not in devs]
        if len(dms) > 1:
            raise CommandError('the devices belong to different multipath maps: %s' % ', '.join(sorted(dms)))
        for dm in dms:
            devs += [dev for dev in self.scsi.slaves(dm) if dev not in devs]
        return sorted(devs), (dms.pop() if dms else None)

    def _flush_map(self, dm, name, params):
        """Flush the map; True when it is gone. Raises unless force when it stays."""
        reason = self.scsi.in_use(dm)
        if reason and not params['force']:
            raise CommandError('multipath map %s (%s) is %s: refusing to remove it (unmount it or use force)' % (
                name, dm, reason))
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
        if not wait_for(dropped, timeout):
            listed = set(path['dev'] for entry in self.multipath.maps() for path in entry['paths'])
            for dev in sorted(listed.intersection(devs)):
                self.multipath.del_path(dev)


def checked_targets(targets):
    """Canonical targets; raise TargetsError naming targets[i].field."""
    result = []
    for index, target in enumerate(targets or []):
        field = 'targets[%d].' % index
        if not is_iscsi_name(target['iqn']):
            raise TargetsError('%siqn must be an iSCSI name (iqn./eui./naa.), got %r' % (field, target['iqn']))
        checked = {'portal': normalize_portal(target['portal'], field + 'portal'), 'iqn': target['iqn'],
                   'lun': normalize_lun(target['lun'], field + 'lun')}
        if checked not in result:
            result.append(checked)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type='list', elements='dict', options=dict(
                portal=dict(type='str', required=True),
                iqn=dict(type='str', required=True),
                lun=dict(type='int', required=True),
            )),
            wwid=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            min_paths=dict(type='int', default=1),
            device_timeout=dict(type='int', default=20),
            map_timeout=dict(type='int', default=30),
            remove_timeout=dict(type='int', default=30),
            flush_retries=dict(type='int', default=3),
            force=dict(type='bool', default=False),
        ),
        required_if=[('state', 'present', ('targets',)), ('state', 'absent', ('targets', 'wwid'), True)],
        supports_check_mode=True,
    )
    params = module.params
    try:
        targets = checked_targets(params['targets'])
    except TargetsError as exc:
        module.fail_json(msg=str(exc))
    if params['state'] == 'present' and not targets:
        module.fail_json(msg='targets is empty')
    for name in ('min_paths', 'device_timeout', 'map_timeout', 'remove_timeout', 'flush_retries'):
        if params[name] < 1:
            module.fail_json(msg='%s must be 1 or more, got %d' % (name, params[name]))
    if params['min_paths'] > max(len(targets), 1) and params['state'] == 'present':
        module.fail_json(msg='min_paths is %d but only %d targets are given' % (params['min_paths'], len(targets)))
    manager = DeviceManager(module, Iscsiadm(module), Multipath(module), Scsi(module))
    try:
        if params['state'] == 'present':
            result = manager.present(targets, params)
        else:
            result = manager.absent(targets, params)
    except CommandError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
