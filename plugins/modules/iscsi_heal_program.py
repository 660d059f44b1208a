#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iscsi_heal_program
short_description: Install the program that heals the attached iSCSI volumes at boot, without Ansible
version_added: 0.1.0
description:
  - Writes one Python zipapp to O(path) - the heal of M(cinder_local.iscsi_multipath.iscsi_volume_heal), the very
    same code (this collection's module_utils, standard library only), with a loop around it for systemd.
  - Run as C(python3 PATH [CONFIG]) by the initiator role's C(cinder-local-iscsi-heal.service). Each pass reads the
    attach records, logs in to the portals of a volume without a session, scans only the recorded LUN on each of its
    sessions, adds the devices whose WWID is the record's to the map of that WWID (a device showing another WWID is
    never mapped) and logs each volume's health. After the first pass it tells systemd it is ready; it then repeats
    the pass every C(retry_interval) seconds while a volume has a path to bring back (a storage network down at
    boot), so that the path joins when the network returns, for at most C(retry_for) seconds (0 - until every path
    is back).
  - CONFIG (default C(/etc/cinder_local/iscsi-heal.json)) is a JSON object with the options of
    M(cinder_local.iscsi_multipath.iscsi_volume_heal) (C(record_dir), C(volume_ids), C(ifaces), C(iface),
    C(device_timeout), C(map_timeout), C(remove_timeout), C(lock_dir), C(lock_timeout)) and C(retry_interval),
    C(retry_for). Exit status 0 once no volume has a path to bring back, 2 for a bad configuration or a missing
    command, 3 when C(retry_for) ran out.
  - The program holds no secret and logs none - CHAP comes from the node records, as for
    M(cinder_local.iscsi_multipath.iscsi_volume_heal), and is masked in every line it logs.
  - The same collection version always writes the same bytes, so a second run changes nothing.
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  path:
    description:
      - Where to write the program. Its directory is created (mode 0755) when missing. A symbolic link there is
        refused.
    type: path
    default: /usr/local/lib/cinder_local/iscsi-heal.pyz
requirements:
  - python3 on the host at boot (the interpreter that runs this module)
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.iscsi_volume_heal
"""

EXAMPLES = r"""
- name: Install the boot-time heal program
  cinder_local.iscsi_multipath.iscsi_heal_program:
  register: heal_program

- name: Show the command a systemd unit runs
  ansible.builtin.debug:
    msg: "{{ heal_program.python }} {{ heal_program.path }} /etc/cinder_local/iscsi-heal.json"
"""

RETURN = r"""
path:
  description: The program's path.
  returned: always
  type: str
  sample: /usr/local/lib/cinder_local/iscsi-heal.pyz
python:
  description: The Python interpreter that ran this module, to run the program with.
  returned: always
  type: str
  sample: /usr/bin/python3
size_bytes:
  description: The program's size.
  returned: always
  type: int
  sample: 210000
modules:
  description: The collection module_utils the program holds.
  returned: always
  type: list
  elements: str
  sample: [_heal, _heal_service, _volume]
"""

import os
import sys
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._heal_service import (
    program_sources, zipapp_bytes)


def current_bytes(path):
    """The bytes at path, None when there is no file; raise ValueError for a symbolic link or a non-file."""
    if os.path.islink(path):
        raise ValueError('%s is a symbolic link: refused' % path)
    if not os.path.exists(path):
        return None
    if not os.path.isfile(path):
        raise ValueError('%s exists and is not a regular file' % path)
    with open(path, 'rb') as handle:
        return handle.read()


def write_atomically(path, data):
    """data to path through a temporary file in its directory (mode 0755), renamed over it."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix='.iscsi-heal-')
    try:
        with os.fdopen(handle, 'wb') as stream:
            stream.write(data)
        os.chmod(temporary, 0o755)
        os.rename(temporary, path)
    except OSError:
        os.unlink(temporary)
        raise


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type='path', default='/usr/local/lib/cinder_local/iscsi-heal.pyz')),
                           supports_check_mode=True)
    path = module.params['path']
    sources = program_sources()
    data = zipapp_bytes(sources)
    names = sorted(name.rsplit('/', 1)[1][:-3] for name in sources
                   if name.count('/') == 5 and not name.endswith('/__init__.py'))
    result = dict(path=path, python=sys.executable, size_bytes=len(data), modules=names)
    try:
        changed = current_bytes(path) != data
        if changed and not module.check_mode:
            write_atomically(path, data)
            os.chmod(path, 0o755)
    except (OSError, ValueError) as exc:
        module.fail_json(msg='cannot install the heal program at %s: %s' % (path, exc), **result)
    module.exit_json(changed=changed, **result)


if __name__ == '__main__':
    main()
