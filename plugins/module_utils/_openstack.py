# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.
"""Base class of the collection's OpenStack modules (controller side, uses openstacksdk)."""

from __future__ import annotations

import importlib
import importlib.metadata
import re

from ansible.module_utils.basic import AnsibleModule

MINIMUM_SDK_VERSION = (1, 0, 0)

# Keys of a cloud dict whose values are secrets (masked in every module result).
SECRET_KEY_RE = re.compile(r"password|secret|token|passcode|key$", re.IGNORECASE)

# Options that a cloud dict replaces, and the connect() keyword each maps to.
CONNECTION_OPTIONS = {
    "auth": "auth",
    "auth_type": "auth_type",
    "region_name": "region_name",
    "ca_cert": "cacert",
    "client_cert": "cert",
    "client_key": "key",
    "api_timeout": "api_timeout",
}
CONNECTION_DEFAULTS = {"interface": "public", "validate_certs": True}


def openstack_argument_spec():
    """Options documented by the cinder_local.iscsi_multipath.openstack doc fragment."""
    return dict(
        cloud=dict(type="raw"),
        auth=dict(type="dict", no_log=True),
        auth_type=dict(type="str"),
        region_name=dict(type="str"),
        interface=dict(type="str", default="public", choices=["admin", "internal", "public"],
                       aliases=["endpoint_type"]),
        validate_certs=dict(type="bool", default=True, aliases=["verify"]),
        ca_cert=dict(type="path", aliases=["cacert"]),
        client_cert=dict(type="path", aliases=["cert"]),
        client_key=dict(type="path", no_log=False, aliases=["key"]),
        api_timeout=dict(type="int"),
    )


def secret_values(data):
    """Every string under a secret-looking key of a nested dict/list (a cloud config)."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and value and SECRET_KEY_RE.search(str(key)):
                found.append(value)
            else:
                found.extend(secret_values(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(secret_values(item))
    return found


def connect_kwargs(params):
    """Keyword arguments for openstack.connect() from the module options.

    Raises ValueError when a cloud dict is combined with options it replaces.
    """
    cloud = params.get("cloud")
    if isinstance(cloud, dict):
        clashing = [name for name in CONNECTION_OPTIONS if params.get(name) is not None]
        clashing += [name for name, default in CONNECTION_DEFAULTS.items() if params.get(name) != default]
        if clashing:
            raise ValueError(
                "cloud is a dict (a complete cloud config), so these options must be left out: %s"
                % ", ".join(sorted(clashing)))
        return dict(cloud)
    if cloud is not None and not isinstance(cloud, str):
        raise ValueError("cloud must be the name of a cloud in clouds.yaml or a dict, got %s"
                         % type(cloud).__name__)
    kwargs = {kwarg: params[name] for name, kwarg in CONNECTION_OPTIONS.items() if params.get(name) is not None}
    if cloud:
        kwargs["cloud"] = cloud
    kwargs["interface"] = params["interface"]
    kwargs["verify"] = params["validate_certs"]
    return kwargs


def version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


class OpenStackModule:
    """Parses the shared options, connects with openstacksdk, then calls run().

    Subclasses set argument_spec / module_kwargs and implement run().
    """

    argument_spec = {}
    module_kwargs = {}

    def __init__(self):
        spec = openstack_argument_spec()
        spec.update(self.argument_spec)
        self.ansible = AnsibleModule(argument_spec=spec, **self.module_kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        for value in secret_values(self.params.get("cloud")):
            self.ansible.no_log_values.add(value)
        self.sdk = None
        self.ksa_exceptions = None
        self.conn = None

    def fail(self, msg, **kwargs):
        self.ansible.fail_json(msg=msg, **kwargs)

    def import_sdk(self):
        """openstacksdk and keystoneauth1, imported on first use (as openstack.cloud does)."""
        try:
            sdk = importlib.import_module("openstack")
            sdk_version = importlib.metadata.version("openstacksdk")
            ksa_exceptions = importlib.import_module("keystoneauth1.exceptions")
        except (ImportError, importlib.metadata.PackageNotFoundError) as exc:
            self.fail("openstacksdk >= %s is required on the controller for this module: %s"
                      % (".".join(map(str, MINIMUM_SDK_VERSION)), exc))
        if version_tuple(sdk_version) < MINIMUM_SDK_VERSION:
            self.fail("openstacksdk >= %s is required, found %s"
                      % (".".join(map(str, MINIMUM_SDK_VERSION)), sdk_version))
        return sdk, ksa_exceptions

    def connect(self):
        """Return an openstack.connection.Connection, or fail with a clear message."""
        self.sdk, self.ksa_exceptions = self.import_sdk()
        try:
            kwargs = connect_kwargs(self.params)
        except ValueError as exc:
            self.fail(str(exc))
        try:
            self.conn = self.sdk.connect(**kwargs)
        except Exception as exc:  # openstacksdk/keystoneauth raise many types for a bad config
            self.fail("cannot configure the OpenStack connection: %s: %s" % (type(exc).__name__, exc))
        return self.conn

    def run(self):
        raise NotImplementedError

    def __call__(self):
        self.run()
