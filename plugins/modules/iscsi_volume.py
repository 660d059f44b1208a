#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iscsi_volume
short_description: Attach or detach iSCSI volumes over all their portals in a single call
version_added: 0.1.0
description:
  - The single-call equivalent of os-brick's C(connect_volume)/C(disconnect_volume) for multipath iSCSI;
    the same steps as M(cinder_local.iscsi_multipath.iscsi_session) per portal followed by
    M(cinder_local.iscsi_multipath.multipath_device), in one process.
  - The whole call - logins, LUN scans and maps, or device removal and logouts - runs under the host-wide
    lock of every (portal, IQN) it touches (O(lock_dir)), as os-brick holds its lock over a whole connect or
    disconnect; the other modules of the collection take the same locks.
  - O(state=present) logs in to every portal at once, one thread per (portal, IQN). Each login is bounded by about O(login_timeout) x (O(login_retries) + 1)
    seconds (one retry when iscsiadm failed only because another login was creating its session at that
    moment). A portal that fails is a warning and is listed in RV(missing_paths); the module fails only
    when fewer than O(min_paths) portals logged in.
  - Then it scans only O(targets[].lun) on each session, waits for the SCSI devices and for udev to record
    them (polled every 0.25 s), checks that they show the same WWID and size (and O(size_bytes)), makes
    multipathd build the map and waits until the map can do IO (see M(cinder_local.iscsi_multipath.multipath_device)).
    A device that was at a LUN already is rescanned first and replaced when it is not the volume, and a map that
    exists already is used only when all its paths are the volume's, as that module does.
  - On any failure it rolls back what this call created, and only that - the map it built, the SCSI
    devices it scanned in, the sessions it opened (unless a device of another LUN appeared on them) and the
    node records it made - then fails. Node settings it changed on existing records stay changed, and the
    WWID it added to multipath's wwids file stays (as with os-brick).
  - O(state=absent) flushes and removes the map (refused while it or one of its path devices is mounted, used as
    swap, held or open, unless O(force=true)), flushes and deletes the volume's SCSI devices, then, for every
    (portal, IQN) at once, logs out and deletes the node record unless another LUN still has a device on that
    session.
    Devices at the volume's LUNs that are not the volume (another WWID than O(wwid), another size than
    O(size_bytes)) are left alone (RV(foreign_devices)) and keep their session.
  - O(volumes) does the same for several volumes in one call, all at once - each (portal, IQN) session once,
    however many volumes share it, then the maps of every volume in parallel. A failure of any volume rolls
    back what this call created for all of them; each volume's outcome is in RV(volumes).
  - With O(state=absent), a volume given by O(volumes[].volume_id) alone is detached from its attach record
    in O(record_dir) (its targets and WWID); the record itself is left for the caller to remove once Cinder
    has deleted the attachment. A volume that cannot be detached does not stop the others; the module
    fails, and RV(volumes) says which were detached and why the others were not.
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
    description:
      - Exactly one of O(targets) and O(volumes) is required.
  volumes:
    description:
      - Several volumes, attached or detached together in one call, instead of O(targets).
      - O(min_paths) and every timeout apply to each volume.
    type: list
    elements: dict
    suboptions:
      volume_id:
        description:
          - The Cinder volume. With O(state=absent) and no O(volumes[].targets), its attach record in
            O(record_dir) gives the targets and the WWID.
        type: str
      attachment_id:
        description: The Cinder attachment of the volume on this host, returned with the volume's outcome.
        type: str
      targets:
        description:
          - The paths of the volume, as in O(targets). Required unless O(state=absent) and
            O(volumes[].volume_id) is given.
        type: list
        elements: dict
        suboptions:
          portal:
            description: Target portal, C(address:port) or C([ipv6]:port).
            type: str
            required: true
          iqn:
            description: Target name, as in O(targets[].iqn).
            type: str
            required: true
          lun:
            description: LUN of the volume on that target, as in O(targets[].lun).
            type: raw
            required: true
      auth:
        description:
          - Session CHAP credentials of this volume's targets, as in O(auth); O(auth) when omitted.
          - Volumes that share a (portal, IQN) must give the same credentials.
        type: dict
        suboptions:
          method:
            description: Authentication method.
            type: str
            choices: [CHAP]
            default: CHAP
          username:
            description: CHAP user name.
            type: str
            required: true
          password:
            description: CHAP secret.
            type: str
            required: true
          mutual_username:
            description: User name the target presents back (mutual CHAP).
            type: str
          mutual_password:
            description: Secret the target presents back (mutual CHAP).
            type: str
      wwid:
        description: The WWID this volume must show, as in O(wwid).
        type: str
      size_bytes:
        description: The size of this volume as Cinder reports it, in bytes, as in O(size_bytes).
        type: int
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
      - With O(state=absent), remove the map and delete its path devices even when they are in use, and the map
        even when it cannot be flushed. Data not yet written is lost. Sessions other LUNs use, and devices that are
        not the volume, are kept all the same.
    type: bool
    default: false
  record_dir:
    description:
      - Directory of the attach records, C(<volume_id>.json) (the roles' C(volume_attach_record_dir)). A
        directory or record that is a symbolic link, or a directory others can write, is refused.
    type: path
    default: /var/lib/cinder_local/attachments
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

- name: Attach several volumes at once from their connection_info
  cinder_local.iscsi_multipath.iscsi_volume:
    volumes: >-
      {{ connection_infos | map('cinder_local.iscsi_multipath.iscsi_targets') | map('dict2items')
         | map('selectattr', 'key', 'in', ['targets', 'auth']) | map('items2dict') | list }}
  register: attached

- name: Detach them again
  cinder_local.iscsi_multipath.iscsi_volume:
    volumes: >-
      {{ attached.volumes | map('dict2items') | map('selectattr', 'key', 'in', ['targets', 'wwid'])
         | map('items2dict') | list }}
    state: absent
"""

RETURN = r"""
targets:
  description: The canonical targets (as given, portals normalised).
  returned: always; with O(volumes) in each entry of RV(volumes) instead
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
  returned: state=present and a device was found; with O(state=absent) when given or learned
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
  returned: always; with O(volumes) in each entry of RV(volumes) instead
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
replaced_devices:
  description:
    - Devices that were at a LUN before the call and were not the volume, deleted and scanned again, with the
      C(reason) (see M(cinder_local.iscsi_multipath.multipath_device)).
  returned: state=present and the devices were scanned
  type: list
  elements: dict
  sample: [{dev: sdb, portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1,
            wwid: 360000000000000000e00000000010001, size_bytes: 1073741824,
            reason: "it is 1073741824 bytes, Cinder reports 2147483648 for the volume"}]
foreign_devices:
  description:
    - Devices left alone because they are not the volume, with the C(reason); their sessions are kept (their LUN
      is in the C(in_use_luns) of RV(portals)).
  returned: state=absent
  type: list
  elements: dict
  sample: [{dev: sdd, portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1,
            wwid: 360000000000000000e00000000010002, size_bytes: 2147483648,
            reason: "it shows WWID 360000000000000000e00000000010002, not 360000000000000000e00000000010001"}]
portals:
  description:
    - One entry per (portal, IQN), in the order of O(targets). With O(state=present) - C(sid),
      C(created_node), C(logged_in), C(updated) (names of the node settings changed), C(error) when the
      login failed, C(elapsed_s). With O(state=absent) - C(logged_out), C(deleted_node), C(in_use_luns) (the LUNs
      whose devices keep the session, other volumes' and this volume's LUN when another volume sits there now).
    - With O(volumes), each entry of RV(volumes) has the entries of its own sessions; on a failure, this
      top-level list has every session of the call.
  returned: always; with O(volumes) in each entry of RV(volumes) and on failure
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", sid: 3,
            created_node: true, logged_in: true, updated: [node.session.scan], elapsed_s: 0.41}]
