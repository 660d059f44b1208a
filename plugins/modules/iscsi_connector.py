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
  - Changes nothing on the host.
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._attributes.INFO_MODULE
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
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.iscsi_session
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
  description: Whether multipathd answered.
  returned: success
  type: bool
  sample: true
"""

import platform
import socket
import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._connector_ip import (
    check_portals,
    find_connector_ip,
)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    TargetsError,
    is_standard_iscsi_name,
)


class InitiatorError(Exception):
    """The initiator name file is missing or malformed."""


def parse_initiator_name(text, path):
    """The IQN from an initiatorname.iscsi file; raise InitiatorError naming the file otherwise."""
    names = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            key, sep, value = line.partition('=')
            if sep and key.strip() == 'InitiatorName':
                names.append(value.strip())
    if not names:
        raise InitiatorError('%s has no InitiatorName= line (generate one with iscsi-iname)' % path)
    if len(names) > 1:
        raise InitiatorError('%s has %d InitiatorName= lines, expected one' % (path, len(names)))
    if not is_standard_iscsi_name(names[0]):
        raise InitiatorError('%s: InitiatorName %r is not an iSCSI name (iqn./eui./naa.)' % (path, names[0]))
    return names[0]


def read_initiator_name(path):
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        raise InitiatorError('cannot read %s (is open-iscsi installed?): %s' % (path, exc.strerror)) from None
    return parse_initiator_name(text, path)


def connector_ip(module, ip, portals):
    """O(ip) as given; else the source address towards the storage (or of the default route)."""
    try:
        addresses = check_portals(portals)
    except TargetsError as exc:
        module.fail_json(msg=str(exc))
    if ip:
        return ip
    try:
        return find_connector_ip(module, addresses)
    except CommandError as exc:
        module.fail_json(**exc.fail_kwargs())


def multipathd_running(module):
    if not module.get_bin_path('multipathd'):
        return False
    return Multipath(module, timeout=10).is_running()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            initiator_file=dict(type='path', default='/etc/iscsi/initiatorname.iscsi'),
            ip=dict(type='str'),
            portals=dict(type='list', elements='str'),
            host=dict(type='str'),
            multipath=dict(type='bool', default=True),
            enforce_multipath=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        initiator = read_initiator_name(params['initiator_file'])
    except InitiatorError as exc:
        module.fail_json(msg=str(exc))
    ip = connector_ip(module, params['ip'], params['portals'])
    running = multipathd_running(module)
    if params['multipath'] and not running:
        if params['enforce_multipath']:
            module.fail_json(msg='enforce_multipath is true but multipathd does not answer (multipathd show status)')
        module.warn('multipathd does not answer: reporting multipath=false, Cinder will give one portal')
    host = params['host'] or socket.gethostname()
    connector = {
        'initiator': initiator,
        'ip': ip,
        'host': host,
        'multipath': bool(params['multipath'] and running),
        'enforce_multipath': params['enforce_multipath'],
        'platform': platform.machine(),
        'os_type': sys.platform,
        'do_local_attach': False,
    }
    module.exit_json(changed=False, connector=connector, multipathd_running=running)


if __name__ == '__main__':
    main()
