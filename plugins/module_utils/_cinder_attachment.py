# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.
"""Pure decisions of cinder_attachment: which attachment is this host's, what to mask."""

from __future__ import annotations

import copy

MASK = "********"
SECRET_CONNECTION_KEYS = ("auth_password", "discovery_auth_password")
# Attachment states that no longer hold the volume.
GONE_STATES = ("detached", "deleted", "error_detaching")


class AttachmentConflict(Exception):
    """The volume is held in a way this module must not take over."""


def attached_hosts(volume):
    """{attachment_id: host_name or None} of the volume's attached attachments.

    Cinder names the host only to admins and services; others see None.
    """
    return {a.get("attachment_id"): a.get("host_name") for a in volume.get("attachments") or []}


def select_attachment(volume, attachments, host_name, attachment_id=None):
    """Return this host's attachment among `attachments` (GET /attachments/detail), or None.

    Raises AttachmentConflict when the volume is held by another host, or by a host Cinder
    does not name to this user, so that neither reuse nor a new attachment is safe.
    """
    live = [a for a in attachments if a.get("status") not in GONE_STATES]
    if attachment_id:
        return not_nova(volume, next((a for a in live if a.get("id") == attachment_id), None))
    hosts = attached_hosts(volume)
    mine = [a for a in live if a.get("id") in hosts and hosts[a["id"]] == host_name]
    if mine:
        return mine[0]
    if volume.get("multiattach"):
        return None
    attached = [a for a in live if a.get("id") in hosts]
    if attached:
        other = attached[0]
        owner = hosts[other["id"]]
        if owner:
            raise AttachmentConflict("volume %s is attached to host %s (attachment %s) and is not multiattach"
                                     % (volume["id"], owner, other["id"]))
        raise AttachmentConflict("volume %s is attached (attachment %s) to a host Cinder does not name to this "
                                 "user; pass attachment_id to act on that attachment" % (volume["id"], other["id"]))
    pending = [a for a in live if a.get("id") not in hosts]
    if len(pending) == 1:
        # A volume that is not multiattach holds one pending attachment at most, and Cinder does
        # not show whose it is: this host's earlier run is the one that made it, unless Nova's.
        return not_nova(volume, pending[0])
    if pending:
        raise AttachmentConflict("volume %s has %d pending attachments (%s); pass attachment_id"
                                 % (volume["id"], len(pending), ", ".join(sorted(a["id"] for a in pending))))
    return None


def not_nova(volume, attachment):
    """The attachment, unless it belongs to a Nova instance: that one is never taken over."""
    if attachment and attachment.get("instance"):
        raise AttachmentConflict("attachment %s of volume %s belongs to instance %s (Nova's); it is not taken over"
                                 % (attachment["id"], volume["id"], attachment["instance"]))
    return attachment


def legacy_attachment(volume, host_name, attachment_id=None):
    """This host's entry of volume['attachments'] (legacy API), or None."""
    for entry in volume.get("attachments") or []:
        if attachment_id and entry.get("attachment_id") == attachment_id:
            return entry
        if not attachment_id and entry.get("host_name") == host_name:
            return entry
    return None


def has_connection(attachment):
    """True when Cinder returned connection details (an attachment made without connector has none)."""
    return bool(attachment and attachment.get("connection_info"))


def mask_secrets(data):
    """Deep copy of connection_info (flat or with 'data') with the CHAP passwords masked."""
    masked = copy.deepcopy(data)
    for holder in (masked, masked.get("data") if isinstance(masked, dict) else None):
        if isinstance(holder, dict):
            for key in SECRET_CONNECTION_KEYS:
                if holder.get(key):
                    holder[key] = MASK
    return masked


def mask_auth(auth):
    """Copy of a normalized auth dict ({method, username, password}) with the password masked."""
    if not auth:
        return auth
    return dict(auth, password=MASK)


def connection_secrets(connection_info):
    """Every CHAP password in a connection_info (flat or with 'data')."""
    found = []
    for holder in (connection_info, (connection_info or {}).get("data")):
        if isinstance(holder, dict):
            found.extend(holder[key] for key in SECRET_CONNECTION_KEYS if holder.get(key))
    return found
