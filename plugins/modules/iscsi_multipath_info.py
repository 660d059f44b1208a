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
    dm-multipath maps with their paths. Read-only.
  - A missing C(multipathd) or C(iscsiadm) is reported in RV(multipathd_running) or an empty list, not
    as a failure.
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._attributes.INFO_MODULE
options: {}
requirements:
  - open-iscsi (iscsiadm), multipath-tools (multipathd), coreutils timeout
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.multipath_device
"""

EXAMPLES = r"""
- name: Read the iSCSI and multipath state
  cinder_local.iscsi_multipath.iscsi_multipath_info:
  register: storage_state

- name: Fail when a map has a failed path
  ansible.builtin.assert:
    that: storage_state.maps | map(attribute='paths') | flatten | selectattr('dm_st', 'ne', 'active') | list | length == 0
"""

RETURN = r"""
sessions:
  description: iSCSI sessions.
  returned: always
  type: list
  elements: dict
  sample: [{sid: 1, transport: tcp, portal: 192.0.2.1:3260, tpgt: 1, iqn: "iqn.2010-10.org.openstack:volume-1",
            scsi_host: 2, devices: {"1": sdb}}]
nodes:
  description: iSCSI node records.
  returned: always
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-1", tpgt: 1}]
maps:
  description: dm-multipath maps and their paths (C(multipathd show maps json)).
  returned: always
  type: list
  elements: dict
  sample: [{name: 360000000000000000e00000000010001, wwid: 360000000000000000e00000000010001, dm: dm-0,
            dm_st: active, write_prot: rw, queueing: "-", vendor: IET, product: VIRTUAL-DISK,
            paths: [{dev: sdb, dev_t: "8:16", dm_st: active, dev_st: running, chk_st: ready,
                     target: "iqn.2010-10.org.openstack:volume-1", host_adapter: 192.0.2.10}]}]
multipathd_running:
  description: Whether multipathd answered.
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi


def gather(module, iscsiadm, multipath, scsi):
    result = {'changed': False, 'sessions': [], 'nodes': [], 'maps': [], 'multipathd_running': False}
    if module.get_bin_path('iscsiadm'):
        for session in iscsiadm.sessions():
            hctl = scsi.session_hctl(session['sid'])
            devices = scsi.session_devices(session['sid'])
            session.update(scsi_host=hctl[0] if hctl else None,
                           devices=dict((str(lun), dev) for lun, dev in sorted(devices.items())))
            result['sessions'].append(session)
        result['nodes'] = iscsiadm.records()
    if module.get_bin_path('multipathd') and multipath.is_running():
        result['multipathd_running'] = True
        result['maps'] = multipath.maps()
    return result


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    try:
        result = gather(module, Iscsiadm(module), Multipath(module), Scsi(module))
    except CommandError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
