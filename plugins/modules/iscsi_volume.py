#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iscsi_volume
short_description: Attach or detach one iSCSI volume over all its portals in a single call
version_added: 0.2.0
description:
  - The single-call equivalent of os-brick's C(connect_volume)/C(disconnect_volume) for multipath iSCSI;
    the same steps as M(cinder_local.iscsi_multipath.iscsi_session) per portal followed by
    M(cinder_local.iscsi_multipath.multipath_device), in one process.
  - O(state=present) logs in to every portal at once, one thread per (portal, IQN), each under the host-wide
    lock of its (portal, IQN). Each login is bounded by about O(login_timeout) x (O(login_retries) + 1)
    seconds (one retry when iscsiadm failed only because another login was creating its session at that
    moment). A portal that fails is a warning and is listed in RV(missing_paths); the module fails only
    when fewer than O(min_paths) portals logged in.
  - Then it scans only O(targets[].lun) on each session, waits for the SCSI devices and for udev to record
    them (polled every 0.25 s), checks that they show the same WWID and size, makes multipathd build the
    map and waits until the map can do IO (see M(cinder_local.iscsi_multipath.multipath_device)).
  - On any failure it rolls back what this call created, and only that - the map it built, the SCSI
    devices it scanned in, the sessions it opened (unless a device of another LUN appeared on them) and the
    node records it made - then fails. Node settings it changed on existing records stay changed, and the
    WWID it added to multipath's wwids file stays (as with os-brick).
  - O(state=absent) flushes and removes the map (refused while it is mounted or held unless O(force=true)),
    flushes and deletes the volume's SCSI devices, then, for every (portal, IQN) at once, logs out and
    deletes the node record unless another LUN still has a device on that session.
  - RV(elapsed) reports the seconds spent in each phase inside the module (Python start-up and Ansible's
    own per-task cost are not included).
  - The CHAP passwords are passed to iscsiadm as arguments (iscsiadm has no other way), so they are
    visible in the process list for the duration of that call; they never appear in the module output.
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._iscsi_target.targets
  - cinder_local.iscsi_multipath._iscsi_target.map
  - cinder_local.iscsi_multipath._iscsi_target.session_auth
  - cinder_local.iscsi_multipath._iscsi_target.session_timeouts
  - cinder_local.iscsi_multipath._iscsi_target.locks
attributes:
  check_mode:
    support: full
    details:
      - Nothing is changed. When a session would have to be opened, the device part cannot be predicted
        and C(changed=true) is returned without RV(device).
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  targets:
    required: true
  state:
    description: Whether the volume should be attached (map present) or detached.
    type: str
    choices: [present, absent]
    default: present
  auth:
    description:
      - Session CHAP credentials, the same for every portal. The C(auth) value of the
        P(cinder_local.iscsi_multipath.iscsi_targets#filter) filter fits here unchanged.
      - When omitted, C(node.session.auth.authmethod) is set to C(None).
  min_paths:
    description: Fail (and roll back) when fewer paths than this came up; fewer than all only warns.
    type: int
    default: 1
  startup:
    description: C(node.startup) set after a successful login (os-brick uses C(automatic)).
    type: str
    choices: [automatic, manual, onboot]
    default: automatic
  iface:
    description: open-iscsi interface used for new node records.
    type: str
    default: default
  force:
    description:
      - With O(state=absent), remove the map even when it is in use or cannot be flushed. Data not yet
        written is lost. Sessions other LUNs use are kept all the same.
    type: bool
    default: false
requirements:
  - open-iscsi (iscsiadm, a running iscsid)
  - multipath-tools (multipath, multipathd running)
  - util-linux blockdev, coreutils timeout, udevadm
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.iscsi_session
  - module: cinder_local.iscsi_multipath.multipath_device
  - plugin: cinder_local.iscsi_multipath.iscsi_targets
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Attach the volume over both portals
  cinder_local.iscsi_multipath.iscsi_volume:
    targets:
      - {portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}
      - {portal: 198.51.100.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}
    auth:
      username: x6HdhRK9NJYB5DNCnvNT
      password: "{{ chap_password }}"
  register: volume

- name: Attach from Cinder's connection_info, requiring both paths
  cinder_local.iscsi_multipath.iscsi_volume:
    targets: "{{ (connection_info | cinder_local.iscsi_multipath.iscsi_targets).targets }}"
    auth: "{{ (connection_info | cinder_local.iscsi_multipath.iscsi_targets).auth }}"
    min_paths: 2

- name: Detach it again
  cinder_local.iscsi_multipath.iscsi_volume:
    targets: "{{ volume.targets }}"
    wwid: "{{ volume.wwid }}"
    state: absent
"""

RETURN = r"""
targets:
  description: The canonical targets (as given, portals normalised).
  returned: always
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}]
device:
  description: Path of the map, C(/dev/mapper/<name>).
  returned: state=present and a map exists
  type: str
  sample: /dev/mapper/360000000000000000e00000000010001
