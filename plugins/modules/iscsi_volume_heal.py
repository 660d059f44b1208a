#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iscsi_volume_heal
short_description: Bring back the missing paths of attached iSCSI volumes from their attach records
version_added: 0.1.0
description:
  - For each volume with an attach record (written by M(cinder_local.iscsi_multipath.iscsi_volume)), it first
    tells its health as M(cinder_local.iscsi_multipath.iscsi_multipath_info) with O(cinder_local.iscsi_multipath.iscsi_multipath_info#module:gather=health)
    does, then heals the volumes that have a path to bring back - a target without an iSCSI session, a session
    without the SCSI device of the LUN, a device the map does not hold, or no map at all.
  - A heal is the attach engine of M(cinder_local.iscsi_multipath.iscsi_volume) driven from the record - its targets
    and WWID; Cinder is not asked. Under the host-wide lock of every (portal, IQN) of the volume it logs in to each
    (portal, IQN) without a session (all at once), scans only the record's LUN on each session without its device,
    checks that every device shows the record's WWID and one size, and makes multipathd add them to the map of that
    WWID (or build it).
  - A healthy path is left as it is - its session is not logged in again, its node record is not changed, nothing
    is logged out. Its device only has its identity read again (a SCSI rescan, as every attach does) so that a
    device that is no longer the volume (a LUN the target gave another volume) stops the heal before another path
    joins the map; a map that holds a device that is not the volume's is never used.
  - A path whose session and device exist but that multipathd lists as failed (a storage network down) is not
    touched - multipathd reinstates it when its checker succeeds again; it stays C(degraded) in RV(health).
  - The record holds no secret. A login takes its settings - CHAP credentials, the timeouts and C(node.startup) - from
    the node record iscsiadm keeps for another (portal, IQN) of the volume that has a session (its live login
    proves the target accepts them; Cinder gives one set of CHAP credentials to every portal of a volume), else from
    the missing (portal, IQN)'s own node record. A volume that has neither cannot be healed here - attach it again
    (the roles ask Cinder for its connection).
  - On a failure it rolls back what it made for that volume (the sessions it opened, the devices it scanned in, a map
    it built) and goes on with the other volumes; the module fails once all were tried, RV(volumes) says why.
  - A heal that changed something rewrites the record (its C(own_sessions) and C(own_nodes) then list the sessions
    and node records the heal made, as an attach does).
  - A login to a portal that still cannot be reached only warns (the path stays missing in RV(health)); the module
    does not fail for it. Fail on RV(health_problems) to alert.
  - The CHAP passwords are passed to iscsiadm as arguments (iscsiadm has no other way), so they are visible in the
    process list for the duration of that call; they never appear in the module output.
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._iscsi_target.locks
attributes:
  check_mode:
    support: full
    details:
      - Nothing is changed and no lock is taken; RV(volumes) lists the volumes a heal would act on, and C(changed)
        is true when there is one.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run finds every path it could bring back present and changes nothing.
options:
  volume_ids:
    description:
      - The Cinder volumes to heal. Empty means every volume with an attach record in O(record_dir).
      - A volume without a record cannot be healed - a warning names it, and it is C(missing) in RV(health).
    type: list
    elements: str
    default: []
  record_dir:
    description:
      - Directory of the attach records, C(<volume_id>.json) (the roles' C(volume_attach_record_dir)). A
        directory or record that is a symbolic link, or a directory others can write, is refused.
    type: path
    default: /var/lib/cinder_local/attachments
  ifaces:
    description:
      - The open-iscsi ifaces bound to the storage networks, as given to M(cinder_local.iscsi_multipath.iscsi_volume)
        (the initiator role's C(initiator_ifaces)). A new node record of a missing portal gets the iface bound to the
        network interface the kernel routes the portal through, else O(iface).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The iface name.
        type: str
        required: true
      netdev:
        description: The network interface it is bound to.
        type: str
      hwaddress:
        description: The MAC address of the network interface it is bound to.
        type: str
      transport:
        description: Its transport (not used to pick it).
        type: str
  iface:
    description: open-iscsi iface of a new node record when O(ifaces) gives none for its portal.
    type: str
    default: default
  device_timeout:
    description: Seconds to wait for the SCSI device of a scanned LUN (rescanned half-way).
    type: int
    default: 20
  map_timeout:
    description: Seconds to wait for multipathd to add the devices to the map and for the map to be usable.
    type: int
    default: 30
  remove_timeout:
    description: Seconds to wait for a stale device (not the volume) to go once deleted.
    type: int
    default: 30
requirements:
  - open-iscsi (iscsiadm, a running iscsid)
  - multipath-tools (multipath, multipathd running)
  - util-linux blockdev, coreutils timeout, udevadm
  - iproute2 ip (for O(ifaces))
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.iscsi_multipath_info
  - module: cinder_local.iscsi_multipath.iscsi_volume
"""

EXAMPLES = r"""
- name: Heal every attached volume of this host
  cinder_local.iscsi_multipath.iscsi_volume_heal:
  register: healed

- name: Fail when a volume is still degraded or missing
  ansible.builtin.assert:
    that: healed.health_problems | length == 0
    fail_msg: "{{ healed.health_problems | join('; ') }}"

- name: Heal one volume, each new path through the iface of its storage network
  cinder_local.iscsi_multipath.iscsi_volume_heal:
    volume_ids: [0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11]
    ifaces:
      - {name: storage-a, netdev: eth1}
      - {name: storage-b, netdev: eth2}
"""

RETURN = r"""
volumes:
  description:
    - One entry per volume a heal acted on (would act on, in check mode), in the order of RV(health).
    - C(volume_id), C(status_before) (C(degraded) or C(missing)), C(changed).
    - C(portals) - one per (portal, IQN) of the record - C(sid), C(created_node), C(logged_in), C(updated) (node
      settings changed), C(error) when the login failed, C(elapsed_s) for a login; a session that was there is
      listed with C(logged_in) false and nothing changed.
    - C(paths) (the paths with a session, C(dev), C(sid), C(dm_st), C(chk_st)), C(missing_paths) (with the
      C(reason)), C(wwid), C(size_bytes), C(dm), C(name), C(device), C(by_id), C(replaced_devices), as
      M(cinder_local.iscsi_multipath.iscsi_volume) returns them.
    - C(error) when the heal of the volume failed (what it made was rolled back).
    - In check mode only C(volume_id), C(status_before) and C(changed).
  returned: always
  type: list
  elements: dict
  sample: [{volume_id: 0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11, status_before: degraded, changed: true,
            portals: [{portal: "192.0.2.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", sid: 1,
                       created_node: false, logged_in: false, updated: []},
                      {portal: "198.51.100.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", sid: 3,
                       created_node: true, logged_in: true, updated: [node.session.scan], elapsed_s: 0.4}],
            paths: [{portal: "192.0.2.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1, sid: 1, dev: sda,
                     dm_st: active, chk_st: ready},
                    {portal: "198.51.100.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1, sid: 3,
                     dev: sdc, dm_st: active, chk_st: ready}],
            missing_paths: [], wwid: 360000000000000000e00000000010001, size_bytes: 1073741824, dm: dm-0,
            name: 360000000000000000e00000000010001, device: /dev/mapper/360000000000000000e00000000010001,
            by_id: /dev/disk/by-id/dm-uuid-mpath-360000000000000000e00000000010001, replaced_devices: []}]
health:
  description:
    - The health of every volume of O(volume_ids) (of every record) after the heal (before it, in check mode), as
      M(cinder_local.iscsi_multipath.iscsi_multipath_info) returns it in its
      RV(cinder_local.iscsi_multipath.iscsi_multipath_info#module:health) - C(volume_id), C(wwid), C(device),
      C(status), C(problems), C(summary), C(expected_paths), C(active_paths), C(dm), C(map_state),
      C(map_size_bytes), C(cinder_size_bytes) (always C(null) here), C(missing_sessions), C(foreign_paths) and
      C(paths) (C(portal), C(iqn), C(lun), C(state), C(sid), C(session_state), C(iface), C(dev), C(dm_st),
      C(chk_st), C(dev_st), C(summary)).
  returned: always
  type: list
  elements: dict
  sample: [{volume_id: 0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11, status: healthy, expected_paths: 2, active_paths: 2,
            problems: [], summary: "0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11: healthy, 2 of 2 paths active, ..."}]
health_summary:
  description: One line per volume of RV(health) followed by one line per path of it.
  returned: always
  type: list
  elements: str
  sample: ["0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11: healthy, 2 of 2 paths active, /dev/mapper/3600... (dm-0, 1073741824 bytes)",
           "  192.0.2.1:3260 LUN 1: active, sda (session 1 LOGGED_IN, iface storage-a, dm active, checker ready)",
           "  198.51.100.1:3260 LUN 1: active, sdc (session 3 LOGGED_IN, iface storage-b, dm active, checker ready)"]
health_problems:
  description: The C(summary) of each volume of RV(health) that is not C(healthy); empty when all are.
  returned: always
  type: list
  elements: str
  sample: []
elapsed:
  description:
    - Seconds spent inside the module - C(health_s) (records read, health told before the heal), C(heal_s) (the
      heals, at once where the volumes share no session; not in check mode), C(total_s) (with the health told after the heal).
  returned: always
  type: dict
  sample: {health_s: 0.3, heal_s: 2.1, total_s: 2.6}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._heal import (
    heal_argument_spec, heal_volumes, host_health, options_problem, read_records, to_heal)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._ifaces import Routes
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._records import RecordError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, Stopwatch
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi


def main():
    watch = Stopwatch()
    module = AnsibleModule(argument_spec=heal_argument_spec(), supports_check_mode=True)
    params = module.params
    problem = options_problem(params)
    if problem:
        module.fail_json(msg=problem)
    iscsiadm, multipath, scsi = Iscsiadm(module), Multipath(module), Scsi(module)
    routes = Routes(module) if params['ifaces'] else None
    for runner in (iscsiadm, multipath, scsi, routes):  # a missing command fails here, before the first change
        if runner:
            runner.require()
    try:
        records, volume_ids = read_records(module, params['record_dir'], params['volume_ids'])
        before = host_health(iscsiadm, multipath, scsi, records, volume_ids, params['record_dir'])
    except RecordError as exc:
        module.fail_json(msg=str(exc))
    except CommandError as exc:
        module.fail_json(**exc.fail_kwargs())
    watch.mark('health')
    healable = to_heal(records, before[0])
    if module.check_mode:
        volumes = [{'volume_id': record['volume_id'], 'status_before': health['status'], 'changed': True}
                   for record, health in healable]
        module.exit_json(changed=bool(volumes), volumes=volumes, health=before[0], health_summary=before[1],
                         health_problems=before[2], elapsed=dict(watch.phases, total_s=watch.total()))
    volumes = heal_volumes(module, (iscsiadm, multipath, scsi, routes), healable)
    watch.mark('heal')
    try:
        after = host_health(iscsiadm, multipath, scsi, records, volume_ids, params['record_dir'])
    except CommandError as exc:
        module.fail_json(volumes=volumes, **exc.fail_kwargs())
    outcome = dict(changed=any(volume['changed'] for volume in volumes), volumes=volumes, health=after[0],
                   health_summary=after[1], health_problems=after[2],
                   elapsed=dict(watch.phases, total_s=watch.total()))
    failed = [volume for volume in volumes if 'error' in volume]
    if failed:
        module.fail_json(msg='; '.join('%s: %s' % (volume['volume_id'], volume['error']) for volume in failed),
                         **outcome)
    module.exit_json(**outcome)


if __name__ == '__main__':
    main()
