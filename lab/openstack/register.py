# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lab only: register Cinder in the Keystone catalog, wait for both backends, create the volume types.

Every step finds what is already there first, so a retried or repeated run changes nothing twice.

usage: OS_CLIENT_CONFIG_FILE=clouds.yaml python register.py CLOUD CINDER_URL TIMEOUT
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

import yaml

VOLUME_TYPES = ("two-portal", "single-portal")  # one backend each, same names
# Extra volume types on those backends: {name: extra specs}.
EXTRA_VOLUME_TYPES = {"multiattach": {"volume_backend_name": "two-portal", "multiattach": "<is> True"}}


RETRIES = 5  # a busy lab (TCG guests on the same cores) makes SQLite-backed services slow, not wrong


def request(method, url, token=None, body=None):
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            text = response.read().decode()
            return response.headers, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        raise RuntimeError("%s %s: HTTP %s %s" % (method, url, err.code, err.read().decode(errors="replace")))


def ensure(what, find, create):
    """find() the object, else create() it; a failed create is retried only while find() still misses."""
    for attempt in range(RETRIES):
        found = find()
        if found:
            return found
        try:
            return create()
        except (RuntimeError, OSError) as err:
            print("%s: attempt %d: %s" % (what, attempt + 1, err), file=sys.stderr)
            time.sleep(2 ** attempt)
    found = find()
    if not found:
        sys.exit("%s: not created after %d attempts" % (what, RETRIES))
    return found


def register_catalog(keystone, token, cinder_url):
    """The block-storage service and its three endpoints, each made once."""
    def find_service():
        services = request("GET", keystone + "/services?type=block-storage", token)[1]["services"]
        return services[0] if services else None

    service = ensure("service block-storage", find_service, lambda: request(
        "POST", keystone + "/services", token,
        {"service": {"type": "block-storage", "name": "cinder", "enabled": True}})[1]["service"])
    endpoints_url = keystone + "/endpoints?service_id=" + service["id"]
    for interface in ("public", "internal", "admin"):
        ensure("endpoint " + interface, lambda: [
            e for e in request("GET", endpoints_url, token)[1]["endpoints"] if e["interface"] == interface
        ], lambda: request("POST", keystone + "/endpoints", token, {"endpoint": {
            "service_id": service["id"], "interface": interface, "region_id": "RegionOne",
            "url": cinder_url + "/v3/%(project_id)s"}}))


def wait_for_backends(api, token, timeout):
    start = time.time()
    while True:
        services = request("GET", api + "/os-services", token)[1]["services"]
        up = {s["host"].split("@")[-1] for s in services
              if s["binary"] == "cinder-volume" and s["state"] == "up"}
        if up >= set(VOLUME_TYPES):
            break
        if time.time() - start > timeout:
            sys.exit("cinder-volume backends not up after %.0f s: %s" % (timeout, sorted(up)))
        time.sleep(0.5)
    print("cinder-volume backends up %.1f s after the API" % (time.time() - start), file=sys.stderr)


def create_volume_types(api, token):
    """One volume type per backend, named after it, and the extra types; an existing one is kept as it is."""
    def find(name):
        types = request("GET", api + "/types?is_public=None", token)[1]["volume_types"]
        return next((t for t in types if t["name"] == name), None)

    specs = dict(((name, {"volume_backend_name": name}) for name in VOLUME_TYPES), **EXTRA_VOLUME_TYPES)
    for name, extra_specs in specs.items():
        created = ensure("volume type " + name, lambda: find(name), lambda: request(
            "POST", api + "/types", token,
            {"volume_type": {"name": name, "extra_specs": extra_specs}})[1]["volume_type"])
        print("volume type %s: %s" % (name, created["id"]), file=sys.stderr)


def main():
    cloud_name, cinder_url, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(os.environ["OS_CLIENT_CONFIG_FILE"]) as handle:
        auth = yaml.safe_load(handle)["clouds"][cloud_name]["auth"]
    scope = {"project": {"name": auth["project_name"], "domain": {"name": auth["project_domain_name"]}}}
    user = {"name": auth["username"], "password": auth["password"], "domain": {"name": auth["user_domain_name"]}}
    headers, body = request("POST", auth["auth_url"] + "/auth/tokens", body={"auth": {
        "identity": {"methods": ["password"], "password": {"user": user}}, "scope": scope}})
    token, project = headers["X-Subject-Token"], body["token"]["project"]["id"]

    register_catalog(auth["auth_url"], token, cinder_url)
    api = "%s/v3/%s" % (cinder_url, project)
    wait_for_backends(api, token, timeout)
    create_volume_types(api, token)


if __name__ == "__main__":
    main()
