#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iscsi_connector
short_description: Build the Cinder connector properties of this host
version_added: 0.1.0
description:
  - Returns the connector dictionary Cinder needs to export a volume to this host (the one os-brick's
    C(get_connector_properties) builds), ready for
    M(cinder_local.iscsi_multipath.cinder_attachment) or C(os-initialize_connection).
  - Reads the initiator name from O(initiator_file) and fails clearly when the file is missing or holds
    no valid C(InitiatorName=iqn...) line.
  - Reports C(multipath=true) only when O(multipath) is requested and multipathd answers
    (C(multipathd show status)); with O(enforce_multipath=true) a missing multipathd is an error.
  - Finds the connector C(ip), when O(ip) is not given, in the kernel's routing table (C(ip route get),
    C(ip route show), C(ip addr show)), never from the host name (which resolves to C(127.0.1.1) on Debian).
    These commands only read the kernel's tables; nothing is sent on the network.
  - With O(volume_ids), also reads the attach records of those volumes (RV(records)), so that one task gives
    all a play needs before it asks Cinder.
  - Changes nothing on the host.
  - Runs as an action plugin. The host is read with one shell command (C(cat), C(stat), C(uname), C(ip), C(multipathd),
    each under C(timeout)) and the answer is built on the controller, so no Python starts on the host. A second
    command follows only when a route lookup needs another one (the gateway of the default route, or the portals
    of the records read).
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._attributes.INFO_MODULE
attributes:
  action:
    description: Runs on the controller as an action plugin; the host is only read with shell commands.
    support: full
options:
  initiator_file:
    description: File holding the open-iscsi initiator name.
    type: path
    default: /etc/iscsi/initiatorname.iscsi
  ip:
    description:
      - Address of this host on the storage network, reported as C(ip). Used as given, with no lookup.
      - When not given and O(portals) is, the source address the kernel would use to reach the first portal that
        has a route (C(ip -o route get ADDRESS)). When no portal has one (a storage network down), a warning, and
        the address found as without O(portals).
      - When neither is given, the source address of the default route (IPv4, then IPv6), that is its C(src),
        else the source towards its gateway (C(ip -o route get GATEWAY)); else the first global address of
        C(ip -o addr show scope global). Loopback and link-local addresses are never used. The module fails,
        asking for O(ip), when it finds none.
    type: str
  portals:
    description:
      - Portals of the storage, each C(address:port) or C([ipv6]:port) (for example the C(target_portals) of
        a Cinder C(connection_info)), used to find O(ip) when O(ip) is not given.
      - Checked even when O(ip) is given. An empty list means none.
    type: list
    elements: str
  volume_ids:
    description:
      - Cinder volumes whose attach records are read into RV(records). A volume without a record is left out.
      - The portals of the records read are used, after O(portals), to find O(ip).
    type: list
    elements: str
    default: []
  record_dir:
    description:
      - Directory of the attach records, C(<volume_id>.json), as M(cinder_local.iscsi_multipath.iscsi_volume)
        writes them. A directory others can write, or a record that is not a regular file, names another volume
        or is not valid JSON, fails the task.
    type: path
    default: /var/lib/cinder_local/attachments
  host:
    description: Host name reported to Cinder. Defaults to the system host name.
    type: str
  multipath:
    description: Ask Cinder for every portal of the volume (needs a working multipathd).
    type: bool
    default: true
  enforce_multipath:
    description: Fail when O(multipath=true) but multipathd does not answer.
    type: bool
    default: false
requirements:
  - open-iscsi (initiator name file)
  - iproute2 (the C(ip) command, when O(ip) is not given)
  - multipath-tools (for O(multipath=true))
  - coreutils (C(timeout), C(cat), C(stat), C(uname)) and a POSIX shell
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.iscsi_session
  - module: cinder_local.iscsi_multipath.iscsi_multipath_info
"""

EXAMPLES = r"""
- name: Describe this host to Cinder
  cinder_local.iscsi_multipath.iscsi_connector:
    ip: 192.0.2.10
    enforce_multipath: true
  register: host_connector

- name: Describe this host, reporting the address it reaches the storage from
  cinder_local.iscsi_multipath.iscsi_connector:
    portals:
      - 192.0.2.1:3260
      - "[2001:db8::1]:3260"
  register: host_connector

- name: Describe this host, reporting the source address of its default route
  cinder_local.iscsi_multipath.iscsi_connector:
  register: host_connector

- name: Describe this host and read the attach records of two volumes (one command on the host)
  cinder_local.iscsi_multipath.iscsi_connector:
    volume_ids:
      - 0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11
      - 7c2d9e1f-4a3b-4c5d-8e6f-1a2b3c4d5e6f
  become: true
  register: host_connector

- name: Show the initiator name
  ansible.builtin.debug:
    msg: "{{ host_connector.connector.initiator }}"
"""

RETURN = r"""
connector:
  description: The connector properties, as Cinder expects them.
  returned: success
  type: dict
  contains:
    initiator:
      description: The open-iscsi initiator IQN.
      type: str
      sample: iqn.1993-08.org.debian:01:3f1a2b3c4d5e
    ip:
      description: Address of the host.
      type: str
      sample: 192.0.2.10
    host:
      description: Host name.
      type: str
      sample: compute-1
    multipath:
      description: True when multipath was requested and multipathd answers.
      type: bool
      sample: true
    enforce_multipath:
      description: Copy of O(enforce_multipath).
      type: bool
      sample: false
    platform:
      description: Machine architecture.
      type: str
      sample: x86_64
    os_type:
      description: Operating system type.
      type: str
      sample: linux
    do_local_attach:
      description: Always false (the attach happens on this host, not through a Cinder-side os-brick).
      type: bool
      sample: false
multipathd_running:
  description: Whether multipathd answered (false when O(multipath=false), as it is not asked then).
  returned: success
  type: bool
  sample: true
records:
  description:
    - The attach records of O(volume_ids), by volume ID, as stored (the format
      M(cinder_local.iscsi_multipath.iscsi_multipath_info) documents in its RV(cinder_local.iscsi_multipath.iscsi_multipath_info#module:records)).
      A volume without a record is not in it. No secret is in it.
  returned: when O(volume_ids) is given
  type: dict
  sample: {"0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11": {
            version: 1, volume_id: 0b5f2a4e-8c1d-4f6a-9e3b-2d7c1a9f0e11, attachment_id: 5d1c0e7b-3a2f-4b9c-8d6e-0f1a2b3c4d55,
            targets: [{portal: "192.0.2.1:3260", iqn: "iqn.2010-10.org.openstack:volume-1", lun: 1}]}}
"""
