# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() with arguments, a replayed command table, a fake clock and a fake sysfs."""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils import _multipath, _run, _scsi

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')
KERNEL_LOCK = threading.Lock()
# what multipath-tools writes to a new wwids file (libmultipath/wwids.h WWIDS_FILE_HEADER)
WWIDS_HEADER = (
    '# Multipath wwids, Version : 1.0\n'
    '# NOTE: This file is automatically maintained by multipath and multipathd.\n'
    '# You should not need to edit this file in normal circumstances.\n'
    '#\n'
    '# Valid WWIDs:\n')


class AnsibleExitJson(Exception):
    pass


class AnsibleFailJson(Exception):
    pass


def lab_capture(name='capture.json'):
    """{step name: step} of a capture made by tests/unit/fixtures/lab/capture.py in the lab guest."""
    with open(os.path.join(FIXTURES, 'lab', name)) as handle:
        document = json.load(handle)
    return dict((step['name'], step) for step in document['steps']), document['sysfs']


def replay_steps():
    """Captured steps by name: the real lab capture, completed by the hand-written formats file."""
    steps = lab_capture('formats.json')[0]
    steps.update(lab_capture('capture.json')[0])
    return steps


def with_path_states(stdout, **states):
    """A ``multipathd show maps json`` output with the given states set on every path (e.g. dm_st='failed')."""
    document = json.loads(stdout)
    for entry in document['maps']:
        for group in entry['path_groups']:
            for path in group['paths']:
                path.update(states)
    return json.dumps(document, indent=3)


def call(argv, rc=0, stdout='', stderr='', effect=None):
    """One expected command: exact argv (binary names resolve to /usr/sbin/NAME) and its replayed result."""
    return {'argv': list(argv), 'rc': rc, 'stdout': stdout, 'stderr': stderr, 'effect': effect}


def parallel(*lanes):
    """Calls made by concurrent threads: each lane (one thread's calls) in its exact order, lanes interleaved freely.

    A thread follows the lane its commands so far match; a lane is done when all its calls were made.
    """
    return {'lanes': [list(lane) for lane in lanes], 'done': []}


def replay(step, argv=None, effect=None):
    """An expected call answered with a captured step's rc/stdout/stderr (argv defaults to the captured one)."""
    return call(argv if argv is not None else step['argv'], step['rc'], step['stdout'], step['stderr'], effect)


class FakeClock:
    """time.monotonic/time.sleep replacement; sleeping runs the 'kernel' hooks."""

    def __init__(self):
        self.now = 1000.0
        self.hooks = []
        self.slept = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.slept += seconds
        for hook in self.hooks:
            hook()


class Harness:
    """Holds the expected calls and records the ones made."""

    def __init__(self, monkeypatch):
        self.expected = []
        self.made = []
        self.timeouts = []
        self.clock = FakeClock()
        self.lock = threading.RLock()
        self.history = {}
        self.bound = {}
        self.monkeypatch = monkeypatch
        monkeypatch.setattr(_run, 'time', self.clock)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda module, name, required=False: '/usr/sbin/' + name)
        monkeypatch.setattr(basic.AnsibleModule, 'exit_json', self._exit)
        monkeypatch.setattr(basic.AnsibleModule, 'fail_json', self._fail)
        monkeypatch.setattr(_run.CommandRunner, '_run_command',
                            lambda runner, argv, timeout=None: self._run_command(runner, argv, timeout))

    @staticmethod
    def _exit(module, **kwargs):
        kwargs.setdefault('changed', False)
        raise AnsibleExitJson(kwargs)

    @staticmethod
    def _fail(module, msg, **kwargs):
        kwargs['failed'] = True
        kwargs['msg'] = msg
        raise AnsibleFailJson(kwargs)

    def _run_command(self, runner, argv, timeout=None):
        with self.lock:
            self.made.append(list(argv))
            self.timeouts.append(runner.timeout if timeout is None else timeout)
            assert self.expected, 'unexpected command %r' % (argv,)
            if 'lanes' in self.expected[0]:
                step = self._lane_step(self.expected[0], list(argv))
            else:
                step = self.expected.pop(0)
                assert list(argv) == step['argv'], 'command %d' % len(self.made)
            if step['effect']:
                step['effect']()
            return step['rc'], step['stdout'], step['stderr']

    def _lane_step(self, block, argv):
        """The next call of the calling thread's lane: the lane whose calls so far match the thread's (the lanes
        must differ somewhere; while several match, their answers must be the same)."""
        thread = threading.current_thread()  # not the ident: a new thread may reuse a finished one's
        history = self.history.setdefault(thread, []) + [argv]
        self.history[thread] = history
        lanes = [lane for index, lane in enumerate(block['lanes']) if index not in block['done']
                 and [step['argv'] for step in lane[:len(history)]] == history
                 and all(self.bound.get(other) != index for other in self.bound if other != thread)]
        assert lanes, 'command %r matches no parallel lane (after %r)' % (argv, history[:-1])
        step = lanes[0][len(history) - 1]
        assert all((lane[len(history) - 1]['rc'], lane[len(history) - 1]['stdout']) == (step['rc'], step['stdout'])
                   for lane in lanes), 'ambiguous parallel lanes answer differently to %r' % (argv,)
        if len(lanes) == 1:
            index = block['lanes'].index(lanes[0])
            self.bound[thread] = index
            if len(history) == len(lanes[0]):
                block['done'].append(index)
                del self.bound[thread], self.history[thread]
        if len(block['done']) == len(block['lanes']):
            self.expected.pop(0)
            self.history, self.bound = {}, {}
        return step

    def run(self, main, args, calls, check_mode=False):
        """Run main(); return (result dict, failed bool). Every expected call must be made."""
        self.expected = list(calls)
        module_args = dict(args)
        if check_mode:
            module_args['_ansible_check_mode'] = True
        result, failed = None, None
        with patch_module_args(module_args):
            try:
                main()
            except AnsibleExitJson as exc:
                result, failed = exc.args[0], False
            except AnsibleFailJson as exc:
                result, failed = exc.args[0], True
        assert not self.expected, 'commands not run: %r' % [
            step.get('argv') or [[call['argv'] for call in lane] for lane in step['lanes']] for step in self.expected]
        return result, failed


