# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.
"""Cinder block-storage v3 REST calls: errors, microversions, retries, volume look-up."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import quote, urlencode

ATTACHMENTS_MICROVERSION = (3, 27)  # attachments API
COMPLETE_MICROVERSION = (3, 44)     # POST /attachments/{id}/action os-complete
MODE_MICROVERSION = (3, 54)         # "mode" in the attachment create body
EXTEND_IN_USE_MICROVERSION = (3, 42)  # os-extend of an in-use volume

# Pause before each retry of an idempotent call after a timeout or a 5xx answer.
RETRY_DELAYS = (1.0, 2.0, 4.0)

UUID_RE = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.IGNORECASE)


class CinderError(Exception):
    """A failed Cinder call: what was tried, the HTTP status and Cinder's own message."""

    def __init__(self, action, status, message):
        self.action = action
        self.status = status
        self.message = message
        super().__init__(self.describe())

    def describe(self):
        if self.status is None:
            return "%s failed: %s" % (self.action, self.message)
        return "%s failed: Cinder answered %s: %s" % (self.action, self.status, self.message)


def error_message(status, text):
    """Cinder's message from an error body ({"badRequest": {"code", "message"}}, {"error": ...})."""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict) and len(body) == 1:
        detail = next(iter(body.values()))
        if isinstance(detail, dict) and detail.get("message"):
            return str(detail["message"])
    text = (text or "").strip()
    return text[:300] if text else "HTTP %s with an empty body" % status


def microversion_tuple(text):
    """'3.54' -> (3, 54); None or '' -> None."""
    if not text:
        return None
    match = re.match(r"^(\d+)\.(\d+)$", str(text).strip())
    if not match:
        raise ValueError("a microversion looks like 3.54, got %r" % (text,))
    return int(match.group(1)), int(match.group(2))


def microversion_text(version):
    return "%d.%d" % version


def negotiate_microversion(server_min, server_max, wanted, cap=None):
    """Highest version <= wanted (and <= cap) the server supports, or None."""
    best = min(v for v in (wanted, server_max, cap) if v is not None)
    if server_min is not None and best < server_min:
        return None
    return best


def is_uuid(text):
    return bool(UUID_RE.match(text or ""))


class CinderClient:
    """Thin layer over a keystoneauth Adapter bound to the block-storage endpoint.

    `_send` is the single seam to the network; unit tests replace it.
    """

    def __init__(self, adapter, retriable_errors=(), sleep=time.sleep):
        self.adapter = adapter
        self.retriable_errors = tuple(retriable_errors)
        self.sleep = sleep

    def _send(self, method, path, body=None, microversion=None):
        """Return (status, body text) of one HTTP request."""
        kwargs = {"raise_exc": False}
        if microversion:
            kwargs["microversion"] = microversion
        if body is not None:
            kwargs["json"] = body
        response = self.adapter.request(path, method, **kwargs)
        return response.status_code, response.text

    def server_microversions(self):
        """(min, max) microversions the endpoint announces, as tuples."""
        data = self.adapter.get_endpoint_data()
        if data is None or not data.max_microversion:
            return None, None
        return tuple(data.min_microversion or (3, 0))[:2], tuple(data.max_microversion)[:2]

    def call(self, action, method, path, body=None, microversion=None, idempotent=False):
        """Do one call; retry idempotent ones on timeouts and 5xx. Return the parsed body or None."""
        delays = RETRY_DELAYS if idempotent else ()
        attempt = 0
        while True:
            retry_allowed = attempt < len(delays)
            try:
                status, text = self._send(method, path, body, microversion)
            except self.retriable_errors as exc:
                if not retry_allowed:
                    raise CinderError(action, None, "no answer from Cinder: %s" % exc)
            else:
                if status < 400:
                    return json.loads(text) if text else None
                if status < 500 or not retry_allowed:
                    raise CinderError(action, status, error_message(status, text))
            self.sleep(delays[attempt])
            attempt += 1

    # Volumes -------------------------------------------------------------------------------

    def get_volume(self, volume_id):
        return self.call("show volume %s" % volume_id, "GET", "/volumes/%s" % quote(volume_id),
                         idempotent=True)["volume"]

    def find_volume(self, name_or_id):
        """The volume with this id, or the single volume with this name."""
        if is_uuid(name_or_id):
            try:
                return self.get_volume(name_or_id)
            except CinderError as exc:
                if exc.status != 404:
                    raise
        found = self.call("find volume %s" % name_or_id, "GET",
                          "/volumes/detail?%s" % urlencode({"name": name_or_id}), idempotent=True)
        volumes = [v for v in found["volumes"] if v.get("name") == name_or_id]
        if not volumes:
            raise CinderError("find volume %s" % name_or_id, 404, "no volume has this name or id")
        if len(volumes) > 1:
            raise CinderError("find volume %s" % name_or_id, 409,
                              "%d volumes have this name (%s); give the id" % (
                                  len(volumes), ", ".join(sorted(v["id"] for v in volumes))))
        return volumes[0]

    def volume_action(self, volume_id, action, value, idempotent=False, microversion=None):
        return self.call(action, "POST", "/volumes/%s/action" % quote(volume_id), {action: value},
                         idempotent=idempotent, microversion=microversion)

    def extend_volume(self, volume_id, new_size, microversion=None):
        """os-extend to new_size GiB (202, no body); never repeated (a second one would fail or extend again)."""
        self.volume_action(volume_id, "os-extend", {"new_size": new_size}, microversion=microversion)

    # Attachments (microversion >= 3.27) -----------------------------------------------------

    def list_attachments(self, volume_id, microversion):
        return self.call("list attachments of volume %s" % volume_id, "GET",
                         "/attachments/detail?%s" % urlencode({"volume_id": volume_id}),
                         microversion=microversion, idempotent=True)["attachments"]

    def create_attachment(self, volume_id, connector, mode, microversion):
        body = {"volume_uuid": volume_id, "connector": connector}
        if mode is not None:
            body["mode"] = mode
        return self.call("create attachment", "POST", "/attachments", {"attachment": body},
                         microversion=microversion)["attachment"]

    def update_attachment(self, attachment_id, connector, microversion):
        return self.call("update attachment %s" % attachment_id, "PUT",
                         "/attachments/%s" % quote(attachment_id), {"attachment": {"connector": connector}},
                         microversion=microversion)["attachment"]

    def complete_attachment(self, attachment_id, microversion):
        self.call("complete attachment %s" % attachment_id, "POST", "/attachments/%s/action" % quote(attachment_id),
                  {"os-complete": None}, microversion=microversion, idempotent=True)

    def delete_attachment(self, attachment_id, microversion):
        """Delete; True if it was there, False if Cinder no longer knows it (404)."""
        try:
            self.call("delete attachment %s" % attachment_id, "DELETE", "/attachments/%s" % quote(attachment_id),
                      microversion=microversion, idempotent=True)
        except CinderError as exc:
            if exc.status == 404:
                return False
            raise
        return True
