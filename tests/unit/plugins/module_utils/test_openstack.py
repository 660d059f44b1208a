# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_openstack: how module options become openstack.connect() arguments."""

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._openstack import (
    connect_kwargs,
    openstack_argument_spec,
    secret_values,
)


def params(**given):
    values = {name: spec.get("default") for name, spec in openstack_argument_spec().items()}
    values.update(given)
    return values


def test_named_cloud_with_overrides():
    assert connect_kwargs(params(cloud="lab", region_name="RegionOne", ca_cert="/ca.pem", api_timeout=30)) == {
        "cloud": "lab", "region_name": "RegionOne", "cacert": "/ca.pem", "api_timeout": 30,
        "interface": "public", "verify": True}


def test_environment_only():
    assert connect_kwargs(params()) == {"interface": "public", "verify": True}


def test_explicit_auth():
    auth = {"auth_url": "http://127.0.0.1:5000/v3", "username": "admin", "password": "secret"}
    assert connect_kwargs(params(auth=auth, auth_type="password", validate_certs=False, client_cert="/c",
                                 client_key="/k")) == {
        "auth": auth, "auth_type": "password", "cert": "/c", "key": "/k", "interface": "public", "verify": False}


def test_cloud_dict_is_used_as_is():
    cloud = {"auth": {"auth_url": "http://127.0.0.1:5000/v3", "token": "t"}, "auth_type": "token"}
    assert connect_kwargs(params(cloud=cloud)) == cloud


def test_cloud_dict_refuses_overrides():
    with pytest.raises(ValueError, match="must be left out: interface, region_name, validate_certs"):
        connect_kwargs(params(cloud={"auth": {}}, region_name="r", interface="internal", validate_certs=False))


def test_cloud_of_wrong_type():
    with pytest.raises(ValueError, match="got list"):
        connect_kwargs(params(cloud=["lab"]))


def test_secret_values_of_a_cloud_dict():
    cloud = {"auth": {"username": "admin", "password": "pw", "application_credential_secret": "s"},
             "profiles": [{"token": "tk"}], "key": "/path/key.pem", "region_name": "RegionOne"}
    assert sorted(secret_values(cloud)) == ["/path/key.pem", "pw", "s", "tk"]
