#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iscsi_multipath_info
short_description: Report iSCSI sessions, node records and multipath maps of the host
version_added: 0.1.0
description:
  - Lists the iSCSI sessions (with the SCSI device of each LUN), the iSCSI node records and the
    dm-multipath maps with their paths, reads the attach records of given volumes, and tells the health of
    attached volumes. Read-only.
  - O(gather) chooses what is read; only the commands the chosen parts need are run. With only
    C(records), no command runs and neither C(iscsiadm) nor C(multipathd) needs to be installed.
  - A missing C(multipathd) or C(iscsiadm) is reported in RV(multipathd_running) or an empty list, not
    as a failure.
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._attributes.INFO_MODULE
options:
  gather:
    description:
      - What to read.
      - V(sessions) lists the iSCSI sessions in RV(sessions) (C(iscsiadm -m session) and sysfs).
      - V(nodes) lists the iSCSI node records in RV(nodes) (C(iscsiadm -m node)).
      - V(maps) lists the dm-multipath maps in RV(maps) and sets RV(multipathd_running) (C(multipathd)).
      - V(records) reads the attach records of O(volume_ids) from O(record_dir) into RV(records); it runs no
        command, and O(volume_ids) must then be given.
      - V(health) tells, for each volume with an attach record (those of O(volume_ids), or every record in
        O(record_dir) when O(volume_ids) is empty), whether it is C(healthy), C(degraded) or C(missing), in
        RV(health), RV(health_summary) and RV(health_problems). It compares the record's targets (the paths the
        volume should have) with the sessions (C(iscsiadm -m session), each session's state, iface and devices
        from sysfs) and the map of the record's WWID (C(multipathd show maps json), its size from sysfs).
    type: list
    elements: str
    choices: [sessions, nodes, maps, records, health]
    default: [sessions, nodes, maps]
  record_dir:
    description:
      - Directory of the attach records, C(<volume_id>.json), as M(cinder_local.iscsi_multipath.iscsi_volume)
        reads them (the roles' C(volume_attach_record_dir)). Used when O(gather) has V(records).
      - A directory or record that is a symbolic link, a directory others can write, or a record that names
        another volume fails the module.
    type: path
    default: /var/lib/cinder_local/attachments
  volume_ids:
    description:
      - The Cinder volumes whose attach records are read when O(gather) has V(records); required then.
      - The volumes whose health is told when O(gather) has V(health); empty means every volume with a record in
        O(record_dir).
      - A volume without a record is left out of RV(records); in RV(health) it is C(missing) (not attached to
        this host).
    type: list
    elements: str
    default: []
  volume_sizes:
    description:
      - The size Cinder reports for volumes, in bytes, keyed by volume ID (Cinder's C(size) in GiB x 1073741824).
        With O(gather=health), a volume whose map has another size is C(degraded). A volume not in it has its size
        not compared.
    type: dict
    default: {}
requirements:
  - open-iscsi (iscsiadm) for O(gather=sessions) and O(gather=nodes)
  - multipath-tools (multipathd) for O(gather=maps)
  - open-iscsi and multipath-tools for O(gather=health)
  - coreutils timeout
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.multipath_device
  - module: cinder_local.iscsi_multipath.iscsi_volume
"""

EXAMPLES = r"""
- name: Read the iSCSI and multipath state
  cinder_local.iscsi_multipath.iscsi_multipath_info:
  register: storage_state

- name: Fail when a map has a failed path
  ansible.builtin.assert:
    that: storage_state.maps | map(attribute='paths') | flatten | selectattr('dm_st', 'ne', 'active') | list | length == 0

- name: Read the attach records of two volumes (no command runs)
  cinder_local.iscsi_multipath.iscsi_multipath_info:
    gather: [records]
    volume_ids:
      - 0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11
      - 7c3e9d1a-2b4f-4e8a-b6c5-1f0d9e8a7b22
  register: attach_records

- name: Tell the health of every volume attached to this host
  cinder_local.iscsi_multipath.iscsi_multipath_info:
    gather: [health]
  register: volume_health

- name: Fail when a volume is degraded or missing
  ansible.builtin.assert:
    that: volume_health.health_problems | length == 0
    fail_msg: "{{ volume_health.health_problems | join('; ') }}"

- name: Show the multipath device of each attached volume
  ansible.builtin.debug:
    msg: "{{ item.key }} is {{ item.value.device }} (WWID {{ item.value.wwid }})"
  loop: "{{ attach_records.records | dict2items }}"
"""

RETURN = r"""
sessions:
  description: iSCSI sessions.
  returned: when O(gather) has V(sessions)
  type: list
  elements: dict
  sample: [{sid: 1, transport: tcp, portal: 192.0.2.1:3260, tpgt: 1, iqn: "iqn.2010-10.org.openstack:volume-1",
            scsi_host: 2, devices: {"1": sdb}}]
nodes:
  description: iSCSI node records.
  returned: when O(gather) has V(nodes)
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-1", tpgt: 1}]
maps:
  description: dm-multipath maps and their paths (C(multipathd show maps json)).
  returned: when O(gather) has V(maps)
  type: list
  elements: dict
  sample: [{name: 360000000000000000e00000000010001, wwid: 360000000000000000e00000000010001, dm: dm-0,
            dm_st: active, write_prot: rw, queueing: "-", vendor: IET, product: VIRTUAL-DISK,
            paths: [{dev: sdb, dev_t: "8:16", dm_st: active, dev_st: running, chk_st: ready,
                     target: "iqn.2010-10.org.openstack:volume-1", host_adapter: 192.0.2.10}]}]
multipathd_running:
  description: Whether multipathd answered.
  returned: when O(gather) has V(maps)
  type: bool
  sample: true
records:
  description:
    - The attach records of O(volume_ids), by volume ID, as read from O(record_dir). A volume without a
      record is not in it.
    - Each record is returned as stored, in the format M(cinder_local.iscsi_multipath.iscsi_volume) writes
      (see its RV(cinder_local.iscsi_multipath.iscsi_volume#module:volumes)) - C(version), C(volume_id),
      C(attachment_id), C(wwid), C(device), C(size_bytes), C(targets) and the C(own_sessions) and C(own_nodes)
      its attaches opened or made (each a list of C(portal), C(iqn), C(lun)). No secret is in it.
  returned: when O(gather) has V(records)
  type: dict
  sample: {"0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11": {
            version: 1, volume_id: 0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11,
            attachment_id: 5d1c0e7b-3a2f-4b9c-8d6e-0f1a2b3c4d55,
            wwid: 360000000000000000e00000000010001, device: /dev/mapper/360000000000000000e00000000010001,
            size_bytes: 1073741824,
            targets: [{portal: "192.0.2.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1}],
            own_sessions: [{portal: "192.0.2.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1}],
            own_nodes: [{portal: "192.0.2.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1}]}}
health:
  description:
    - The health of each volume of O(volume_ids) (in that order), else of each volume with an attach record (sorted
      by volume ID).
    - C(volume_id), C(wwid) and C(device) (from the record; C(null) without one).
    - C(status) - C(healthy); C(degraded) when a path is not C(active), the map holds a device that is not at
      one of the record's targets, or the map is not the size O(volume_sizes) gives; C(missing) when no map of
      the record's WWID exists, or the volume has no record (then C(expected_paths) is 0 and C(paths) empty).
    - C(problems) - what keeps the volume from being healthy, one sentence each (empty when healthy).
    - C(summary) - one line that tells the status, the active and expected paths, the map and the problems.
    - C(expected_paths) (the record's targets) and C(active_paths) (those whose C(state) is C(active)).
    - C(dm) and C(map_state) (C(dm_st) of the map in multipathd's listing), C(null) when there is no map.
    - C(map_size_bytes) (sysfs) and C(cinder_size_bytes) (from O(volume_sizes), else C(null)).
    - C(missing_sessions) - each C(portal) and C(iqn) of the record without an iSCSI session.
    - C(foreign_paths) - devices in the map that are at none of the record's targets.
    - C(paths) - one per target of the record - C(portal), C(iqn), C(lun), C(state) (C(active), C(failed) -
      kernel path state not active or checker C(faulty)/C(shaky), C(no_session), C(no_device) - a session but no
      SCSI device at the LUN, C(not_in_map)), C(sid), C(session_state) (sysfs - C(LOGGED_IN), C(FAILED),
      C(FREE)), C(iface) (the session's open-iscsi iface), C(dev), C(dm_st), C(chk_st) and C(dev_st) (as
      multipathd lists the path) and C(summary), one line. What is not known is C(null).
  returned: when O(gather) has V(health)
  type: list
  elements: dict
  sample: [{volume_id: 0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11, wwid: 360000000000000000e00000000010001,
            device: /dev/mapper/360000000000000000e00000000010001, status: degraded, dm: dm-0, map_state: active,
            expected_paths: 2, active_paths: 1, map_size_bytes: 1073741824, cinder_size_bytes: null,
            missing_sessions: [{portal: "198.51.100.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1"}],
            foreign_paths: [],
            problems: ["1 of 2 paths active", "no session to 198.51.100.1:3260 iqn.2010-10.org.openstack:volume-1"],
            summary: "0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11: degraded, 1 of 2 paths active, ...",
            paths: [{portal: "192.0.2.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1, state: active,
                     sid: 1, session_state: LOGGED_IN, iface: storage-a, dev: sda, dm_st: active, chk_st: ready,
                     dev_st: running, summary: "192.0.2.1:3260 LUN 1: active, sda (session 1 LOGGED_IN, ...)"},
                    {portal: "198.51.100.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1,
                     state: no_session, sid: null, session_state: null, iface: null, dev: null, dm_st: null,
                     chk_st: null, dev_st: null, summary: "198.51.100.1:3260 LUN 1: no session"}]}]
health_summary:
  description: One line per volume followed by one line per path of it (the C(summary) of RV(health) and its paths).
  returned: when O(gather) has V(health)
  type: list
  elements: str
  sample: ["0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11: healthy, 2 of 2 paths active, /dev/mapper/3600... (dm-0, 1073741824 bytes)",
           "  192.0.2.1:3260 LUN 1: active, sda (session 1 LOGGED_IN, iface storage-a, dm active, checker ready)",
           "  198.51.100.1:3260 LUN 1: active, sdb (session 2 LOGGED_IN, iface storage-b, dm active, checker ready)"]
health_problems:
  description: The C(summary) of each volume of RV(health) that is not C(healthy); empty when all are.
  returned: when O(gather) has V(health)
  type: list
  elements: str
  sample: ["0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11: degraded, 1 of 2 paths active, /dev/mapper/3600... (dm-0,
            1073741824 bytes): no session to 198.51.100.1:3260 iqn.2010-10.org.openstack:volume-1"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._health import (
    problem_lines, read_health, read_sessions, summary_lines)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._records import (
    DEFAULT_RECORD_DIR, RecordError, read_record, record_ids)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi

PARTS = ('sessions', 'nodes', 'maps', 'records', 'health')
DEFAULT_GATHER = ['sessions', 'nodes', 'maps']


def gather_sessions(module, iscsiadm, scsi):
    """The iSCSI sessions with the SCSI host and devices of each; [] without iscsiadm."""
    sessions = []
    if module.get_bin_path('iscsiadm'):
        for session in iscsiadm.sessions():
            hctl = scsi.session_hctl(session['sid'])
            devices = scsi.session_devices(session['sid'])
            session.update(scsi_host=hctl[0] if hctl else None,
                           devices=dict((str(lun), dev) for lun, dev in sorted(devices.items())))
            sessions.append(session)
    return sessions


def gather_nodes(module, iscsiadm):
    """The iSCSI node records; [] without iscsiadm."""
    return iscsiadm.records() if module.get_bin_path('iscsiadm') else []


def gather_maps(module, multipath):
    """(multipathd answered, its maps); (False, []) without multipathd."""
    if module.get_bin_path('multipathd') and multipath.is_running():
        return True, multipath.maps()
    return False, []


def gather_records(record_dir, volume_ids):
    """{volume_id: record} of the volumes that have one; raise RecordError for one that cannot be trusted."""
    records = {}
    for volume_id in volume_ids:
        record = read_record(record_dir, volume_id)
        if record is not None:
            records[volume_id] = record
    return records


def gather_health(module, iscsiadm, multipath, scsi, record_dir, volume_ids, volume_sizes):
    """(health, summary lines, problem lines) of volume_ids, else of every volume with a record."""
    volume_ids = volume_ids or record_ids(record_dir)
    records = gather_records(record_dir, volume_ids)
    sessions = read_sessions(iscsiadm, scsi) if module.get_bin_path('iscsiadm') else []
    health = read_health(volume_ids, records, record_dir, sessions, gather_maps(module, multipath)[1], scsi, volume_sizes)
    return health, summary_lines(health), problem_lines(health)


def gather(module, iscsiadm, multipath, scsi, parts=None, record_dir=DEFAULT_RECORD_DIR, volume_ids=(),
           volume_sizes=None):
    """The result for the chosen parts (default: sessions, nodes and maps); only their commands run."""
    parts = DEFAULT_GATHER if parts is None else parts
    result = {'changed': False}
    if 'sessions' in parts:
        result['sessions'] = gather_sessions(module, iscsiadm, scsi)
    if 'nodes' in parts:
        result['nodes'] = gather_nodes(module, iscsiadm)
    if 'maps' in parts:
        result['multipathd_running'], result['maps'] = gather_maps(module, multipath)
    if 'records' in parts:
        result['records'] = gather_records(record_dir, volume_ids)
    if 'health' in parts:
        result['health'], result['health_summary'], result['health_problems'] = gather_health(
            module, iscsiadm, multipath, scsi, record_dir, volume_ids, volume_sizes or {})
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather=dict(type='list', elements='str', choices=list(PARTS), default=list(DEFAULT_GATHER)),
            record_dir=dict(type='path', default=DEFAULT_RECORD_DIR),
            volume_ids=dict(type='list', elements='str', default=[]),
            volume_sizes=dict(type='dict', default={}),
        ),
        supports_check_mode=True)
    params = module.params
    if 'records' in params['gather'] and not params['volume_ids']:
        module.fail_json(msg='gather has records but volume_ids is empty: name the volumes whose attach records to read')
    try:
        result = gather(module, Iscsiadm(module), Multipath(module), Scsi(module), parts=params['gather'],
                        record_dir=params['record_dir'], volume_ids=params['volume_ids'],
                        volume_sizes=params['volume_sizes'])
    except CommandError as exc:
        module.fail_json(**exc.fail_kwargs())
    except RecordError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
