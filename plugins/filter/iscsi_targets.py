# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: iscsi_targets
short_description: Turn a Cinder iSCSI connection_info into the targets to log in to
version_added: 0.1.0
description:
  - Reads a Cinder C(connection_info) in any of its shapes and returns every (portal, IQN, LUN)
    path of the volume, with duplicates removed, plus the CHAP credentials that apply to all of them.
  - Accepted shapes are the legacy C(os-initialize_connection) answer
    (C(driver_volume_type) and a C(data) dictionary), the flat attachments-API C(connection_info) (the C(data) keys
    beside C(driver_volume_type)), and the bare C(data) dictionary.
  - The plural keys C(target_portals), C(target_iqns), C(target_luns) win over the singular ones, as in
    os-brick, but only when both C(target_portals) and C(target_iqns) are lists (a V(null) list counts as
    absent). Otherwise, as in os-brick, the volume has one portal (C(target_portal), else the first of
    C(target_portals)) and RV(_value.single_portal) asks for SendTargets discovery of the others.
  - With only the singular keys and no C(target_lun) at all (Synology's default set-up), the LUN is 0, as in os-brick.
  - Target names are taken as iscsiadm takes them (V(iqn.), V(eui.), V(naa.), or an array's own form such as
    Inspur AS13000's C(target.inspur.<host>-<digits>)).
  - C(addressing_mode) is honoured as os-brick does (C(lun_for_addressing)); V(SAM2) gives LUNs from 256, and
    V(SAM3-flat) every LUN, the kernel's flat space number, the LUN plus 16384; V(SAM), V(transparent) or no
    mode leave it unchanged.
  - Fails with a message naming the field for lists of different lengths, empty lists, a
    C(driver_volume_type) other than C(iscsi), a portal without a port or with a bad port, a host name
    instead of an address in a portal, an IPv6 portal without brackets, a LUN that is not an integer or a string
    of ASCII digits in 0..16383 (SAM-2 flat space addressing), a missing target name or one with white space,
    control characters or C(/) or over 223 bytes, incomplete CHAP settings or CHAP values with control characters,
    an unknown C(addressing_mode), an C(access_mode) other than V(rw) (read-only is not supported) and
    C(encrypted=true) (Cinder volume encryption is not supported; the device would show the ciphertext).
  - The result holds the CHAP password. Use C(no_log) on tasks that print or register it.
options:
  _input:
    description: The C(connection_info) dictionary returned by Cinder.
    type: dict
    required: true
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.iscsi_session
  - module: cinder_local.iscsi_multipath.multipath_device
"""

EXAMPLES = r"""
- name: Log in to every portal of the volume with the same CHAP credentials
  cinder_local.iscsi_multipath.iscsi_session:
    portal: "{{ item.portal }}"
    iqn: "{{ item.iqn }}"
    lun: "{{ item.lun }}"
    auth: "{{ volume_paths.auth }}"
  loop: "{{ volume_paths.targets }}"
  loop_control:
    label: "{{ item.portal }} {{ item.iqn }}"
  no_log: true
  vars:
    volume_paths: "{{ attachment.connection_info | cinder_local.iscsi_multipath.iscsi_targets }}"

- name: Build the multipath map from every path
  cinder_local.iscsi_multipath.multipath_device:
    targets: "{{ (attachment.connection_info | cinder_local.iscsi_multipath.iscsi_targets).targets }}"
"""

RETURN = r"""
_value:
  description: The paths of the volume and the credentials that apply to every one of them.
  type: dict
  contains:
    targets:
      description:
        - One entry per distinct (portal, IQN, LUN), in Cinder's order.
        - Portals are canonical C(address:port), IPv6 as C([address]:port).
        - The LUN is the number the kernel uses, translated for C(addressing_mode) (0..32767).
      type: list
      elements: dict
      sample: [{portal: "192.0.2.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1},
               {portal: "198.51.100.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1}]
    auth:
      description:
        - Session CHAP credentials for every target, C({method, username, password}), or C(None).
        - Pass it unchanged to the O(cinder_local.iscsi_multipath.iscsi_session#module:auth) option.
      type: dict
      sample: {method: CHAP, username: x6HdhRK9NJYB5DNCnvNT, password: "<secret>"}
    discovery_auth:
      description: SendTargets discovery CHAP credentials in the same shape, or C(None).
      type: dict
      sample: null
    single_portal:
      description:
        - True when Cinder gave only the singular C(target_portal) keys (plural keys absent or V(null)). Other paths may then exist
          and can be found with SendTargets discovery (see M(cinder_local.iscsi_multipath.iscsi_discovery)).
      type: bool
      sample: false
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    TargetsError,
    normalize_connection_info,
)


def iscsi_targets(connection_info):
    """Filter: normalize_connection_info with Ansible's error type."""
    try:
        return normalize_connection_info(connection_info)
    except TargetsError as exc:
        raise AnsibleFilterError('iscsi_targets: %s' % exc) from None


class FilterModule:
    """iSCSI filters."""

    def filters(self):
        return {'iscsi_targets': iscsi_targets}
