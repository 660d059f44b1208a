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
  - Discovery creates node records for what it finds and resets C(node.startup) of existing records of
    that portal to the iscsid.conf default. The module saves C(node.startup) of every existing record of
    O(portal) first and restores the values discovery changed.
  - Use it when Cinder gave only C(target_portal) (see RV(cinder_local.iscsi_multipath.iscsi_targets#filter:_value.single_portal)).
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
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
      - C(changed) is true only when discovery created node records or C(node.startup) had to be restored.
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
- name: Find the other portals of a single-portal volume
  cinder_local.iscsi_multipath.iscsi_discovery:
    portal: 192.0.2.1:3260
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
  description: Node records that did not exist before this run.
  returned: always
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", tpgt: 1}]
restored_startup:
  description: IQNs of records on O(portal) whose C(node.startup) discovery reset and the module restored.
  returned: always
  type: list
  elements: str
  sample: ["iqn.2010-10.org.openstack:volume-11111111"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._session import auth_problem, iface_problem
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import TargetsError, normalize_portal


def startup_to_restore(before, after):
    """{iqn: old value} for records that existed before and whose node.startup changed."""
    return dict((iqn, value) for iqn, value in sorted(before.items()) if iqn in after and after[iqn] != value)


def new_records(before, after):
    """Records present after and not before (compared on portal and iqn)."""
    known = set((record['portal'], record['iqn']) for record in before)
    return [record for record in after if (record['portal'], record['iqn']) not in known]


def discover(module, iscsiadm, portal, params):
    before = iscsiadm.records()
    if module.check_mode:
        cached = [record for record in before if record['portal'] == portal]
        return {'changed': not cached, 'targets': cached, 'created': [], 'restored_startup': []}
    startup_before = iscsiadm.startup_by_iqn(portal)
    targets = iscsiadm.discover(portal, params['auth'], params['iface'])
    restore = startup_to_restore(startup_before, iscsiadm.startup_by_iqn(portal))
    for iqn, value in restore.items():
        iscsiadm.node_update(portal, iqn, [('node.startup', value)])
    created = new_records(before, iscsiadm.records())
    return {'changed': bool(created or restore), 'targets': targets, 'created': created,
            'restored_startup': list(restore)}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            portal=dict(type='str', required=True),
            auth=dict(type='dict', no_log=False, options=dict(
                method=dict(type='str', choices=['CHAP'], default='CHAP'),
                username=dict(type='str', required=True),
                password=dict(type='str', required=True, no_log=True),
            )),
            iface=dict(type='str', default='default'),
            timeout=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        portal = normalize_portal(params['portal'], 'portal')
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
        result = discover(module, iscsiadm, portal, params)
    except CommandError as exc:
        module.fail_json(portal=portal, **exc.fail_kwargs())
    module.exit_json(portal=portal, **result)


if __name__ == '__main__':
    main()
