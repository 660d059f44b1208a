# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lab only: Cinder's stock LVM driver with its volume group replaced by a directory of sparse files.

The lab host has no device-mapper, so real logical volumes cannot exist. Only where the bytes
live changes: VolumeManager, LVMVolumeDriver's export and connection code and the iSCSI target
helper (cinder.volume.targets.tgt.TgtAdm -> tgt-admin -> the lab's tgtd, which serves the file
as LUN 1) are the unmodified Cinder code paths.

Extend (LVMVolumeDriver.extend_volume) grows the file, then the stock TgtAdm.extend_target runs
``tgt-admin --update IQN --force`` for an attached volume: tgtd reads a backing file's size only when it opens
it (a truncate alone leaves READ CAPACITY at the old size), so the target is deleted - its sessions dropped, the
initiator logs in again within seconds - and created again from the volume's conf file, whose scsi_id (the
volume's name) keeps the LUN's WWID. The host sees the new size after a rescan of each path.

cinder.conf: volume_driver = filebacked.FileBackedLVMDriver (this directory on PYTHONPATH).
"""

import os

from oslo_config import cfg
from oslo_utils import units

from cinder import interface
from cinder.volume import configuration
from cinder.volume.drivers import lvm

FILE_OPTS = [
    cfg.StrOpt("file_volume_dir", help="Directory holding one sparse file per volume."),
    cfg.IntOpt("file_volume_capacity_gb", default=20, help="Capacity reported to the scheduler."),
]
cfg.CONF.register_opts(FILE_OPTS, group=configuration.SHARED_CONF_GROUP)


def size_bytes(size_str):
    """LVMVolumeDriver's size string ('2g') in bytes."""
    return int(float(str(size_str).lower().rstrip("g")) * units.Gi)


class FileVolumeGroup:
    """The part of cinder.brick.local_dev.lvm.LVM that LVMVolumeDriver uses, over sparse files."""

    def __init__(self, vg_name, directory, capacity_gb):
        self.vg_name = vg_name
        self.directory = directory
        self.vg_size = float(capacity_gb)
        self.vg_free_space = self.vg_size
        self.vg_provisioned_capacity = 0.0
        self.vg_thin_pool_size = self.vg_size
        self.vg_thin_pool_free_space = self.vg_size
        os.makedirs(directory, exist_ok=True)
        self.update_volume_group_info()

    def path(self, name):
        return os.path.join(self.directory, name)

    def get_volumes(self, lv_name=None):
        names = sorted(n for n in os.listdir(self.directory) if lv_name in (None, n))
        return [{"vg": self.vg_name, "name": n, "size": "%.2f" % (os.path.getsize(self.path(n)) / units.Gi)}
                for n in names]

    def get_volume(self, name):
        found = self.get_volumes(name)
        return found[0] if found else None

    def update_volume_group_info(self):
        used = sum(float(v["size"]) for v in self.get_volumes())
        self.vg_provisioned_capacity = used
        self.vg_free_space = max(self.vg_size - used, 0.0)
        self.vg_thin_pool_free_space = self.vg_free_space

    def create_volume(self, name, size_str, lv_type="default", mirror_count=0):
        with open(self.path(name), "wb") as handle:
            handle.truncate(size_bytes(size_str))

    def extend_volume(self, name, size_str):
        """lvextend: the file grows, still sparse (its data stays)."""
        with open(self.path(name), "r+b") as handle:
            handle.truncate(size_bytes(size_str))

    def delete(self, name):
        if os.path.exists(self.path(name)):
            os.unlink(self.path(name))

    def activate_lv(self, name, is_snapshot=False, permanent=False):
        """Files need no activation."""

    def deactivate_lv(self, name):
        """Files need no deactivation."""

    def lv_has_snapshot(self, name):
        return False

    def lv_is_snapshot(self, name):
        return False

    def lv_is_open(self, name):
        return False


@interface.volumedriver
class FileBackedLVMDriver(lvm.LVMVolumeDriver):
    """LVMVolumeDriver whose logical volumes are sparse files (lab use only)."""

    VERSION = "1.0.0"
    CI_WIKI_NAME = "none"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(FILE_OPTS)

    def check_for_setup_error(self):
        # Replaces the parent's probing of a real volume group with vgs.
        self.configuration.lvm_type = "default"
        self.vg = FileVolumeGroup(self.configuration.volume_group, self.configuration.file_volume_dir,
                                  self.configuration.file_volume_capacity_gb)

    def local_path(self, volume, vg=None):
        return self.vg.path(self._escape_snapshot(volume["name"]))

    # As the parent, but the target helper gets the file instead of /dev/<vg>/<lv>.
    def ensure_export(self, context, volume):
        return self.target_driver.ensure_export(context, volume, self.local_path(volume))

    def create_export(self, context, volume, connector, vg=None):
        export_info = self.target_driver.create_export(context, volume, self.local_path(volume))
        return {"provider_location": export_info["location"], "provider_auth": export_info["auth"]}
