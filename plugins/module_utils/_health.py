# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.
"""The health of an attached volume, from its attach record and what the host shows now (pure functions), and the
node settings a heal logs in with (taken from a node record iscsiadm keeps).

A path (one target of the record) is ``active`` (in the map, kernel state active, checker not faulty), ``failed``
(in the map, but the kernel or the checker says it cannot do IO), ``no_session``, ``no_device`` (a session but no
SCSI device at the LUN) or ``not_in_map`` (a device the map does not hold). A volume is ``missing`` without a map
of its WWID, ``degraded`` when a path is not active, the map holds a device that is none of its targets', or the
map is not the size Cinder reports, else ``healthy``.
"""

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import find_session

FAILED_CHECKS = ('faulty', 'shaky')
# path states a heal can repair: log in, scan the LUN, add the device to the map
HEALABLE = ('no_session', 'no_device', 'not_in_map')
TIMING_SETTINGS = (('replacement_timeout', 'node.session.timeo.replacement_timeout'),
                   ('noop_out_interval', 'node.conn[0].timeo.noop_out_interval'),
                   ('noop_out_timeout', 'node.conn[0].timeo.noop_out_timeout'),
                   ('login_timeout', 'node.conn[0].timeo.login_timeout'),
                   ('login_retries', 'node.session.initial_login_retry_max'))
AUTH_SETTINGS = (('username', 'node.session.auth.username'), ('password', 'node.session.auth.password'),
                 ('mutual_username', 'node.session.auth.username_in'),
                 ('mutual_password', 'node.session.auth.password_in'))


def map_of_wwid(maps, wwid):
    """The entry of multipathd's listing (parse_maps_json) whose WWID is wwid, or None."""
    for entry in maps:
        if entry['wwid'] == wwid:
            return entry
    return None


def path_state(session, dev, listed):
    """The state of one path: session (or None), dev (or None), listed: its entry in the map's paths (or None)."""
    if session is None:
        return 'no_session'
    if not dev:
        return 'no_device'
    if listed is None:
        return 'not_in_map'
    if listed['dm_st'] == 'active' and listed['chk_st'] not in FAILED_CHECKS:
        return 'active'
    return 'failed'


def path_health(target, sessions, listed_paths):
    """One target's path. sessions: parse_sessions entries with ``devices`` ({lun: dev}), ``iface`` and ``state``
    (the session's sysfs ``ifacename`` and ``state``) added; listed_paths: {dev: path} of the map."""
    session = find_session(sessions, target['portal'], target['iqn'])
    dev = (session or {}).get('devices', {}).get(target['lun'])
    listed = listed_paths.get(dev) if dev else None
    state = path_state(session, dev, listed)
    path = dict(target, state=state, sid=session['sid'] if session else None,
                session_state=(session or {}).get('state'), iface=(session or {}).get('iface'), dev=dev,
                dm_st=(listed or {}).get('dm_st'), chk_st=(listed or {}).get('chk_st'),
                dev_st=(listed or {}).get('dev_st'))
    path['summary'] = path_summary(path)
    return path


def path_summary(path):
    """'192.0.2.1:3260 LUN 1: active, sda (session 5 LOGGED_IN, iface storage-a, dm active, checker ready)'."""
    where = '%s LUN %d' % (path['portal'], path['lun'])
    if path['state'] == 'no_session':
        return '%s: no session' % where
    session = 'session %d%s%s' % (path['sid'], ' ' + path['session_state'] if path['session_state'] else '',
                                  ', iface ' + path['iface'] if path['iface'] else '')
    if path['state'] == 'no_device':
        return '%s: no SCSI device at the LUN (%s)' % (where, session)
    if path['state'] == 'not_in_map':
        return '%s: %s is not in the map (%s)' % (where, path['dev'], session)
    return '%s: %s, %s (%s, dm %s, checker %s)' % (where, path['state'], path['dev'], session, path['dm_st'],
                                                   path['chk_st'])


def volume_health(record, sessions, maps, map_size_bytes=None, cinder_size_bytes=None):
    """The health of the volume of an attach record (see the module docstring for the states).

    map_size_bytes: the size of its map (sysfs); cinder_size_bytes: the size Cinder reports (None: not compared).
    """
    entry = map_of_wwid(maps, record['wwid'])
    listed = dict((path['dev'], path) for path in (entry or {}).get('paths', []))
    paths = [path_health(target, sessions, listed) for target in record['targets']]
    active = [path for path in paths if path['state'] == 'active']
    health = {'volume_id': record['volume_id'], 'wwid': record['wwid'], 'device': record.get('device'),
              'dm': (entry or {}).get('dm'), 'map_state': (entry or {}).get('dm_st'),
              'expected_paths': len(paths), 'active_paths': len(active), 'paths': paths,
              'missing_sessions': missing_sessions(paths),
              'map_size_bytes': map_size_bytes if entry else None, 'cinder_size_bytes': cinder_size_bytes,
              'foreign_paths': sorted(dev for dev in listed if dev not in [path['dev'] for path in paths])}
    health['problems'] = volume_problems(health)
    health['status'] = 'missing' if entry is None else ('degraded' if health['problems'] else 'healthy')
    health['summary'] = volume_summary(health)
    return health