wwid:
  description: WWID of the volume (multipath C(uuid)).
  returned: state=present and a device was found
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
by_id:
  description: Stable udev path of the map.
  returned: state=present and a map exists
  type: str
  sample: /dev/disk/by-id/dm-uuid-mpath-360000000000000000e00000000010001
size_bytes:
  description: Size of the volume.
  returned: state=present and a device was found
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
  description: Targets whose login failed or whose SCSI device did not appear, with the reason.
  returned: state=present
  type: list
  elements: dict
  sample: [{portal: 198.51.100.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1,
            reason: "login failed: login to 198.51.100.1:3260 ...: connection to the portal timed out"}]
removed_devices:
  description: SCSI devices deleted.
  returned: state=absent
  type: list
  elements: str
  sample: [sdb, sdc]
portals:
  description:
    - One entry per (portal, IQN), in the order of O(targets). With O(state=present) - C(sid),
      C(created_node), C(logged_in), C(updated) (names of the node settings changed), C(error) when the
      login failed, C(elapsed_s). With O(state=absent) - C(logged_out), C(deleted_node), C(in_use_luns).
  returned: always
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", sid: 3,
            created_node: true, logged_in: true, updated: [node.session.scan], elapsed_s: 0.41}]
elapsed:
  description:
    - Seconds spent inside the module per phase. With O(state=present) - C(login_s) (all portals, in
      parallel), C(devices_s) (LUN scan until the SCSI devices show up), C(map_s) (map built and usable),
      C(total_s). With O(state=absent) - C(devices_s) (map and devices removed), C(logout_s), C(total_s).
  returned: always
  type: dict
  sample: {login_s: 0.52, devices_s: 0.61, map_s: 1.2, total_s: 2.4}
