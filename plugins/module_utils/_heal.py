# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.
"""One heal pass over the attach records (iscsi_volume_heal and the boot-time heal service run the same code)."""

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._health import (
    needs_heal, problem_lines, read_health, read_sessions, summary_lines)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._ifaces import ifaces_problem
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import (
    LockError, lock_argument_spec, targets_locked)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._records import (
    DEFAULT_RECORD_DIR, read_record, record_ids)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._session import iface_problem
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._volume import (
    VolumeManager, in_parallel_unless_shared)

COUNT_OPTIONS = ('device_timeout', 'map_timeout', 'remove_timeout')


def heal_argument_spec():
    """The options of a heal: iscsi_volume_heal's argument spec; the boot service takes their defaults."""
    spec = dict(
        volume_ids=dict(type='list', elements='str', default=[]),
        record_dir=dict(type='path', default=DEFAULT_RECORD_DIR),
        ifaces=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True), netdev=dict(type='str'), hwaddress=dict(type='str'),
            transport=dict(type='str'))),
        iface=dict(type='str', default='default'),
        device_timeout=dict(type='int', default=20),
        map_timeout=dict(type='int', default=30),
        remove_timeout=dict(type='int', default=30),
    )
    spec.update(lock_argument_spec())
    return spec


HEAL_DEFAULTS = {name: option['default'] for name, option in heal_argument_spec().items()}


def options_problem(params):
    """Why the options cannot be used, or None."""
    for name in COUNT_OPTIONS:
        if params[name] < 1:
            return '%s must be 1 or more, got %d' % (name, params[name])
    return iface_problem(params['iface']) or ifaces_problem(params['ifaces'])


def read_records(module, record_dir, volume_ids):
    """({volume_id: record}, the volume ids asked for: volume_ids, else those of every record); a volume without a
    record is warned about."""
    volume_ids = volume_ids or record_ids(record_dir)
    records = {}
    for volume_id in volume_ids:
        record = read_record(record_dir, volume_id)
        if record is None:
            module.warn('volume %s has no attach record in %s: not healed' % (volume_id, record_dir))
        else:
            records[volume_id] = record
    return records, volume_ids


def host_health(iscsiadm, multipath, scsi, records, volume_ids, record_dir):
    """(health, summary lines, problem lines) of the volumes now."""
    health = read_health(volume_ids, records, record_dir, read_sessions(iscsiadm, scsi), multipath.maps(), scsi)
    return health, summary_lines(health), problem_lines(health)


def to_heal(records, health):
    """[(record, health)] of the volumes with a record that a heal can act on, in the order of health."""
    return [(records[entry['volume_id']], entry) for entry in health
            if entry['volume_id'] in records and needs_heal(entry)]


def heal_one(manager, record, params):
    """The heal result of one volume under its targets' locks; CommandError and LockError become its ``error``."""
    keys = [(target['portal'], target['iqn']) for target in record['targets']]
    try:
        with targets_locked(keys, params['lock_dir'], params['lock_timeout']):
            return manager.heal(record, manager.iscsiadm.sessions())
    except CommandError as exc:
        return {'changed': False, 'error': exc.msg, 'portals': manager.outcomes}
    except LockError as exc:
        return {'changed': False, 'error': str(exc)}


def heal_volumes(module, runners, healable):
    """Heal each (record, health) of healable, at once (one after the other when two share a session: a login is
    one volume's to make); their results (``volume_id``, ``status_before``, ``error`` when it failed), in the order
    of healable. runners: (iscsiadm, multipath, scsi, routes or None)."""
    iscsiadm, multipath, scsi, routes = runners

    def heal(item):
        record, health = item
        result = heal_one(VolumeManager(module, iscsiadm, multipath, scsi, routes), record, module.params)
        return dict(result, volume_id=record['volume_id'], status_before=health['status'])
    return in_parallel_unless_shared(heal, healable, [record for record, dummy in healable])
