# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.
"""SendTargets discovery that only adds node records, and deletes again the ones it made for other targets."""

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import find_session
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import target_lock

DISCOVERY_LOCK = 'sendtargets'  # the lock of a portal's discovery: <lock_dir>/iscsi-<portal>-sendtargets.lock


def new_records(before, after):
    """Records present after and not before (compared on portal and iqn)."""
    known = set((record['portal'], record['iqn']) for record in before)
    return [record for record in after if (record['portal'], record['iqn']) not in known]


def delete_unwanted(iscsiadm, created, iqn):
    """Delete the records just created for targets other than iqn that have no session; return them."""
    unwanted = [record for record in created if iqn and record['iqn'] != iqn]
    sessions = iscsiadm.sessions() if unwanted else []
    deleted = [record for record in unwanted if not find_session(sessions, record['portal'], record['iqn'])]
    for record in deleted:
        iscsiadm.node_delete(record['portal'], record['iqn'])
    return deleted


def discover(iscsiadm, portal, iqn, auth, iface, lock_dir, lock_timeout):
    """Discovery on portal under its lock -> {targets, created, deleted}; with iqn, only its new records are kept."""
    before = iscsiadm.records()
    with target_lock(portal, DISCOVERY_LOCK, lock_dir, lock_timeout):
        targets = iscsiadm.discover(portal, auth, iface)
        created = new_records(before, iscsiadm.records())
        deleted = delete_unwanted(iscsiadm, created, iqn)
    return {'targets': targets, 'created': [record for record in created if record not in deleted], 'deleted': deleted}
