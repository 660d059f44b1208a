# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lab only: register Cinder in the Keystone catalog, wait for both backends, create the volume types.

usage: OS_CLIENT_CONFIG_FILE=clouds.yaml python register.py CLOUD CINDER_URL TIMEOUT
"""

import json
import os
import sys
import time
import urllib.request

import yaml

VOLUME_TYPES = ("two-portal", "single-portal")  # one backend each, same names


def request(method, url, token=None, body=None):
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as response:
        text = response.read().decode()
        return response.headers, json.loads(text) if text else None


def main():
    cloud_name, cinder_url, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(os.environ["OS_CLIENT_CONFIG_FILE"]) as handle:
        auth = yaml.safe_load(handle)["clouds"][cloud_name]["auth"]
    scope = {"project": {"name": auth["project_name"], "domain": {"name": auth["project_domain_name"]}}}
    user = {"name": auth["username"], "password": auth["password"], "domain": {"name": auth["user_domain_name"]}}
    headers, body = request("POST", auth["auth_url"] + "/auth/tokens", body={"auth": {
        "identity": {"methods": ["password"], "password": {"user": user}}, "scope": scope}})
    token, project = headers["X-Subject-Token"], body["token"]["project"]["id"]

    keystone = auth["auth_url"]
    dummy, service = request("POST", keystone + "/services", token,
                             {"service": {"type": "block-storage", "name": "cinder", "enabled": True}})
    for interface in ("public", "internal", "admin"):
        request("POST", keystone + "/endpoints", token, {"endpoint": {
            "service_id": service["service"]["id"], "interface": interface, "region_id": "RegionOne",
            "url": cinder_url + "/v3/%(project_id)s"}})

    api = "%s/v3/%s" % (cinder_url, project)
    start = time.time()
    while True:
        dummy, services = request("GET", api + "/os-services", token)
        up = {s["host"].split("@")[-1] for s in services["services"]
              if s["binary"] == "cinder-volume" and s["state"] == "up"}
        if up >= set(VOLUME_TYPES):
            break
        if time.time() - start > timeout:
            sys.exit("cinder-volume backends not up after %.0f s: %s" % (timeout, sorted(up)))
        time.sleep(0.5)
    print("cinder-volume backends up %.1f s after the API" % (time.time() - start), file=sys.stderr)

    for name in VOLUME_TYPES:
        dummy, created = request("POST", api + "/types", token, {"volume_type": {
            "name": name, "extra_specs": {"volume_backend_name": name}}})
        print("volume type %s: %s" % (name, created["volume_type"]["id"]), file=sys.stderr)


if __name__ == "__main__":
    main()
