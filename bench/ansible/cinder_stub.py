# Benchmark-only stand-in for cinder_attachment: bench/run.sh copies it over
# plugins/modules/cinder_attachment.py in the throw-away collection tree it benchmarks, so
# the volume_attach/volume_detach roles are timed against the same tgt targets and
# connection_info as os-brick, without Cinder API latency. Never part of the collection.
from __future__ import annotations

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import (
    normalize_connection_info,
)

DOCUMENTATION = r"""
module: cinder_attachment
short_description: Benchmark stand-in, answers from connection_info files
description: Reads C($BENCH_CI_DIR/<volume>.json) instead of asking Cinder.
options:
  volume: {description: Volume id., type: str, required: true}
  state: {description: Attachment state., type: str, default: present}
author: [cinder_local maintainers]
"""


IGNORED = ("attachment_id", "connector", "mode", "api", "return_secrets", "mountpoint", "host_name",
           "max_microversion", "cloud", "auth_type", "region_name", "interface", "validate_certs",
           "ca_cert", "client_cert", "client_key", "api_timeout")


def main():
    spec = {"volume": {"type": "str", "required": True},
            "state": {"type": "str", "default": "present"},
            "auth": {"type": "raw", "no_log": True}}
    spec.update((name, {"type": "raw"}) for name in IGNORED)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    volume, state = module.params["volume"], module.params["state"]
    result = {"changed": state != "attached", "attachment_id": "bench-" + volume,
              "api": "attachments", "microversion": "3.54",
              "status": {"present": "attaching", "attached": "attached"}.get(state, "deleted")}
    if state == "present":
        path = os.path.join(os.environ.get("BENCH_CI_DIR", "/nonexistent"), volume + ".json")
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
        result.update(normalize_connection_info(info))
        result["connection_info"] = {"driver_volume_type": "iscsi"}
        result["host_volume"] = {"volume_id": volume, "attachment_id": result["attachment_id"],
                                 "targets": result["targets"], "auth": result["auth"],
                                 "discovery_auth": result["discovery_auth"], "size_bytes": None}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
