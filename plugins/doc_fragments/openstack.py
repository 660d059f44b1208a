# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options shared by the collection's OpenStack modules."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - Name of a cloud in C(clouds.yaml), or a dict holding one complete cloud entry as
        C(clouds.yaml) would.
      - Without it (and without O(auth)), C(OS_CLOUD) and the other C(OS_*) environment
        variables are used.
      - When it is a dict, O(auth), O(auth_type), O(region_name), O(ca_cert), O(client_cert),
        O(client_key) and O(api_timeout) must be left unset and O(interface) and
        O(validate_certs) at their defaults; the dict carries those settings itself.
    type: raw
  auth:
    description:
      - Credentials for the auth plugin named by O(auth_type). For the default C(password)
        plugin C(auth_url), C(username), C(password), C(project_name) and the domain keys
        (C(user_domain_name), C(project_domain_name)).
      - Not needed when O(cloud) or C(OS_*) environment variables provide them.
    type: dict
  auth_type:
    description:
      - Name of the keystoneauth plugin, for example V(password), V(token) or V(v3applicationcredential).
    type: str
  region_name:
    description:
      - Region whose block-storage endpoint is used.
    type: str
  interface:
    description:
      - Which endpoint of the service catalog to use.
    type: str
    choices: [admin, internal, public]
    default: public
    aliases: [endpoint_type]
  validate_certs:
    description:
      - Whether TLS certificates of the API endpoints are verified.
      - This value overrides C(verify) of a named cloud in C(clouds.yaml).
    type: bool
    default: true
    aliases: [verify]
  ca_cert:
    description:
      - Path of a CA bundle used to verify the API endpoints.
    type: path
    aliases: [cacert]
  client_cert:
    description:
      - Path of a client certificate presented to the API endpoints.
    type: path
    aliases: [cert]
  client_key:
    description:
      - Path of the key of O(client_cert).
    type: path
    aliases: [key]
  api_timeout:
    description:
      - Seconds to wait for each API response. Unset means no timeout.
    type: int
requirements:
  - openstacksdk >= 1.0.0 on the controller (the host the module runs on)
notes:
  - Connection settings are looked up the openstacksdk way, from C(clouds.yaml) in the current
    directory, C(~/.config/openstack/) and C(/etc/openstack/), then from C(OS_*) environment
    variables, then from the options of the task.
"""