"""

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._device import (
    DeviceManager, checked_targets, count_problem, device_argument_spec)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import LockTimeout, lock_argument_spec, target_lock
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, Stopwatch
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._session import (
    SessionManager, session_argument_spec, timing_problem)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import TargetsError

DEVICE_POLL = 0.25


def sessions_of(targets):
    """One entry per (portal, iqn) in target order, with the LUN of its first target."""
    seen = []
    for target in targets:
        if not any(entry['portal'] == target['portal'] and entry['iqn'] == target['iqn'] for entry in seen):
            seen.append(dict(target))
    return seen


def in_parallel(work, items):
    """work(item) for every item, one thread each; results in item order (unexpected errors re-raised)."""
    if len(items) < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(work, item) for item in items]
    return [future.result() for future in futures]


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


class VolumeManager:
    """Attach or detach one volume: sessions in parallel, then the map."""

    def __init__(self, module, iscsiadm, multipath, scsi):
        self.module = module
        self.iscsiadm = iscsiadm
        self.scsi = scsi
        self.params = module.params
        self.devices = DeviceManager(module, iscsiadm, multipath, scsi, poll=DEVICE_POLL)
        self.errors = {}
        self.outcomes = []

    def _session(self, entry):
        return SessionManager(self.module, self.iscsiadm, self.scsi, entry['portal'], entry['iqn'])

    def _locked(self, entry, action):
        """Run action() under the (portal, iqn) lock (no lock, and no lock directory, in check mode)."""
        if self.module.check_mode:
            return action()
        with target_lock(entry['portal'], entry['iqn'], self.params['lock_dir'], self.params['lock_timeout']):
            return action()

    def _guarded(self, entry, action):
        """action() under the lock; a failure is kept in self.errors and becomes an outcome with 'error'."""
        try:
            return self._locked(entry, action)
        except LockTimeout as exc:
            error = CommandError(str(exc))
        except CommandError as exc:
            error = exc
        self.errors[(entry['portal'], entry['iqn'])] = error
        return {'portal': entry['portal'], 'iqn': entry['iqn'], 'error': error.msg}

    def _login(self, entry, sessions):
        watch = Stopwatch()
        manager = self._session(entry)
        outcome = self._guarded(entry, lambda: manager.present(self.params, sessions))
        outcome = dict((key, value) for key, value in outcome.items() if key not in ('changed', 'scsi_host'))
        outcome['elapsed_s'] = watch.total()
        return outcome

    def _undo_logins(self, outcomes):
        """Log out of the sessions and delete the node records this call made (errors only warn)."""
        def undo(outcome):
            try:
                self._locked(outcome, lambda: self._session(outcome).undo(outcome['created_node'], outcome['logged_in']))
            except (CommandError, LockTimeout) as exc:
                self.module.warn('could not roll back the login to %s %s: %s' % (
                    outcome['portal'], outcome['iqn'], getattr(exc, 'msg', exc)))
        in_parallel(undo, [o for o in live_outcomes(outcomes) if o['created_node'] or o['logged_in']])

    def present(self, targets):
        watch = self.devices.stopwatch
        sessions = self.iscsiadm.sessions()
        outcomes = self.outcomes = in_parallel(lambda entry: self._login(entry, sessions), sessions_of(targets))
        watch.mark('login')
        result = {'changed': any(o.get('created_node') or o.get('updated') or o.get('logged_in') for o in outcomes),
                  'portals': outcomes, 'missing_paths': login_missing(outcomes, targets), 'paths': []}
        live = live_targets(outcomes, targets)
        if len(live) < self.params['min_paths']:
            self._undo_logins(outcomes)
            raise self._short_of_paths(result['missing_paths'], len(targets))
        for missing in result['missing_paths']:
            self.module.warn('no path through %s %s LUN %d: %s' % (
                missing['portal'], missing['iqn'], missing['lun'], missing['reason']))
        if self.module.check_mode and any(o['logged_in'] for o in live_outcomes(outcomes)):
            return result
        try:
            device = self.devices.present(live, self.params)
        except CommandError:
            self._undo_logins(outcomes)
            raise
        result['changed'] = result['changed'] or device.pop('changed')
        result['missing_paths'] += device.pop('missing_paths')
        result.update(device)
        return result

    def _short_of_paths(self, missing, total):
        first = self.errors[(missing[0]['portal'], missing[0]['iqn'])] if missing else CommandError('no targets')
        return CommandError('only %d of %d paths logged in (min_paths=%d): %s' % (
            total - len(missing), total, self.params['min_paths'],
            '; '.join('%s: %s' % (m['portal'], m['reason']) for m in missing)),
            first.cmd, first.rc, first.stdout, first.stderr)

    def absent(self, targets):
        watch = self.devices.stopwatch
        removed = self.devices.absent(targets, self.params)
        watch.mark('devices')
        check = self.module.check_mode

        def logout(entry):
            manager = self._session(entry)
            return self._guarded(entry, lambda: manager.absent(entry['lun'], False, lun_removed=check))
        outcomes = self.outcomes = in_parallel(logout, sessions_of(targets))
        watch.mark('logout')
        removed['changed'] = removed['changed'] or any(o.get('changed') for o in outcomes)
        removed['portals'] = [dict((k, v) for k, v in o.items() if k != 'changed') for o in outcomes]
        failed = [o for o in outcomes if 'error' in o]
        if failed:
            raise self.errors[(failed[0]['portal'], failed[0]['iqn'])]
        return removed


def main():
    watch = Stopwatch()
    argument_spec = dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        startup=dict(type='str', choices=['automatic', 'manual', 'onboot'], default='automatic'),
        iface=dict(type='str', default='default'),
        **dict(device_argument_spec(), **lock_argument_spec(), **session_argument_spec())
    )
    argument_spec['targets']['required'] = True
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    params['scan'] = 'manual'
    try:
        targets = checked_targets(params['targets'])
    except TargetsError as exc:
        module.fail_json(msg=str(exc))
    problem = timing_problem(params) or ('targets is empty' if not targets else None) or count_problem(params)
    if not problem and params['min_paths'] > len(targets):
        problem = 'min_paths is %d but only %d targets are given' % (params['min_paths'], len(targets))
    if problem:
        module.fail_json(msg=problem)
    auth = params['auth'] or {}
    iscsiadm = Iscsiadm(module, secrets=[auth.get('password'), auth.get('mutual_password')])
    for name in ('timeout', 'iscsiadm'):  # resolved here: a missing binary must fail in the main thread
        iscsiadm.bin(name)
    manager = VolumeManager(module, iscsiadm, Multipath(module), Scsi(module))
    try:
        if params['state'] == 'present':
            result = manager.present(targets)
        else:
            result = manager.absent(targets)
    except CommandError as exc:
        module.fail_json(targets=targets, portals=manager.outcomes, **exc.fail_kwargs())
    result['targets'] = targets
    result['elapsed'] = dict(manager.devices.stopwatch.phases, total_s=watch.total())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