def missing_sessions(paths):
    """Each (portal, IQN) of the paths without a session, once."""
    keys = []
    for path in paths:
        key = {'portal': path['portal'], 'iqn': path['iqn']}
        if path['state'] == 'no_session' and key not in keys:
            keys.append(key)
    return keys


def volume_problems(health):
    """What keeps a volume from being healthy, one sentence each."""
    if health['dm'] is None:
        return ['no multipath map of WWID %s' % health['wwid']]
    problems = []
    if health['active_paths'] < health['expected_paths']:
        problems.append('%d of %d paths active' % (health['active_paths'], health['expected_paths']))
    problems += ['no session to %s %s' % (s['portal'], s['iqn']) for s in health['missing_sessions']]
    problems += ['path ' + path['summary'] for path in health['paths']
                 if path['state'] in ('failed', 'no_device', 'not_in_map')]
    if health['foreign_paths']:
        problems.append('the map holds %s, not a device at one of the volume\'s targets' % ', '.join(
            health['foreign_paths']))
    size, cinder = health['map_size_bytes'], health['cinder_size_bytes']
    if cinder is not None and size != cinder:
        problems.append('the map is %s bytes, Cinder reports %d' % (size, cinder))
    return problems


def volume_summary(health):
    """'VOLUME_ID: degraded, 1 of 2 paths active, /dev/mapper/WWID (dm-0, 1073741824 bytes): no session to ...'."""
    text = '%s: %s, %d of %d paths active' % (health['volume_id'], health['status'], health['active_paths'],
                                              health['expected_paths'])
    if health['dm']:
        text += ', %s (%s, %s bytes)' % (health['device'], health['dm'], health['map_size_bytes'])
    problems = [problem for problem in health['problems'] if not problem.endswith(' paths active')]
    return text + (': ' + '; '.join(problems) if problems else '')


def unrecorded_health(volume_id, record_dir):
    """The health of a volume asked for that has no attach record: missing (not attached to this host)."""
    problem = 'no attach record in %s: not attached to this host' % record_dir
    return {'volume_id': volume_id, 'wwid': None, 'device': None, 'dm': None, 'map_state': None, 'expected_paths': 0,
            'active_paths': 0, 'paths': [], 'missing_sessions': [], 'map_size_bytes': None, 'cinder_size_bytes': None,
            'foreign_paths': [], 'problems': [problem], 'status': 'missing',
            'summary': '%s: missing, %s' % (volume_id, problem)}


def summary_lines(health):
    """One line per volume followed by one line per path of it (indented)."""
    return [line for volume in health for line in [volume['summary']] + ['  ' + path['summary'] for path in volume['paths']]]


def problem_lines(health):
    """The summary of each volume that is not healthy."""
    return [volume['summary'] for volume in health if volume['status'] != 'healthy']


def needs_heal(health):
    """True when a heal can bring back a path: a missing session, LUN device or map membership, or no map."""
    return health['status'] == 'missing' or any(path['state'] in HEALABLE for path in health['paths'])


def node_session_params(settings):
    """The session options (replacement_timeout ... login_retries, auth, startup) of a node record
    (``iscsiadm -m node -S`` parsed by parse_node_settings), for a login with the same settings; None when the
    record lacks one of them."""
    params = {}
    try:
        for key, name in TIMING_SETTINGS:
            params[key] = int(settings[name])
        method = settings['node.session.auth.authmethod']
        params['startup'] = settings['node.startup']
    except (KeyError, ValueError):
        return None
    auth = dict((key, settings.get(name) or None) for key, name in AUTH_SETTINGS)
    if method == 'CHAP' and auth['username'] and auth['password']:
        params['auth'] = dict(((key, value) for key, value in auth.items() if value), method='CHAP')
    else:
        params['auth'] = None
    return params


def template_keys(entry, targets, sessions):
    """The (portal, IQN) whose node record gives the login to entry its settings, best first: the volume's sessions
    of the same IQN, its other sessions (a live login proves the record's CHAP), then entry's own record."""
    live = [(t['portal'], t['iqn']) for t in targets if find_session(sessions, t['portal'], t['iqn'])]
    ordered = ([key for key in live if key[1] == entry['iqn']] + [key for key in live if key[1] != entry['iqn']]
               + [(entry['portal'], entry['iqn'])])
    return [key for index, key in enumerate(ordered) if key not in ordered[:index]]


def read_sessions(iscsiadm, scsi):
    """The host's iSCSI sessions, each with its ``devices`` ({lun: dev}), ``iface`` and ``state`` (sysfs)."""
    sessions = iscsiadm.sessions()
    for session in sessions:
        session.update(devices=scsi.session_devices(session['sid']),
                       iface=scsi.session_attribute(session['sid'], 'ifacename'),
                       state=scsi.session_attribute(session['sid'], 'state'))
    return sessions


def read_health(volume_ids, records, record_dir, sessions, maps, scsi, cinder_sizes=None):
    """The health of each volume of volume_ids: volume_health() of its record ({volume_id: record}), the size of its
    map read from sysfs; unrecorded_health() without a record."""
    found = []
    for volume_id in volume_ids:
        record = records.get(volume_id)
        if record is None:
            found.append(unrecorded_health(volume_id, record_dir))
            continue
        entry = map_of_wwid(maps, record['wwid'])
        size = scsi.size_bytes(entry['dm']) if entry and entry['dm'] else None
        found.append(volume_health(record, sessions, maps, size, (cinder_sizes or {}).get(volume_id)))
    return found
