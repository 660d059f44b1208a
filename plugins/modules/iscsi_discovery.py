#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iscsi_discovery
short_description: SendTargets discovery on one iSCSI portal
version_added: 0.1.0
description:
  - Runs SendTargets discovery on O(portal), with discovery CHAP when O(auth) is given (the discovery
    record is created when missing, as os-brick does on iscsiadm exit 6).
  - Discovery only adds node records for targets not known yet (C(--op new)); an existing record, such as
    one of an attached volume with its CHAP and timeouts, is never changed or deleted.
  - With O(iqn), the records this discovery created for other targets (a portal announces every target it
    serves) are deleted again, but only those without a session; nothing is ever logged out.
  - It runs under a host-wide lock of O(portal) (O(lock_dir)), so that two discoveries on one portal do not
    race.
  - Use it when Cinder gave only C(target_portal) (see RV(cinder_local.iscsi_multipath.iscsi_targets#filter:_value.single_portal)).
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._iscsi_target.locks
attributes:
  check_mode:
    support: partial
    details:
      - Discovery is not run in check mode. The module returns the node records already known for
        O(portal) and predicts C(changed) as true when there are none.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - C(changed) is true only when discovery created node records.
options:
  portal:
    description: Portal to ask, C(address:port) or C([ipv6]:port).
    type: str
    required: true
  auth:
    description:
      - Discovery CHAP credentials; the C(discovery_auth) value of the
        P(cinder_local.iscsi_multipath.iscsi_targets#filter) filter fits here.
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
  iqn:
    description:
      - The target being looked for. Records this discovery created for other targets are deleted again
        when they have no session (RV(deleted)); RV(targets) still lists everything the portal announced.
    type: str
  iface:
    description: open-iscsi interface to discover through.
    type: str
    default: default
  timeout:
    description: Seconds before one iscsiadm call is abandoned (a dead portal fails instead of hanging).
    type: int
    default: 30
requirements:
  - open-iscsi (iscsiadm, a running iscsid)
  - coreutils timeout
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.iscsi_session
"""

EXAMPLES = r"""
- name: Find the other portals of a single-portal volume (records of other targets are not kept)
  cinder_local.iscsi_multipath.iscsi_discovery:
    portal: 192.0.2.1:3260
    iqn: "iqn.2010-10.org.openstack:volume-0736e4a3"
  register: found

- name: Discovery with CHAP
  cinder_local.iscsi_multipath.iscsi_discovery:
    portal: 192.0.2.1:3260
    auth:
      username: discoverer
      password: "{{ discovery_secret }}"
"""

RETURN = r"""
targets:
  description: What the portal announced (in check mode, the node records already known for it).
  returned: always
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", tpgt: 1}]
created:
  description: Node records that did not exist before this run (and that it kept).
  returned: always
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", tpgt: 1}]
deleted:
  description: Records this run created for targets other than O(iqn) and deleted again (none had a session).
  returned: always
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-11111111", tpgt: 1}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._discovery import discover
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import (
    LockError, check_lock_dir, lock_argument_spec)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._session import auth_problem, iface_problem
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    TargetsError, check_target_name, normalize_portal)


def discovered(module, iscsiadm, portal, params):
    if module.check_mode:
        cached = [record for record in iscsiadm.records() if record['portal'] == portal]
        return {'changed': not cached, 'targets': cached, 'created': [], 'deleted': []}
    result = discover(iscsiadm, portal, params['iqn'], params['auth'], params['iface'], params['lock_dir'],
                      params['lock_timeout'])
    return dict(result, changed=bool(result['created']))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            portal=dict(type='str', required=True),
            auth=dict(type='dict', no_log=False, options=dict(
                method=dict(type='str', choices=['CHAP'], default='CHAP'),
                username=dict(type='str', required=True),
                password=dict(type='str', required=True, no_log=True),
            )),
            iqn=dict(type='str'),
            iface=dict(type='str', default='default'),
            timeout=dict(type='int', default=30),
            **lock_argument_spec()
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        portal = normalize_portal(params['portal'], 'portal')
        if params['iqn'] is not None:
            check_target_name(params['iqn'], 'iqn')
    except TargetsError as exc:
        module.fail_json(msg=str(exc))
    if params['timeout'] <= 0:
        module.fail_json(msg='timeout must be positive, got %d' % params['timeout'])
    problem = auth_problem(params['auth']) or iface_problem(params['iface'])
    if problem:
        module.fail_json(msg=problem)
    secrets = [(params['auth'] or {}).get('password')]
    iscsiadm = Iscsiadm(module, timeout=params['timeout'], secrets=secrets)
    try:
        if not module.check_mode:  # a planted lock_dir fails before any command (check mode takes no lock)
            check_lock_dir(params['lock_dir'])
        result = discovered(module, iscsiadm, portal, params)
    except LockError as exc:
        module.fail_json(msg=str(exc), portal=portal)
    except CommandError as exc:
        module.fail_json(portal=portal, **exc.fail_kwargs())
    module.exit_json(portal=portal, **result)


if __name__ == '__main__':
    main()
