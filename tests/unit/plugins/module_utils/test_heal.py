# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""heal_volumes: volumes on sessions of their own heal at once (a boot with a network down waits out one dead
login, not one per volume); volumes that share a session heal one after the other."""

from __future__ import annotations

import threading

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _heal


class FakeModule:
    params = {'lock_dir': '/nonexistent', 'lock_timeout': 1}


def _record(volume_id, iqn):
    return {'volume_id': volume_id, 'targets': [{'portal': '192.0.2.1:3260', 'iqn': iqn, 'lun': 1},
                                                {'portal': '198.51.100.1:3260', 'iqn': iqn, 'lun': 1}]}


def _heal_all(monkeypatch, records, wait):
    """heal_volumes over records with a heal_one that waits for a second one to start (wait s at most); the volume
    ids in the order their heals started, and whether two ran at once."""
    started, overlapped = [], []
    both = threading.Barrier(2, timeout=wait)

    def heal_one(manager, record, params):
        started.append(record['volume_id'])
        try:
            both.wait()
            overlapped.append(True)
        except threading.BrokenBarrierError:
            pass
        return {'changed': True}
    monkeypatch.setattr(_heal, 'heal_one', heal_one)
    results = _heal.heal_volumes(FakeModule(), (None, None, None, None),
                                 [(record, {'status': 'degraded'}) for record in records])
    assert [(r['volume_id'], r['status_before'], r['changed']) for r in results] == [
        (record['volume_id'], 'degraded', True) for record in records]
    return started, bool(overlapped)


def test_volumes_on_their_own_sessions_heal_at_once(monkeypatch):
    dummy, overlapped = _heal_all(monkeypatch, [_record('v1', 'iqn.2010-10.org.openstack:volume-1'),
                                                _record('v2', 'iqn.2010-10.org.openstack:volume-2')], 10)
    assert overlapped


def test_volumes_sharing_a_session_heal_one_after_the_other(monkeypatch):
    started, overlapped = _heal_all(monkeypatch, [_record('v1', 'iqn.2010-10.org.openstack:shared'),
                                                  _record('v2', 'iqn.2010-10.org.openstack:shared')], 0.2)
    assert started == ['v1', 'v2'] and not overlapped
