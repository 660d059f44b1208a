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
    C(find_multipaths) says (a wait until udev has recorded the new devices, C(udevadm settle) only when
    it has not within O(map_timeout), C(multipath -a WWID) unless C(/etc/multipath/wwids) already lists the WWID,
    C(multipathd add path), retried once when multipathd refuses a path it cannot identify yet), and waits
    until the map can do IO (one of its paths active in the kernel, polled in C(multipathd show maps json)).
  - A device that was at a LUN before the call is trusted only after a rescan (C(/sys/block/sdX/device/rescan))
    made the kernel re-read its WWID (VPD page 0x83) and size, since a target that reuses LUN numbers may give
    that LUN to another volume now. It is stale when its WWID changed on the rescan, udev still records another
    WWID for it, it does not show O(wwid) (without O(wwid), the WWID of the devices this call scanned in) or it is
    not of O(size_bytes). A stale device nothing uses (no holder, not mounted, not swap, not open) is flushed and deleted
    and its LUN scanned again (RV(replaced_devices), with a warning); one in use is an error naming it and what
    uses it, and nothing is removed.
  - With O(size_bytes), every path must have that size, else the module fails before it builds or uses a map.
    With O(wwid) too, a volume Cinder extended grows instead - every path rescanned until it shows O(size_bytes),
    then C(multipathd resize map) and a check of the map's size (see O(size_bytes)).
    A map that exists already is used only when each of its paths is a device at one of the volume's own
    (portal, IQN, LUN) sessions and it is of the paths' WWID and size.
  - Paths whose session is missing or whose device does not appear in time are reported in
    RV(missing_paths) with a warning; the module fails only when fewer than O(min_paths) paths came up.
  - O(state=absent) flushes the map (retried), flushes and deletes every SCSI device of the volume, waits for
    them to vanish and for multipathd to drop the paths. It does not log out (see
    M(cinder_local.iscsi_multipath.iscsi_session)).
  - It refuses, before it changes anything and unless O(force=true), when the map or one of its path devices (or
    a partition of one) is mounted, used as swap, held by another device or open by a process (multipathd and
    udev workers aside).
  - Only devices of the volume are removed. Devices at the volume's LUNs that show another WWID than O(wwid) (or
    another size than O(size_bytes)) are left alone and returned in RV(foreign_devices), with a warning (the
    target gave the LUN to another volume). Without O(wwid) the WWID is learned from the devices at the LUNs and
    their map (see O(wwid)).
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._iscsi_target.targets
  - cinder_local.iscsi_multipath._iscsi_target.map
  - cinder_local.iscsi_multipath._iscsi_target.locks
attributes:
  check_mode:
    support: full
    details:
      - Nothing is scanned, rescanned, flushed or deleted; C(changed) is predicted from sysfs and multipathd.
        Devices that were at a LUN already are judged on the identity the kernel has cached (no rescan).
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
  state:
    description: Whether the map and its SCSI devices should exist.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), remove the map and delete its path devices even when they are in use, and the map
        even when it cannot be flushed (C(multipathd del map)). Data not yet written is lost. Devices that are not
        the volume are left alone all the same.
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
  returned: when a device was found; with O(state=absent) when given or learned
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
  description: Size of the volume (after its growth, predicted in check mode).
  returned: when a device was found
  type: int
  sample: 1073741824
resized:
  description: Whether the volume was extended in Cinder and its map (and paths) grew to RV(size_bytes) in this call.
  returned: O(state=present) and a device was found
  type: bool
  sample: false
previous_size_bytes:
  description: Size of the map (in check mode, of the paths) before it grew.
  returned: when RV(resized)
  type: int
  sample: 536870912
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
replaced_devices:
  description:
    - Devices that were at a LUN before the call and were not the volume (C(reason)), deleted and scanned again
      (O(state=present); predicted in check mode). C(wwid) and C(size_bytes) are those the device showed;
      C(portal), C(iqn) and C(lun) where it sat.
  returned: state=present
  type: list
  elements: dict
  sample: [{dev: sdb, portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1,
            wwid: 360000000000000000e00000000010001, size_bytes: 1073741824,
            reason: "it is 1073741824 bytes, Cinder reports 2147483648 for the volume"}]
foreign_devices:
  description:
    - Devices left alone because they are not the volume (O(state=absent)), with the C(reason); their sessions
      must stay. C(portal), C(iqn) and C(lun) tell where the device sits, null for a path of another volume's
      map that is not at one of the targets.
  returned: state=absent
  type: list
  elements: dict
  sample: [{dev: sdd, portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1,
            wwid: 360000000000000000e00000000010002, size_bytes: 2147483648,
            reason: "it shows WWID 360000000000000000e00000000010002, not 360000000000000000e00000000010001"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._device import (
    DeviceManager, checked_targets, count_problem, device_argument_spec, min_paths_problem)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import (
    LockError, lock_argument_spec, targets_locked)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import TargetsError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            **dict(device_argument_spec(), **lock_argument_spec())
        ),
        required_if=[('state', 'present', ('targets',)), ('state', 'absent', ('targets', 'wwid'), True)],
        supports_check_mode=True,
    )
    params = module.params
    try:
        targets = checked_targets(params['targets'])
    except TargetsError as exc:
        module.fail_json(msg=str(exc))
    problem = count_problem(params)
    if params['state'] == 'present':
        problem = ('targets is empty' if not targets else min_paths_problem(params['min_paths'], targets)) or problem
    if problem:
        module.fail_json(msg=problem)
    runners = (Iscsiadm(module), Multipath(module), Scsi(module))
    for runner in runners:  # a missing command fails here, before the first change
        runner.require()
    manager = DeviceManager(module, *runners)
    # The locks iscsi_session and iscsi_volume take: no logout of these sessions while the map is built or removed.
    # Taking them checks lock_dir first, so a planted one fails before any command.
    keys = [] if module.check_mode else [(target['portal'], target['iqn']) for target in targets]
    try:
        with targets_locked(keys, params['lock_dir'], params['lock_timeout']):
            if params['state'] == 'present':
                result = manager.present(targets, params)
            else:
                result = manager.absent(targets, params)
    except LockError as exc:
        module.fail_json(msg=str(exc))
    except CommandError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