class FakeSysfs:
    """A sysfs tree under tmp_path: sessions, SCSI devices (appear on scan, vanish on delete), dm maps; and the
    wwids file of multipath-tools (no WWID listed until list_wwid)."""

    def __init__(self, root, monkeypatch, clock):
        self.root = str(root)
        self.pending = {}
        monkeypatch.setattr(_scsi, 'DEFAULT_ROOT', self.root)
        monkeypatch.setattr(_multipath, 'DEFAULT_ROOT', self.root)
        clock.hooks.append(self.kernel)
        self.behind = {}
        write = _scsi.Scsi._write

        def sysfs_write(scsi, text, *parts):  # a rescan is done when the write returns (the kernel does it in it)
            write(scsi, text, *parts)
            self._written('/'.join(part.strip('/') for part in parts), text)
        monkeypatch.setattr(_scsi.Scsi, '_write', sysfs_write)
        self.write('proc/self/mountinfo', '22 1 0:21 / / rw - ext4 /dev/vda1 rw\n')
        self.write('proc/swaps', 'Filename\tType\tSize\tUsed\tPriority\n')
        self.write(_multipath.WWIDS_FILE, WWIDS_HEADER)

    def path(self, relative):
        return os.path.join(self.root, relative)

    def write(self, relative, text):
        path = self.path(relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as handle:
            handle.write(text)

    def read(self, relative):
        with open(self.path(relative)) as handle:
            return handle.read()

    def exists(self, relative):
        return os.path.exists(self.path(relative))

    def list_wwid(self, wwid):
        """What ``multipath -a WWID`` appends to the wwids file."""
        with open(self.path(_multipath.WWIDS_FILE), 'a') as handle:
            handle.write('/%s/\n' % wwid)

    def add_session(self, host, sid, channel=0, target=0, with_target=True):
        base = 'sys/class/iscsi_host/host%d/device/session%d' % (host, sid)
        os.makedirs(self.path(base), exist_ok=True)
        if with_target:
            os.makedirs(self.path('%s/target%d:%d:%d' % (base, host, channel, target)), exist_ok=True)
        self.write('sys/class/scsi_host/host%d/scan' % host, '')

    def add_device(self, host, sid, lun, dev, wwid, size_bytes, channel=0, target=0, state='running', udev=True):
        hctl = '%d:%d:%d:%d' % (host, channel, target, lun)
        base = 'sys/class/iscsi_host/host%d/device/session%d/target%d:%d:%d/%s/block/%s' % (
            host, sid, host, channel, target, hctl, dev)
        self.write('sys/block/%s/device/wwid' % dev, wwid + '\n')
        self.write('sys/block/%s/device/state' % dev, state + '\n')
        self.write('sys/block/%s/device/delete' % dev, '')
        self.write('sys/block/%s/device/rescan' % dev, '')
        self.write('sys/block/%s/size' % dev, '%d\n' % (size_bytes // 512))
        devt = '8:%d' % (16 * (ord(dev[-1]) - ord('a')))
        self.write('sys/block/%s/dev' % dev, devt + '\n')
        if udev:  # ID_SERIAL as scsi_id exports it: the multipath WWID
            self.write('run/udev/data/b' + devt, 'E:ID_SERIAL=%s\n' % _scsi.wwid_from_sysfs(wwid))
        os.makedirs(self.path('sys/block/%s/holders' % dev), exist_ok=True)
        os.makedirs(self.path(base), exist_ok=True)  # last: a thread that finds it on the session sees a whole device
        self.hctl_of = getattr(self, 'hctl_of', {})
        self.hctl_of[dev] = (host, sid, hctl)

    def pend_device(self, host, *args, **kwargs):
        """A device (sid, lun, dev, ...) the 'kernel' creates on the next sleep after host<host>/scan asked for its LUN."""
        self.pending.setdefault(host, []).append((args, kwargs))

    def reuse_lun(self, dev, wwid, size_bytes):
        """The target now gives the LUN of dev to another volume: dev shows it after a rescan (until then its
        cached identity, as the kernel keeps it)."""
        self.behind[dev] = (wwid, size_bytes)

    def _written(self, relative, text):
        parts = relative.split('/')
        if parts[-2:] == ['device', 'rescan'] and text == '1' and parts[2] in self.behind:
            wwid, size_bytes = self.behind.pop(parts[2])
            self.write('sys/block/%s/device/wwid' % parts[2], wwid + '\n')
            self.write('sys/block/%s/size' % parts[2], '%d\n' % (size_bytes // 512))

    def add_map(self, dm, name, wwid, devs, devt='254:0', size_bytes=None):
        """A dm-multipath map over devs (its size: size_bytes, else that of its first path)."""
        self.write('sys/block/%s/dm/name' % dm, name + '\n')
        self.write('sys/block/%s/dm/uuid' % dm, 'mpath-%s\n' % wwid)
        self.write('sys/block/%s/dev' % dm, devt + '\n')
        if size_bytes is None and devs and self.exists('sys/block/%s/size' % devs[0]):
            self.write('sys/block/%s/size' % dm, self.read('sys/block/%s/size' % devs[0]))
        elif size_bytes is not None:
            self.write('sys/block/%s/size' % dm, '%d\n' % (size_bytes // 512))
        os.makedirs(self.path('sys/block/%s/holders' % dm), exist_ok=True)
        for dev in devs:
            os.makedirs(self.path('sys/block/%s/slaves/%s' % (dm, dev)), exist_ok=True)
            os.makedirs(self.path('sys/block/%s/holders/%s' % (dev, dm)), exist_ok=True)

    def remove_map(self, dm):
        for dev in os.listdir(self.path('sys/block/%s/slaves' % dm)):
            holder = self.path('sys/block/%s/holders/%s' % (dev, dm))
            if os.path.isdir(holder):
                os.rmdir(holder)
        _rmtree(self.path('sys/block/' + dm))

    def kernel(self):
        with KERNEL_LOCK:  # module threads sleep at once
            self._kernel()

    def _kernel(self):
        for host, devices in list(self.pending.items()):
            scan = self.read('sys/class/scsi_host/host%d/scan' % host).split()
            if scan:  # 'channel target lun', '-' for all: only the LUN asked for appears
                found = [(args, kwargs) for args, kwargs in devices if scan[-1] in ('-', str(args[1]))]
                for args, kwargs in found:
                    self.add_device(host, *args, **kwargs)
                self.pending[host] = [device for device in devices if device not in found]
        for dev, (host, sid, hctl) in list(getattr(self, 'hctl_of', {}).items()):
            if self.exists('sys/block/%s/device/delete' % dev) and self.read('sys/block/%s/device/delete' % dev) == '1':
                devt = self.read('sys/block/%s/dev' % dev).strip()
                _rmtree(self.path('sys/class/iscsi_host/host%d/device/session%d/target%s/%s' % (
                    host, sid, hctl.rsplit(':', 1)[0], hctl)))  # first: off the session, then gone
                _rmtree(self.path('sys/block/' + dev))
                if self.exists('run/udev/data/b' + devt):
                    os.remove(self.path('run/udev/data/b' + devt))
                del self.hctl_of[dev]


def _rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def harness(monkeypatch):
    return Harness(monkeypatch)


@pytest.fixture
def sysfs(tmp_path, monkeypatch, harness):
    return FakeSysfs(tmp_path, monkeypatch, harness.clock)