volumes:
  description:
    - With O(volumes), one entry per volume in the same order, each with the keys above that apply to one
      volume (RV(targets), RV(device), RV(wwid), RV(dm), RV(name), RV(by_id), RV(size_bytes), RV(paths),
      RV(missing_paths), RV(removed_devices), RV(replaced_devices), RV(foreign_devices), RV(portals)); those keys
      are then not returned at the top.
    - Each entry also has C(volume_id) and, when given or read from the attach record, C(attachment_id).
    - With O(state=absent), also on failure - a volume that was not detached has C(error), the others
      are detached.
  returned: when O(volumes) is given
  type: list
  elements: dict
  sample: [{targets: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}],
            device: /dev/mapper/360000000000000000e00000000010001, wwid: 360000000000000000e00000000010001}]
elapsed:
  description:
    - Seconds spent inside the module per phase. With O(state=present) - C(login_s) (all portals, in
      parallel), C(devices_s) (LUN scan until the SCSI devices show up), C(map_s) (map built and usable),
      C(total_s). With O(state=absent) - C(devices_s) (map and devices removed), C(logout_s), C(total_s).
  returned: always
  type: dict
  sample: {login_s: 0.52, devices_s: 0.61, map_s: 1.2, total_s: 2.4}
"""

import copy
import threading

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._device import (
    DeviceManager, checked_targets, count_problem, device_argument_spec, min_paths_problem, size_problem)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import (
    LockError, lock_argument_spec, targets_locked)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._records import (
    DEFAULT_RECORD_DIR, RecordError, read_record)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, Stopwatch
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._session import (
    SessionManager, auth_problem, iface_problem, session_argument_spec, timing_problem)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import TargetsError

DEVICE_POLL = 0.25


def argument_spec():
    spec = dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        startup=dict(type='str', choices=['automatic', 'manual', 'onboot'], default='automatic'),
        iface=dict(type='str', default='default'),
        **dict(device_argument_spec(), **lock_argument_spec(), **session_argument_spec())
    )
    volume = dict((name, copy.deepcopy(spec[name])) for name in ('targets', 'auth', 'wwid', 'size_bytes'))
    volume['volume_id'] = dict(type='str')
    volume['attachment_id'] = dict(type='str')
    spec['volumes'] = dict(type='list', elements='dict', options=volume)
    spec['record_dir'] = dict(type='path', default=DEFAULT_RECORD_DIR)
    return spec


def checked_volumes(params, read_record):
    """[{volume_id, attachment_id, targets, auth, wwid, size_bytes}] of the call (O(volumes), or the one volume of
    O(targets)); read_record(volume_id) gives a detach its targets and WWID. Raise TargetsError or RecordError."""
    if params['volumes'] is None:
        return [{'volume_id': None, 'attachment_id': None, 'targets': checked_targets(params['targets']),
                 'auth': params['auth'], 'wwid': params['wwid'], 'size_bytes': params['size_bytes']}]
    volumes = []
    for index, volume in enumerate(params['volumes']):
        where = 'volumes[%d]' % index
        wwid, attachment_id, targets = volume['wwid'], volume['attachment_id'], volume['targets']
        if targets is None:
            if not volume['volume_id'] or params['state'] != 'absent':
                raise TargetsError('%s.targets is required (only a detach can take them from volume_id\'s record)'
                                   % where)
            record = read_record(volume['volume_id'])
            if record is None:
                raise RecordError('%s: volume %s has no attach record in %s; give its targets (from Cinder)'
                                  % (where, volume['volume_id'], params['record_dir']))
            targets, wwid = record['targets'], wwid or record.get('wwid')
            attachment_id = attachment_id or record.get('attachment_id')
        try:
            targets = checked_targets(targets)
        except TargetsError as exc:
            raise TargetsError('%s.%s' % (where, exc))
        volumes.append({'volume_id': volume['volume_id'], 'attachment_id': attachment_id, 'targets': targets,
                        'auth': volume['auth'] or params['auth'], 'wwid': wwid, 'size_bytes': volume['size_bytes']})
    return volumes


def volumes_problem(volumes, min_paths):
    """Why the volumes cannot be attached or detached together as given, or None (min_paths 0: not checked)."""
    auth = {}
    for index, volume in enumerate(volumes):
        where = 'volumes[%d] ' % index if len(volumes) > 1 else ''
        if not volume['targets']:
            return where + 'targets is empty'
        problem = auth_problem(volume['auth']) or size_problem(volume.get('size_bytes'), 'size_bytes')
        if problem:
            return where + problem
        problem = min_paths_problem(min_paths, volume['targets'])
        if problem:
            return where + problem
        for target in volume['targets']:
            key = (target['portal'], target['iqn'])
            if auth.setdefault(key, volume['auth']) != volume['auth']:
                return '%s%s %s is shared with another volume that gives other CHAP credentials' % (where, key[0], key[1])
    return None


def sessions_of(targets):
    """One entry per (portal, iqn) in target order, with the LUN of its first target."""
    seen = []
    for target in targets:
        if not any(entry['portal'] == target['portal'] and entry['iqn'] == target['iqn'] for entry in seen):
            seen.append(dict(target))
    return seen


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

    def __init__(self, module, iscsiadm, multipath, scsi):
        self.module = module
        self.iscsiadm = iscsiadm
        self.multipath = multipath
        self.scsi = scsi
        self.params = module.params
        self.stopwatch = Stopwatch()
        self.device_watches = []
        self.errors = {}
        self.outcomes = []
        self.results = []

    def _volume_params(self, volume):
        return dict(self.params, auth=volume['auth'], wwid=volume['wwid'], size_bytes=volume['size_bytes'])

    def _devices(self):
        devices = DeviceManager(self.module, self.iscsiadm, self.multipath, self.scsi, poll=DEVICE_POLL)
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

    def _login(self, entry, sessions):
        watch = Stopwatch()
        manager = self._session(entry)
        outcome = self._guarded(entry, lambda: manager.present(entry['params'], sessions))
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
        """Every (portal, iqn) of every volume once, at once; one result per volume."""
        sessions = self.iscsiadm.sessions()
        entries = []
        for volume in volumes:
            params = self._volume_params(volume)
            entries += [dict(entry, params=params) for entry in sessions_of(volume['targets'])
                        if (entry['portal'], entry['iqn']) not in [(e['portal'], e['iqn']) for e in entries]]
        outcomes = self.outcomes = in_parallel(lambda entry: self._login(entry, sessions), entries)
        self.stopwatch.mark('login')
        results = []
        for volume in volumes:
            portals = outcomes_of(outcomes, volume['targets'])
            results.append({
                'changed': any(o.get('created_node') or o.get('updated') or o.get('logged_in') for o in portals),
                'targets': volume['targets'], 'portals': portals, 'paths': [],
                'missing_paths': login_missing(portals, volume['targets'])})
        return results

    def present(self, volumes):
        results = self._log_in(volumes)
        for index, result in enumerate(results):
            if len(result['targets']) - len(result['missing_paths']) < self.params['min_paths']:
                self._undo_logins(self.outcomes)
                error = self._short_of_paths(result['missing_paths'], len(result['targets']))
                raise self._for_volume((index, error), len(volumes))
        for missing in [m for result in results for m in result['missing_paths']]:
            self.module.warn('no path through %s %s LUN %d: %s' % (
                missing['portal'], missing['iqn'], missing['lun'], missing['reason']))
        if self.module.check_mode and any(o['logged_in'] for o in live_outcomes(self.outcomes)):
            return results
        managers = [self._devices() for volume in volumes]

        def attach(index):
            """The volume's map, or the error after its own devices and map were rolled back."""
            try:
                return managers[index].present(live_targets(self.outcomes, volumes[index]['targets']),
                                               self._volume_params(volumes[index]))
            except Exception as exc:  # pylint: disable=broad-except  # any failure: roll back, then report it
                managers[index].rollback()
                return exc if isinstance(exc, CommandError) else unexpected(exc)
        devices = in_parallel(attach, list(range(len(volumes))))
        failed = [(index, error) for index, error in enumerate(devices) if isinstance(error, CommandError)]
        if failed:
            for manager, device in zip(managers, devices):
                if not isinstance(device, CommandError):
                    manager.rollback()
            self._undo_logins(self.outcomes)
            raise self._for_volume(failed[0], len(volumes))
        for result, device in zip(results, devices):
            result['changed'] = result['changed'] or device.pop('changed')
            result['missing_paths'] += device.pop('missing_paths')
            result.update(device)
        return results

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
        def detach(volume):
            try:
                return self._devices().absent(volume['targets'], self._volume_params(volume))
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

    def elapsed(self, total):
        return dict(self.stopwatch.phases, **dict(merged_phases(self.device_watches), total_s=total))


