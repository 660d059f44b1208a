# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Managed mounts of attached volumes: a filesystem made only on a device with no signature, mounted by WWID, and
kept across reboots by an /etc/fstab line the boot never waits on for long.

Why an fstab line and not a systemd mount unit: systemd-fstab-generator turns the line into the same mount unit (the
``x-systemd.*`` options become its dependencies), while the line stays where operators, ``mount -a``, ``findmnt
--verify`` and other tools look; a unit file would need its name escaped from the path and a second place to check.
``_netdev`` puts the mount under remote-fs.target, after network-online.target and remote-fs-pre.target (open-iscsi
logs in before that), ``x-systemd.after=`` orders it after iscsid and multipathd, ``nofail`` keeps the boot from
waiting on it or failing for it, and ``x-systemd.device-timeout=`` bounds the wait for the map. Pass number 0: no fsck
of remote storage at boot.

The line is written after a marker comment naming the volume (``# cinder_local.iscsi_multipath volume <id>``); only a
line with that marker, and exactly the line the attach record holds, is ever removed.
"""

from __future__ import annotations

import os
import re
import tempfile

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._filesystem import parse_mountinfo
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, CommandRunner, Stopwatch, wait_for

DEFAULT_ROOT = '/'
FSTAB = 'etc/fstab'
FSTYPES = ('ext4', 'xfs')
MARKER = '# cinder_local.iscsi_multipath volume %s'
DEFAULT_DEVICE_TIMEOUT = 90
BOOT_OPTIONS = ('_netdev', 'nofail')
AFTER_UNITS = ('iscsid.service', 'multipathd.service')
MKFS_TIMEOUT = 600
LINK_WAIT = 10  # seconds for udev to make the by-id link of a map just built
_FIELD_RE = re.compile(r'^[^\s#\\]+$')


def mount_argument_spec():
    """The options of one managed mount."""
    return dict(
        path=dict(type='path', required=True),
        fstype=dict(type='str', choices=list(FSTYPES), default='ext4'),
        mkfs_options=dict(type='list', elements='str', default=[]),
        options=dict(type='str', default='defaults'),
        device_timeout=dict(type='int', default=DEFAULT_DEVICE_TIMEOUT),
    )


def checked_mount(spec, where):
    """A mount spec with its defaults filled in (the module's argument spec does not reach inside a dict keyed by
    volume id); raise ValueError naming where."""
    if not isinstance(spec, dict):
        raise ValueError('%s must be a dict (path, fstype, mkfs_options, options, device_timeout)' % where)
    unknown = sorted(set(spec) - set(mount_argument_spec()))
    if unknown:
        raise ValueError('%s: unknown keys %s' % (where, ', '.join(unknown)))
    result = dict((name, spec.get(name, option.get('default'))) for name, option in mount_argument_spec().items())
    result['mkfs_options'] = list(result['mkfs_options'] or [])
    problem = mount_problem(result)
    if problem:
        raise ValueError('%s.%s' % (where, problem))
    return result


def mount_problem(spec):
    """Why a mount spec cannot be used, or None."""
    path = spec.get('path')
    if not isinstance(path, str) or not path.startswith('/') or os.path.normpath(path) != path or path == '/':
        return 'path must be an absolute, normalised path other than /, got %r' % (path,)
    if not _FIELD_RE.match(path):
        return 'path %r holds white space, # or a backslash, which an fstab line cannot hold plainly' % (path,)
    if spec.get('fstype') not in FSTYPES:
        return 'fstype must be one of %s, got %r' % (', '.join(FSTYPES), spec.get('fstype'))
    if not isinstance(spec.get('options'), str) or not _FIELD_RE.match(spec['options']):
        return 'options must be comma-separated mount options without white space, got %r' % (spec.get('options'),)
    if not all(isinstance(option, str) and option and '\n' not in option for option in spec['mkfs_options']):
        return 'mkfs_options must be non-empty strings'
    timeout = spec.get('device_timeout')
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 600:
        return 'device_timeout must be 1 to 600 seconds, got %r' % (timeout,)
    return None


def boot_options(spec):
    """The fstab options of a managed mount: the caller's, then what keeps the boot from waiting on it (each once)."""
    options = [option for option in spec['options'].split(',') if option]
    names = set(option.split('=', 1)[0] for option in options)
    added = list(BOOT_OPTIONS) + ['x-systemd.after=' + unit for unit in AFTER_UNITS]
    if 'x-systemd.device-timeout' not in names:
        added.append('x-systemd.device-timeout=%ds' % spec['device_timeout'])
    return ','.join(options + [option for option in added if option not in options])


def fstab_line(device, spec):
    """The fstab line of a managed mount (pass 0: no fsck of remote storage at boot)."""
    return '%s %s %s %s 0 0' % (device, spec['path'], spec['fstype'], boot_options(spec))


def parse_fstab(text):
    """[(index of the line, its fields)] of the entries of an fstab (comments and blank lines skipped)."""
    entries = []
    for index, line in enumerate(text.splitlines()):
        fields = line.split()
        if fields and not fields[0].startswith('#') and len(fields) >= 2:
            entries.append((index, fields))
    return entries


def _same(line, other):
    return line.split() == other.split()


def fstab_added(text, line, volume_id):
    """(the fstab text with the managed line, or None when it is there already; raise ValueError when another entry
    claims its mount point or device). Only a line after this volume's marker is ours to replace."""
    lines = text.splitlines()
    fields = line.split()
    marker = MARKER % volume_id
    for index, entry in parse_fstab(text):
        if _same(lines[index], line):
            return None
        if entry[1] == fields[1] or entry[0] == fields[0]:
            ours = index > 0 and lines[index - 1].strip() == marker
            if not ours:
                raise ValueError('/etc/fstab line %d (%s) already mounts %s or uses %s, and this collection did not '
                                 'write it: refusing to add another' % (index + 1, lines[index].strip(), fields[1],
                                                                        fields[0]))
            return '\n'.join(lines[:index] + [line] + lines[index + 1:]) + '\n'
    head = '\n'.join(lines) + '\n' if lines else ''
    return head + marker + '\n' + line + '\n'


def fstab_removed(text, line, volume_id):
    """The fstab text without the managed line (and its marker) of volume_id, or None when it is not there. A line
    without the marker is never removed."""
    lines = text.splitlines()
    marker = MARKER % volume_id
    for index, dummy in parse_fstab(text):
        if _same(lines[index], line) and index > 0 and lines[index - 1].strip() == marker:
            kept = lines[:index - 1] + lines[index + 1:]
            return '\n'.join(kept) + '\n' if kept else ''
    return None


def parse_blkid(rc, out):
    """``blkid -p -o export DEVICE`` -> {KEY: value} of what it found, {} when it found no signature (rc 2); raise
    ValueError for any other outcome (rc 8: several signatures, ambivalent)."""
    if rc == 2:
        return {}
    if rc != 0:
        raise ValueError('blkid -p could not probe the device (rc %s)' % rc)
    found = {}
    for line in out.splitlines():
        key, sep, value = line.partition('=')
        if sep and key.strip():
            found[key.strip()] = value.strip()
    return found


def signature_decision(probe, fstype, device):
    """'mkfs' for a device with no signature, 'keep' when it holds a filesystem of fstype; ValueError otherwise."""
    if not probe:
        return 'mkfs'
    if probe.get('TYPE') == fstype and not probe.get('PTTYPE'):
        return 'keep'
    found = ', '.join('%s=%s' % (key, probe[key]) for key in ('TYPE', 'PTTYPE', 'USAGE') if probe.get(key)) or (
        'an unknown signature')
    raise ValueError('%s holds %s, not a %s filesystem: refusing to create a filesystem over it or to mount it (its '
                     'data stays; mount it yourself, or wipe it once you know it holds nothing)' % (device, found, fstype))


def mount_state(mounts, devt, path):
    """'mounted' when the map (devt) is mounted on path, None when neither is mounted; ValueError when the map is
    mounted elsewhere or something else is mounted on path."""
    here = [mount for mount in mounts if mount['mountpoint'] == path]
    mine = [mount for mount in mounts if mount['devt'] == devt]
    if here and here[-1]['devt'] == devt:
        return 'mounted'
    if here:
        raise ValueError('%s is already a mount point (of %s): refusing to mount the volume over it' % (
            path, here[-1]['source']))
    if mine:
        raise ValueError('the volume is already mounted on %s: refusing to mount it on %s too' % (
            mine[0]['mountpoint'], path))
    return None


class Mounts(CommandRunner):
    """The managed mounts of volumes through the ``_run_command`` seam: probe, mkfs, mount, umount, /etc/fstab and
    systemd's view of it, under ``root`` (``/`` on hosts). Each binary is looked up when it is first needed."""

    COMMANDS = ('timeout',)

    def __init__(self, module, timeout=60, root=None):
        super().__init__(module, timeout=timeout)
        self.root = DEFAULT_ROOT if root is None else root

    def path(self, relative):
        return os.path.join(self.root, relative.lstrip('/'))

    def _call(self, argv, what, timeout=None):
        rc, out, err = self._run_command(argv, timeout=timeout)
        if rc != 0:
            raise self.error('%s failed' % what, argv, rc, out, err, timeout=timeout)
        return out

    def mounts(self):
        with open(self.path('proc/self/mountinfo'), encoding='utf-8', errors='replace') as handle:
            return parse_mountinfo(handle.read())

    def probe(self, device):
        argv = [self.bin('blkid'), '-p', '-o', 'export', device]
        rc, out, err = self._run_command(argv)
        try:
            return parse_blkid(rc, out)
        except ValueError as exc:
            raise self.error(str(exc), argv, rc, out, err)

    def mkfs(self, fstype, options, device):
        self._call([self.bin('mkfs.' + fstype)] + list(options) + [device], 'mkfs.%s %s' % (fstype, device),
                   timeout=MKFS_TIMEOUT)

    def mount(self, device, spec):
        if not os.path.isdir(self.path(spec['path'])):
            os.makedirs(self.path(spec['path']), 0o755)
        self._call([self.bin('mount'), '-t', spec['fstype'], '-o', boot_options(spec), device, spec['path']],
                   'mount %s on %s' % (device, spec['path']))

    def umount(self, path):
        self._call([self.bin('umount'), path], 'umount %s' % path)

    def read_fstab(self):
        try:
            with open(self.path(FSTAB), encoding='utf-8') as handle:
                return handle.read()
        except FileNotFoundError:
            return ''

    def write_fstab(self, text):
        """Replace /etc/fstab atomically (same mode, fsync, rename), then have systemd read it again."""
        target = self.path(FSTAB)
        mode = os.stat(target).st_mode & 0o7777 if os.path.exists(target) else 0o644
        handle = tempfile.NamedTemporaryFile('w', dir=os.path.dirname(target), prefix='.fstab.', delete=False)
        try:
            with handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(handle.name, mode)
            os.rename(handle.name, target)
        except BaseException:
            if os.path.exists(handle.name):
                os.unlink(handle.name)
            raise
        self.daemon_reload()

    def daemon_reload(self):
        """systemctl daemon-reload when systemd runs, so that its mount units follow the new fstab."""
        if os.path.isdir(self.path('run/systemd/system')):
            self._call([self.bin('systemctl'), 'daemon-reload'], 'systemctl daemon-reload')


class MountManager:
    """Make, mount and record one volume's managed mount, or undo it; each step only when needed."""

    def __init__(self, module, mounts, scsi):
        self.module = module
        self.mounts = mounts
        self.scsi = scsi
        self.undo = []

    def _device(self, result):
        """The map's by-id path, after checking it is the verified map (never sdX or dm-N in fstab)."""
        device = result.get('by_id') or '/dev/disk/by-id/dm-uuid-mpath-' + result['wwid']
        target = os.path.realpath(self.mounts.path('/dev/' + result['dm']))
        if not wait_for(lambda: os.path.realpath(self.mounts.path(device)) == target, LINK_WAIT, 0.2):
            raise CommandError('%s does not lead to the verified map %s (%s): refusing to mount it' % (
                device, result['dm'], result.get('device')))
        return device

    def ensure(self, volume_id, spec, result, previous):
        """The mount entry of the volume (for its record and result), with ``changed``; raise CommandError."""
        check = self.module.check_mode
        watch = Stopwatch()
        if previous and previous.get('path') != spec['path']:
            raise CommandError('volume %s has a managed mount on %s already (its attach record): detach it with unmount '
                               'first to mount it on %s' % (volume_id, previous.get('path'), spec['path']))
        device = self._device(result)
        entry = {'path': spec['path'], 'fstype': spec['fstype'], 'device': device,
                 'fstab': fstab_line(device, spec), 'created_filesystem': bool((previous or {}).get('created_filesystem')),
                 'mkfs': False, 'mounted': False, 'fstab_changed': False}
        try:
            state = mount_state(self.mounts.mounts(), self.scsi.devt(result['dm']), spec['path'])
            if state != 'mounted':
                if signature_decision(self.mounts.probe(device), spec['fstype'], device) == 'mkfs':
                    entry['mkfs'] = entry['created_filesystem'] = True
                    if not check:
                        self.mounts.mkfs(spec['fstype'], spec['mkfs_options'], device)
                entry['mounted'] = True
                if not check:
                    self.mounts.mount(device, spec)
                    self.undo.append(lambda: self.mounts.umount(spec['path']))
            text = fstab_added(self.mounts.read_fstab(), entry['fstab'], volume_id)
        except ValueError as exc:
            self.rollback()
            raise CommandError('volume %s: %s' % (volume_id, exc))
        except CommandError:
            self.rollback()
            raise
        if text is not None:
            entry['fstab_changed'] = True
            if not check:
                try:
                    self.mounts.write_fstab(text)
                except (OSError, CommandError) as exc:
                    self.rollback()
                    raise CommandError('volume %s: cannot write /etc/fstab: %s' % (volume_id, getattr(exc, 'msg', exc)))
                self.undo.append(lambda: self._remove_line(volume_id, entry['fstab']))
        entry['changed'] = entry['mkfs'] or entry['mounted'] or entry['fstab_changed']
        entry['elapsed_s'] = watch.total()
        return entry

    def _remove_line(self, volume_id, line):
        text = fstab_removed(self.mounts.read_fstab(), line, volume_id)
        if text is not None:
            self.mounts.write_fstab(text)

    def rollback(self):
        """Undo this call's mounts and fstab lines, latest first (errors only warn; a made filesystem stays)."""
        while self.undo:
            try:
                self.undo.pop()()
            except (OSError, CommandError) as exc:
                self.module.warn('could not undo a managed mount step: %s' % getattr(exc, 'msg', exc))

    def release(self, volume_id, recorded, wwid, unmount):
        """Before a detach: unmount the volume's managed mount and remove its fstab line (unmount=true), or refuse
        when either is still there. Returns the entry for the result; raise CommandError."""
        check = self.module.check_mode
        dms = self.scsi.maps_of_wwid(wwid) if wwid else []
        devts = set(self.scsi.devt(dm) for dm in dms)
        mounted = any(mount['mountpoint'] == recorded['path'] and mount['devt'] in devts for mount in self.mounts.mounts())
        text = fstab_removed(self.mounts.read_fstab(), recorded['fstab'], volume_id)
        entry = {'path': recorded['path'], 'unmounted': mounted, 'fstab_removed': text is not None}
        if not (mounted or text is not None):
            return dict(entry, changed=False)
        if not unmount:
            raise CommandError('volume %s has a managed mount on %s (%s): refusing to detach it; set unmount=true '
                               '(the volume_detach role: volume_detach_unmount) to unmount it and remove its fstab line, '
                               'or unmount it yourself' % (
                                   volume_id, recorded['path'], 'mounted' if mounted else 'its fstab line is still there'))
        if not check:
            if mounted:
                self.mounts.umount(recorded['path'])
            if text is not None:
                self.mounts.write_fstab(text)
        return dict(entry, changed=True)
