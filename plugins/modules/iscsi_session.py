#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iscsi_session
short_description: Manage one iSCSI node record and its session (one portal of one target)
version_added: 0.1.0
description:
  - O(state=present) creates the node record of (O(portal), O(iqn)) when missing, sets session CHAP
    (and mutual CHAP), C(node.session.scan=manual) so no LUN shows up unasked, the iSCSI timeouts, logs in
    (an existing session is kept; iscsiadm exit 15 counts as success) and finally sets C(node.startup).
  - A dead portal fails within a bounded time, about O(login_timeout) x (O(login_retries) + 1) seconds,
    with the iscsiadm error; when this run created the node record it is deleted again.
  - O(state=absent) logs out and deletes the node record, but only when no other LUN than O(lun) still
    has a SCSI device on the session (another volume of a shared target), and only when O(lun) itself has
    no device left (remove it with M(cinder_local.iscsi_multipath.multipath_device) first).
    O(force=true) skips both checks.
  - Every change holds a host-wide lock per (portal, IQN), so concurrent attaches of different LUNs of
    one target do not corrupt the node record.
  - The CHAP passwords are passed to iscsiadm as arguments (iscsiadm has no other way), so they are
    visible in the process list for the duration of that call; they never appear in the module output.
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._iscsi_target.locks
  - cinder_local.iscsi_multipath._iscsi_target.session_auth
  - cinder_local.iscsi_multipath._iscsi_target.session_timeouts
attributes:
  check_mode:
    support: full
    details:
      - Nothing is changed; C(changed), RV(created_node) and RV(logged_in) are predicted.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  portal:
    description: Target portal, C(address:port) or C([ipv6]:port).
    type: str
    required: true
  iqn:
    description:
      - Target name, as iscsiadm takes it (V(iqn.), V(eui.), V(naa.) or the array's own form). White space, control
        characters, C(/) and names over 223 bytes are refused.
    type: str
    required: true
  lun:
    description:
      - LUN of the volume on this target. Required with O(state=absent) unless O(force=true); used to tell
        this volume's devices from other volumes' on a shared session.
      - An integer, or a string of ASCII digits, in 0..32767; the number the kernel uses, as the
        P(cinder_local.iscsi_multipath.iscsi_targets#filter) filter returns it.
    type: raw
  state:
    description: Whether the node record and session should exist.
    type: str
    choices: [present, absent]
    default: present
  startup:
    description: C(node.startup) set after a successful login (os-brick uses C(automatic)).
    type: str
    choices: [automatic, manual, onboot]
    default: automatic
  scan:
    description: C(node.session.scan). V(manual) scans only the LUNs asked for.
    type: str
    choices: [manual, auto]
    default: manual
  iface:
    description: open-iscsi interface used for a new node record.
    type: str
    default: default
  force:
    description: With O(state=absent), log out even when LUNs still have devices on the session.
    type: bool
    default: false
requirements:
  - open-iscsi (iscsiadm, a running iscsid)
  - coreutils timeout
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.multipath_device
  - plugin: cinder_local.iscsi_multipath.iscsi_targets
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Log in to one portal with CHAP
  cinder_local.iscsi_multipath.iscsi_session:
    portal: 192.0.2.1:3260
    iqn: iqn.2010-10.org.openstack:volume-0736e4a3
    auth:
      username: x6HdhRK9NJYB5DNCnvNT
      password: "{{ chap_password }}"
  register: path_a

- name: Log out when no other volume uses the session
  cinder_local.iscsi_multipath.iscsi_session:
    portal: 192.0.2.1:3260
    iqn: iqn.2010-10.org.openstack:volume-0736e4a3
    lun: 1
    state: absent
"""

RETURN = r"""
portal:
  description: The canonical portal.
  returned: always
  type: str
  sample: 192.0.2.1:3260
iqn:
  description: The target IQN.
  returned: always
  type: str
  sample: iqn.2010-10.org.openstack:volume-0736e4a3
sid:
  description: iSCSI session id (C(None) in check mode before a login, and after O(state=absent)).
  returned: always
  type: int
  sample: 3
scsi_host:
  description: SCSI host number of the session (C(/sys/class/scsi_host/hostN)).
  returned: when a session exists
  type: int
  sample: 2
created_node:
  description: True when this run created the node record (roll back only what you created).
  returned: state=present
  type: bool
  sample: true
logged_in:
  description: True when this run opened the session.
  returned: state=present
  type: bool
  sample: true
updated:
  description: Names of the node settings this run changed (values are not returned).
  returned: state=present
  type: list
  elements: str
  sample: [node.session.scan, node.session.auth.password]
logged_out:
  description: True when this run closed the session.
  returned: state=absent
  type: bool
  sample: true
deleted_node:
  description: True when this run deleted the node record.
  returned: state=absent
  type: bool
  sample: true
in_use_luns:
  description: LUNs that still have devices on the session and kept it open (O(state=absent)).
  returned: state=absent
  type: list
  elements: int
  sample: [2]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import LockError, lock_argument_spec, target_lock
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._session import (
    SessionManager, auth_problem, iface_problem, session_argument_spec, timing_problem)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    MAX_SCSI_LUN,
    TargetsError,
    check_target_name,
    normalize_lun,
    normalize_portal,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            portal=dict(type='str', required=True),
            iqn=dict(type='str', required=True),
            lun=dict(type='raw'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            startup=dict(type='str', choices=['automatic', 'manual', 'onboot'], default='automatic'),
            scan=dict(type='str', choices=['manual', 'auto'], default='manual'),
            iface=dict(type='str', default='default'),
            force=dict(type='bool', default=False),
            **dict(lock_argument_spec(), **session_argument_spec())
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        portal = normalize_portal(params['portal'], 'portal')
        check_target_name(params['iqn'], 'iqn')
        lun = None if params['lun'] is None else normalize_lun(params['lun'], 'lun', MAX_SCSI_LUN)
    except TargetsError as exc:
        module.fail_json(msg=str(exc))
    problem = timing_problem(params) or auth_problem(params['auth']) or iface_problem(params['iface'])
    if problem:
        module.fail_json(msg=problem)
    if params['state'] == 'absent' and lun is None and not params['force']:
        module.fail_json(msg='lun is required with state=absent (to keep sessions other LUNs use), or set force=true')
    auth = params['auth'] or {}
    secrets = [auth.get('password'), auth.get('mutual_password')]
    runners = (Iscsiadm(module, secrets=secrets), Scsi(module))
    for runner in runners:  # a missing command fails here, before the first change
        runner.require()
    manager = SessionManager(module, runners[0], runners[1], portal, params['iqn'])
    try:
        if module.check_mode:
            result = manager.present(params) if params['state'] == 'present' else manager.absent(lun, params['force'])
        else:
            with target_lock(portal, params['iqn'], params['lock_dir'], params['lock_timeout']):
                if params['state'] == 'present':
                    result = manager.present(params)
                else:
                    result = manager.absent(lun, params['force'])
    except CommandError as exc:
        module.fail_json(portal=portal, iqn=params['iqn'], **exc.fail_kwargs())
    except LockError as exc:  # a timeout, or a lock_dir someone else controls (refused before any command)
        module.fail_json(msg=str(exc), portal=portal, iqn=params['iqn'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