def main():
    watch = Stopwatch()
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[('targets', 'volumes'), ('wwid', 'volumes'), ('size_bytes', 'volumes')],
                           required_one_of=[('targets', 'volumes')])
    params = module.params
    params['scan'] = 'manual'
    try:
        volumes = checked_volumes(params, lambda volume_id: read_record(params['record_dir'], volume_id))
    except (TargetsError, RecordError) as exc:
        module.fail_json(msg=str(exc))
    min_paths = params['min_paths'] if params['state'] == 'present' else 0
    problem = (timing_problem(params) or iface_problem(params['iface']) or volumes_problem(volumes, min_paths)
               or count_problem(params))
    if problem:
        module.fail_json(msg=problem)
    secrets = [auth.get(name) for auth in [v['auth'] or {} for v in volumes] for name in ('password', 'mutual_password')]
    iscsiadm, multipath, scsi = Iscsiadm(module, secrets=secrets), Multipath(module), Scsi(module)
    for runner in (iscsiadm, multipath, scsi):  # a missing command fails here, before the first change
        runner.require()
    manager = VolumeManager(module, iscsiadm, multipath, scsi)
    # Taking the locks checks lock_dir first: a planted one fails before any command (check mode takes no lock).
    keys = [] if module.check_mode else [(t['portal'], t['iqn']) for t in all_targets(volumes)]
    try:
        with targets_locked(keys, params['lock_dir'], params['lock_timeout']):
            if params['state'] == 'present':
                results = manager.present(volumes)
            else:
                results = manager.absent(volumes)
    except LockError as exc:
        module.fail_json(msg=str(exc))
    except CommandError as exc:
        fail = dict(portals=manager.outcomes, **exc.fail_kwargs())
        if params['volumes'] is None:
            fail['targets'] = volumes[0]['targets']
        elif manager.results:
            fail['volumes'] = identified(volumes, manager.results)
        module.fail_json(**fail)
    elapsed = manager.elapsed(watch.total())
    if params['volumes'] is None:
        module.exit_json(elapsed=elapsed, **results[0])
    changed = [result.pop('changed') for result in results]
    module.exit_json(changed=any(changed), volumes=identified(volumes, results), elapsed=elapsed)


def identified(volumes, results):
    """Each volume's result with its volume_id and, when a record gave it, attachment_id (no 'changed')."""
    return [dict(dict((k, v) for k, v in result.items() if k != 'changed'), volume_id=volume['volume_id'],
                 **({'attachment_id': volume['attachment_id']} if volume['attachment_id'] else {}))
            for volume, result in zip(volumes, results)]


if __name__ == '__main__':
    main()
