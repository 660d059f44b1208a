# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra checks after attach + detach of every volume: nothing is left on the host or in Cinder."""

import json
import os

import openstack

RECORD_DIR = '/var/lib/cinder_local/attachments'


def volumes():
    """Every volume the scenario's prepare created (one per lab backend)."""
    with open(os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'volumes.json'), encoding='utf-8') as handle:
        return list(json.load(handle).values())


def test_no_iscsi_session(host):
    result = host.run('iscsiadm -m session')
    assert result.rc == 21, result.stdout  # 21: no active sessions


def test_no_node_record(host):
    result = host.run('iscsiadm -m node')
    assert result.rc == 21, result.stdout  # 21: no records


def test_no_multipath_map(host):
    maps = json.loads(host.check_output('multipathd show maps json'))
    assert maps['maps'] == []
    assert 'No devices found' in host.run('dmsetup ls --target multipath').stdout


def test_no_iscsi_scsi_device(host):
    disks = json.loads(host.check_output('lsblk --json --nodeps --output NAME,TRAN'))['blockdevices']
    assert [disk['name'] for disk in disks if disk['tran'] == 'iscsi'] == []


def test_attach_records_removed(host):
    for volume in volumes():
        assert not host.file('%s/%s.json' % (RECORD_DIR, volume['id'])).exists


def test_no_managed_mount_left(host):
    assert 'cinder_local.iscsi_multipath' not in host.file('/etc/fstab').content_string
    assert host.run('findmnt --mountpoint /mnt/managed').rc == 1


def test_cinder_attachment_gone():
    lab = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], '.lab', os.environ.get('LAB_NAME', 'molecule'))
    conn = openstack.connect(cloud='cinder-lab', config_files=[os.path.join(lab, 'clouds.yaml')])
    for volume in volumes():
        found = conn.block_storage.get_volume(volume['id'])
        assert found.status == 'available', volume['name']
        assert not found.attachments, volume['name']
