#!/usr/bin/python
# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iscsi_volume
short_description: Attach or detach iSCSI volumes over all their portals in a single call
version_added: 0.1.0
description:
  - The single-call equivalent of os-brick's C(connect_volume)/C(disconnect_volume) for multipath iSCSI;
    the same steps as M(cinder_local.iscsi_multipath.iscsi_session) per portal followed by
    M(cinder_local.iscsi_multipath.multipath_device), in one process.
  - The whole call - logins, LUN scans and maps, or device removal and logouts - runs under the host-wide
    lock of every (portal, IQN) it touches (O(lock_dir)), as os-brick holds its lock over a whole connect or
    disconnect; the other modules of the collection take the same locks.
  - O(state=present) logs in to every portal at once, one thread per (portal, IQN). Each login is bounded by about O(login_timeout) x (O(login_retries) + 1)
    seconds (one retry when iscsiadm failed only because another login was creating its session at that
    moment). A portal that fails is a warning and is listed in RV(missing_paths); the module fails only
    when fewer than O(min_paths) portals logged in.
  - A login still running half a second after the last other one ended (a portal whose packets are dropped) does not
    hold the maps back - once every volume has O(min_paths) paths logged in, their maps are built on those paths
    while it runs on. When it ends within its bound, its path joins the map only after its device shows the map's
    WWID and size (a path that does not fails the call, which rolls everything back); when it fails, the path is a
    warning and is listed in RV(missing_paths). The module returns only once every login ended.
  - Then it scans only O(targets[].lun) on each session, waits for the SCSI devices and for udev to record
    them (polled every 0.25 s), checks that they show the same WWID and size (and O(size_bytes)), makes
    multipathd build the map and waits until the map can do IO (see M(cinder_local.iscsi_multipath.multipath_device)).
    A device that was at a LUN already is rescanned first and replaced when it is not the volume, and a map that
    exists already is used only when all its paths are the volume's, as that module does.
  - On any failure it rolls back what this call created, and only that - the map it built, the SCSI
    devices it scanned in, the sessions it opened (unless a device of another LUN appeared on them) and the
    node records it made - then fails. Node settings it changed on existing records stay changed, and the
    WWID it added to multipath's wwids file stays (as with os-brick).
  - O(state=absent) flushes and removes the map (refused while it or one of its path devices is mounted, used as
    swap, held or open, unless O(force=true)), flushes and deletes the volume's SCSI devices, then, for every
    (portal, IQN) at once, logs out and deletes the node record unless another LUN still has a device on that
    session.
    Devices at the volume's LUNs that are not the volume (another WWID than O(wwid), another size than
    O(size_bytes)) are left alone (RV(foreign_devices)) and keep their session.
  - O(volumes) does the same for several volumes in one call, all at once - each (portal, IQN) session once,
    however many volumes share it, then the maps of every volume in parallel. A failure of any volume rolls
    back what this call created for all of them; each volume's outcome is in RV(volumes).
  - With O(state=absent), a volume given by O(volumes[].volume_id) alone is detached from its attach record
    in O(record_dir) (its targets and WWID); the record itself is left for the caller to remove once Cinder
    has deleted the attachment. A volume that cannot be detached does not stop the others; the module
    fails, and RV(volumes) says which were detached and why the others were not.
  - Before any lock is taken, O(ifaces) picks each portal's open-iscsi iface from the kernel's route to it, and
    O(discovery=true) runs SendTargets discovery for each volume whose targets all use one portal (Cinder's
    answer for a backend without multipath support), adding the other portals that announce its IQN, with the same
    LUN. That discovery leaves the node database as it was (C(--op nonpersistent)); the logins make the records.
    A discovery that fails only warns; the portal Cinder gave is used, unless O(min_paths) asks for more paths.
  - With O(state=present), each volume given with O(volumes[].volume_id) gets its attach record in O(record_dir),
    written atomically (mode 0600, the directory 0700) once its map is usable; see RV(volumes) for the format. An
    earlier record of the volume gives the WWID it must show. A record that cannot be written fails the call and
    rolls it back.
  - A volume extended in Cinder grows on the host when it is attached again with its new O(size_bytes) (Cinder's
    size, as the C(volume_attach) role passes it) and its WWID known (O(wwid), or the attach record of
    O(volumes[].volume_id)). The rescan of each path device that every call makes has the kernel read the new
    size; paths still smaller are rescanned again (every second, up to O(device_timeout) seconds); then
    C(multipathd resize map) runs, before any new path joins the map, and the module waits until the kernel shows
    the map at Cinder's size (RV(resized)). A path that does not grow fails the call naming it, and the map is not
    resized. A device or map larger than Cinder's size, or of another WWID, is refused as before; without a known
    WWID a smaller device is not taken for the volume.
  - O(grow_filesystem=true) also grows an ext2, ext3, ext4 or XFS filesystem mounted from the map itself (online,
    C(resize2fs) or C(xfs_growfs -d)) when it is more than 16 MiB smaller than the map (RV(filesystem)).
  - A volume attached already - its attach record's WWID has a multipath map - takes the heal path of
    M(cinder_local.iscsi_multipath.iscsi_volume_heal) (one code path, C(VolumeManager.heal)) - only the (portal, IQN)
    without a session are logged in (with the CHAP and settings given, not copied from a node record) and only the
    LUNs without a device scanned; a healthy path's session and node record are left as they are (its device's
    identity is read again, as every attach does). O(min_paths) applies; the volume grows when O(volumes[].size_bytes)
    is larger, and gets its managed mount when it has none. A failure there leaves the paths that were up before and
    the ones it healed.
  - O(mounts) gives volumes a managed mount, made once the map is usable - a filesystem is created (C(mkfs.ext4) or
    C(mkfs.xfs)) only on a map with no signature at all (C(blkid -p)); a map that holds the same filesystem type is
    mounted as it is, and one with any other signature (another filesystem, a partition table, RAID, LVM) is refused.
    It is mounted by WWID (C(/dev/disk/by-id/dm-uuid-mpath-<wwid>), checked to lead to the verified map) and kept
    across reboots by an C(/etc/fstab) line after a marker comment naming the volume, with C(_netdev) (mounted after
    the network and open-iscsi's logins), C(nofail) (the boot never waits on it or fails for it),
    C(x-systemd.after=iscsid.service), C(x-systemd.after=multipathd.service) and a bounded
    C(x-systemd.device-timeout); C(systemctl daemon-reload) follows each change of the file when systemd runs. An
    fstab line rather than a systemd mount unit - the generator makes the same unit from it, and it stays where
    operators and C(findmnt --verify) look. The attach record keeps what was mounted (RV(volumes)).
  - With O(state=absent), a volume whose attach record holds a managed mount is refused while it is mounted or its
    fstab line is there, before anything is changed, unless O(unmount=true) - then it is unmounted and that line
    (and only that one) removed first. A mount this collection did not make is never unmounted.
  - RV(elapsed) reports the seconds spent in each phase inside the module (Python start-up and Ansible's
    own per-task cost are not included).
  - The CHAP passwords are passed to iscsiadm as arguments (iscsiadm has no other way), so they are
    visible in the process list for the duration of that call; they never appear in the module output.
extends_documentation_fragment:
  - cinder_local.iscsi_multipath._attributes
  - cinder_local.iscsi_multipath._iscsi_target.targets
  - cinder_local.iscsi_multipath._iscsi_target.map
  - cinder_local.iscsi_multipath._iscsi_target.session_auth
  - cinder_local.iscsi_multipath._iscsi_target.session_timeouts
  - cinder_local.iscsi_multipath._iscsi_target.locks
attributes:
  check_mode:
    support: full
    details:
      - Nothing is changed. When a session would have to be opened, the device part cannot be predicted
        and C(changed=true) is returned without RV(device).
      - A managed mount is predicted from the map's probe, the mount table and C(/etc/fstab) (RV(volumes)); a detach
        with O(unmount=true) of a mounted volume predicts the unmount and does not list its devices.
      - No path device is rescanned, so a volume extended in Cinder is judged on the sizes the kernel has cached; its
        growth is predicted (RV(resized), the new RV(size_bytes), RV(filesystem)) without being checked.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  targets:
    description:
      - Exactly one of O(targets) and O(volumes) is required.
  volumes:
    description:
      - Several volumes, attached or detached together in one call, instead of O(targets).
      - O(min_paths) and every timeout apply to each volume.
    type: list
    elements: dict
    suboptions:
      volume_id:
        description:
          - The Cinder volume. With O(state=absent) and no O(volumes[].targets), its attach record in
            O(record_dir) gives the targets and the WWID.
        type: str
      attachment_id:
        description: The Cinder attachment of the volume on this host, returned with the volume's outcome.
        type: str
      targets:
        description:
          - The paths of the volume, as in O(targets). Required unless O(state=absent) and
            O(volumes[].volume_id) is given.
          - With O(state=absent), an empty list (a Cinder attachment without connection details, never connected)
            for a volume without attach record and without O(volumes[].wwid) detaches nothing of it - a warning
            says so and its outcome is unchanged, without error. With an attach record, the record gives the targets.
        type: list
        elements: dict
        suboptions:
          portal:
            description: Target portal, C(address:port) or C([ipv6]:port).
            type: str
            required: true
          iqn:
            description: Target name, as in O(targets[].iqn).
            type: str
            required: true
          lun:
            description: LUN of the volume on that target, as in O(targets[].lun).
            type: raw
            required: true
      auth:
        description:
          - Session CHAP credentials of this volume's targets, as in O(auth); O(auth) when omitted.
          - Volumes that share a (portal, IQN) must give the same credentials.
        type: dict
        suboptions:
          method:
            description: Authentication method.
            type: str
            choices: [CHAP]
            default: CHAP
          username:
            description: CHAP user name.
            type: str
            required: true
          password:
            description: CHAP secret.
            type: str
            required: true
          mutual_username:
            description: User name the target presents back (mutual CHAP).
            type: str
          mutual_password:
            description: Secret the target presents back (mutual CHAP).
            type: str
      wwid:
        description: The WWID this volume must show, as in O(wwid).
        type: str
      size_bytes:
        description: The size of this volume as Cinder reports it, in bytes, as in O(size_bytes).
        type: int
      discovery_auth:
        description:
          - Discovery CHAP credentials for O(discovery) on this volume's portal (Cinder's C(discovery_auth_*)) -
            C(username), C(password) and optionally C(method) (C(CHAP)), as the C(discovery_auth) value
            M(cinder_local.iscsi_multipath.cinder_attachment) returns. Never shown in any output.
        type: dict
  discovery:
    description:
      - Run SendTargets discovery for each volume whose targets all use one portal, and log in to the other portals
        that announce its IQN too (see the description). Not run in check mode.
    type: bool
    default: false
  ifaces:
    description:
      - open-iscsi ifaces bound to the storage networks (the C(initiator) role's C(initiator_ifaces)). Each portal gets
        the iface bound to the network interface the kernel routes its address through (C(ip route get)), or
        O(iface) when none is bound there. Empty - every portal uses O(iface).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: iface name.
        type: str
        required: true
      netdev:
        description: Network interface the iface is bound to.
        type: str
      hwaddress:
        description: MAC address the iface is bound to (any case).
        type: str
      transport:
        description: Accepted so that the C(initiator) role's C(initiator_ifaces) list fits unchanged; not used.
        type: str
  state:
    description: Whether the volume should be attached (map present) or detached.
    type: str
    choices: [present, absent]
    default: present
  auth:
    description:
      - Session CHAP credentials, the same for every portal. The C(auth) value of the
        P(cinder_local.iscsi_multipath.iscsi_targets#filter) filter fits here unchanged.
      - When omitted, C(node.session.auth.authmethod) is set to C(None).
  min_paths:
    description:
      - Fail (and roll back) when fewer paths than this came up; fewer than all only warns.
      - With O(discovery=true), a volume given one portal is held to it after its discovery, before any login - the
        attach fails when the discovery failed (a wrong discovery CHAP secret, say) or found too few portals.
    type: int
    default: 1
  startup:
    description: C(node.startup) set after a successful login (os-brick uses C(automatic)).
    type: str
    choices: [automatic, manual, onboot]
    default: automatic
  iface:
    description: open-iscsi interface used for new node records.
    type: str
    default: default
  force:
    description:
      - With O(state=absent), remove the map and delete its path devices even when they are in use, and the map
        even when it cannot be flushed. Data not yet written is lost. Sessions other LUNs use, and devices that are
        not the volume, are kept all the same.
    type: bool
    default: false
  grow_filesystem:
    description:
      - With O(state=present), grow the filesystem mounted from each volume's map when it is smaller than the map
        (after the map itself grew to the size Cinder reports; see the description). ext2, ext3 and ext4
        (C(resize2fs DEVICE)) and XFS (C(xfs_growfs -d MOUNTPOINT)), online.
      - Only a filesystem on the map itself is grown - not one on a partition of it or on an LVM volume over it (a
        warning says so); another filesystem type mounted from the map fails the call. A map nothing is mounted
        from is left as it is.
    type: bool
    default: false
  mounts:
    description:
      - With O(state=present), managed mounts of volumes given with O(volumes[].volume_id), keyed by that id (see the
        description). Each is a dict with C(path) (required; an absolute path without white space, C(#) or a
        backslash), C(fstype) (C(ext4), the default, or C(xfs)), C(mkfs_options) (a list of arguments for C(mkfs.<fstype>),
        used only when the map has no signature), C(options) (mount options, default C(defaults); the boot options
        are added) and C(device_timeout) (seconds the boot waits for the map, 1 to 600, default 90).
      - A volume with a managed mount on another path in its attach record is refused (detach it with O(unmount)
        first). A volume left out keeps the managed mount its record holds; nothing is unmounted by an attach.
    type: dict
    default: {}
  unmount:
    description:
      - With O(state=absent), unmount the managed mount of each volume (from its attach record) and remove its fstab
        line before the detach. Without it, such a volume is refused while it is mounted or its line is there.
    type: bool
    default: false
  record_dir:
    description:
      - Directory of the attach records, C(<volume_id>.json) (the roles' C(volume_attach_record_dir)). A
        directory or record that is a symbolic link, or a directory others can write, is refused.
    type: path
    default: /var/lib/cinder_local/attachments
  missing_record:
    description:
      - With O(state=absent), what to do with a volume given by O(volumes[].volume_id) alone that has no attach
        record. V(fail) fails the call before any change. V(skip) leaves it out and names it in RV(no_record), so
        that a caller (the C(volume_detach) role) detaches every recorded volume at once and asks Cinder only about
        the others. A record that cannot be trusted (a symbolic link, say) fails the call either way.
    type: str
    choices: [fail, skip]
    default: fail
requirements:
  - open-iscsi (iscsiadm, a running iscsid)
  - multipath-tools (multipath, multipathd running)
  - util-linux blockdev, coreutils timeout, udevadm
  - e2fsprogs (dumpe2fs, resize2fs) or xfsprogs (xfs_info, xfs_growfs) for O(grow_filesystem) on such a filesystem
  - util-linux blkid, mount and umount, and e2fsprogs (mkfs.ext4) or xfsprogs (mkfs.xfs), for O(mounts)
  - iproute2 ip (for O(ifaces))
author:
  - cinder_local maintainers (@cinder-local)
seealso:
  - module: cinder_local.iscsi_multipath.iscsi_session
  - module: cinder_local.iscsi_multipath.multipath_device
  - plugin: cinder_local.iscsi_multipath.iscsi_targets
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Attach the volume over both portals
  cinder_local.iscsi_multipath.iscsi_volume:
    targets:
      - {portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}
      - {portal: 198.51.100.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}
    auth:
      username: x6HdhRK9NJYB5DNCnvNT
      password: "{{ chap_password }}"
  register: volume

- name: Attach from Cinder's connection_info, requiring both paths
  cinder_local.iscsi_multipath.iscsi_volume:
    targets: "{{ (connection_info | cinder_local.iscsi_multipath.iscsi_targets).targets }}"
    auth: "{{ (connection_info | cinder_local.iscsi_multipath.iscsi_targets).auth }}"
    min_paths: 2

- name: Detach it again
  cinder_local.iscsi_multipath.iscsi_volume:
    targets: "{{ volume.targets }}"
    wwid: "{{ volume.wwid }}"
    state: absent

- name: Attach several volumes at once from their connection_info
  cinder_local.iscsi_multipath.iscsi_volume:
    volumes: >-
      {{ connection_infos | map('cinder_local.iscsi_multipath.iscsi_targets') | map('dict2items')
         | map('selectattr', 'key', 'in', ['targets', 'auth']) | map('items2dict') | list }}
  register: attached

- name: Attach a volume with a managed ext4 mount (made only on a blank volume, kept in /etc/fstab)
  cinder_local.iscsi_multipath.iscsi_volume:
    volumes:
      - volume_id: 5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10
        targets: "{{ (connection_info | cinder_local.iscsi_multipath.iscsi_targets).targets }}"
        auth: "{{ (connection_info | cinder_local.iscsi_multipath.iscsi_targets).auth }}"
    mounts:
      5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10: {path: /srv/db, fstype: xfs, options: noatime}

- name: Detach it, unmounting it and removing its fstab line
  cinder_local.iscsi_multipath.iscsi_volume:
    volumes:
      - volume_id: 5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10
    state: absent
    unmount: true

- name: Detach them again
  cinder_local.iscsi_multipath.iscsi_volume:
    volumes: >-
      {{ attached.volumes | map('dict2items') | map('selectattr', 'key', 'in', ['targets', 'wwid'])
         | map('items2dict') | list }}
    state: absent
"""

RETURN = r"""
targets:
  description: The canonical targets (as given, portals normalised).
  returned: always; with O(volumes) in each entry of RV(volumes) instead
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}]
device:
  description: Path of the map, C(/dev/mapper/<name>).
  returned: state=present and a map exists
  type: str
  sample: /dev/mapper/360000000000000000e00000000010001
wwid:
  description: WWID of the volume (multipath C(uuid)).
  returned: state=present and a device was found; with O(state=absent) when given or learned
  type: str
  sample: 360000000000000000e00000000010001
dm:
  description: Kernel name of the map.
  returned: when a map exists
  type: str
  sample: dm-0
name:
  description: Map name (the WWID with C(user_friendly_names no)).
  returned: when a map exists
  type: str
  sample: 360000000000000000e00000000010001
by_id:
  description: Stable udev path of the map.
  returned: state=present and a map exists
  type: str
  sample: /dev/disk/by-id/dm-uuid-mpath-360000000000000000e00000000010001
size_bytes:
  description: Size of the volume (after its growth, predicted in check mode).
  returned: state=present and a device was found
  type: int
  sample: 2147483648
resized:
  description: Whether the volume was extended in Cinder and its map (and paths) grew to RV(size_bytes) in this call.
  returned: state=present and a device was found
  type: bool
  sample: true
previous_size_bytes:
  description: Size of the map (in check mode, of the paths) before it grew.
  returned: when RV(resized)
  type: int
  sample: 1073741824
filesystem:
  description:
    - With O(grow_filesystem=true), the filesystem mounted from the map - C(mountpoint), C(fstype), C(device),
      C(previous_size_bytes), C(size_bytes) (after the growth; the current size in check mode) and C(grown).
  returned: O(grow_filesystem=true) and a filesystem is mounted from the map
  type: dict
  sample: {mountpoint: /srv/db, fstype: ext4, device: /dev/mapper/360000000000000000e00000000010001,
           previous_size_bytes: 1073741824, size_bytes: 2147483648, grown: true}
paths:
  description: Every path that came up, with the SCSI device and the states multipathd reports.
  returned: always; with O(volumes) in each entry of RV(volumes) instead
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1, sid: 1,
            dev: sdb, dm_st: active, chk_st: ready}]
missing_paths:
  description: Targets whose login failed or whose SCSI device did not appear, with the reason.
  returned: state=present
  type: list
  elements: dict
  sample: [{portal: 198.51.100.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1,
            reason: "login failed: login to 198.51.100.1:3260 ...: connection to the portal timed out"}]
removed_devices:
  description: SCSI devices deleted.
  returned: state=absent
  type: list
  elements: str
  sample: [sdb, sdc]
replaced_devices:
  description:
    - Devices that were at a LUN before the call and were not the volume, deleted and scanned again, with the
      C(reason) (see M(cinder_local.iscsi_multipath.multipath_device)).
  returned: state=present and the devices were scanned
  type: list
  elements: dict
  sample: [{dev: sdb, portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1,
            wwid: 360000000000000000e00000000010001, size_bytes: 1073741824,
            reason: "it is 1073741824 bytes, Cinder reports 2147483648 for the volume"}]
foreign_devices:
  description:
    - Devices left alone because they are not the volume, with the C(reason); their sessions are kept (their LUN
      is in the C(in_use_luns) of RV(portals)).
  returned: state=absent
  type: list
  elements: dict
  sample: [{dev: sdd, portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1,
            wwid: 360000000000000000e00000000010002, size_bytes: 2147483648,
            reason: "it shows WWID 360000000000000000e00000000010002, not 360000000000000000e00000000010001"}]
portals:
  description:
    - One entry per (portal, IQN), in the order of O(targets). With O(state=present) - C(sid),
      C(created_node), C(logged_in), C(updated) (names of the node settings changed), C(error) when the
      login failed, C(elapsed_s). With O(state=absent) - C(logged_out), C(deleted_node), C(in_use_luns) (the LUNs
      whose devices keep the session, other volumes' and this volume's LUN when another volume sits there now).
    - With O(volumes), each entry of RV(volumes) has the entries of its own sessions; on a failure, this
      top-level list has every session of the call.
  returned: always; with O(volumes) in each entry of RV(volumes) and on failure
  type: list
  elements: dict
  sample: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", sid: 3,
            created_node: true, logged_in: true, updated: [node.session.scan], elapsed_s: 0.41}]
volumes:
  description:
    - With O(volumes), one entry per volume in the same order, each with the keys above that apply to one
      volume (RV(targets), RV(device), RV(wwid), RV(dm), RV(name), RV(by_id), RV(size_bytes), RV(paths),
      RV(missing_paths), RV(removed_devices), RV(replaced_devices), RV(foreign_devices), RV(portals)); those keys
      are then not returned at the top.
    - Each entry also has C(volume_id) and, when given or read from the attach record, C(attachment_id).
    - With O(state=absent), also on failure - a volume that was not detached has C(error), the others
      are detached.
    - C(discovery) when O(discovery) ran for the volume - C(portal), C(added) (the targets it added) and C(error)
      when it failed.
    - C(mount) for a volume with a managed mount (O(mounts)) - C(path), C(fstype), C(device) (the by-id path of the
      map), C(fstab) (the line), C(created_filesystem) (this collection made it, now or earlier), and what this call
      did or would do, C(mkfs), C(mounted) and C(fstab_changed), and C(elapsed_s) (its seconds). With O(state=absent) - C(path), C(unmounted) and
      C(fstab_removed).
    - The attach record written for a volume with C(volume_id) holds C(version) (2), C(volume_id), C(attachment_id),
      C(wwid), C(device), C(size_bytes), C(targets) (every path, also the ones that did not come up), and
      C(own_sessions) and C(own_nodes) (the targets whose session or node record an attach of this volume made), and
      C(mount) when this collection mounted it (C(path), C(fstype), C(device), C(fstab), C(created_filesystem)); no
      secret. Version 1 records (no C(mount)) are read the same way.
  returned: when O(volumes) is given
  type: list
  elements: dict
  sample: [{targets: [{portal: 192.0.2.1:3260, iqn: "iqn.2010-10.org.openstack:volume-0736e4a3", lun: 1}],
            device: /dev/mapper/360000000000000000e00000000010001, wwid: 360000000000000000e00000000010001}]
rolled_back:
  description:
    - On a failed attach, the volumes (C(volume_id), None for O(targets)) whose host side this call rolled back - the
      maps, SCSI devices, sessions and node records it made (see RV(left_behind) for what stayed).
  returned: on failure with O(state=present)
  type: list
  elements: str
  sample: [5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10]
kept:
  description:
    - On a failed attach, the volumes attached before this call (healed, see the description), which keep their map
      and the paths they had, whatever failed - a path that did not grow, a managed mount refused.
  returned: on failure with O(state=present)
  type: list
  elements: str
  sample: [5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10]
no_record:
  description:
    - With O(state=absent) and O(missing_record=skip), the volume ids left out for having no attach record.
  returned: with O(state=absent) and O(missing_record=skip)
  type: list
  elements: str
  sample: [5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10]
left_behind:
  description:
    - On a failed attach, the volumes whose map or SCSI devices made by this call the rollback could not remove,
      with those C(devices). Their Cinder attachment must stay.
  returned: on failure
  type: list
  elements: dict
  sample: [{volume_id: 5f2a3c1e-8a6b-4d3f-9c1e-2b7a4d6e8f10, devices: [sdb]}]
elapsed:
  description:
    - Seconds spent inside the module per phase. C(discovery_s) when O(ifaces) or O(discovery) ran. With
      O(state=present) - C(heal_s) (volumes attached already, see the description), C(login_s) (all portals, in
      parallel), C(devices_s) (LUN scan until the SCSI devices show up), C(map_s) (map built and usable),
      C(total_s); after a slow login (see the description) also C(slow_login_s) (from C(login_s) until the slow
      logins ended, the maps built meanwhile) and C(late_paths_s) (their paths added). With O(state=absent) -
      C(devices_s) (map and devices removed), C(logout_s), C(total_s).
  returned: always
  type: dict
  sample: {login_s: 0.52, devices_s: 0.61, map_s: 1.2, total_s: 2.4}
"""

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._device import (
    count_problem, device_argument_spec)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._filesystem import Filesystems
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._ifaces import Routes, ifaces_problem
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._iscsiadm import Iscsiadm
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._locks import (
    LockError, lock_argument_spec, targets_locked)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._mount import Mounts
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._multipath import Multipath
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._records import (
    DEFAULT_RECORD_DIR, RecordError, read_record)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._run import CommandError, Stopwatch
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._scsi import Scsi
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._session import (
    iface_problem, session_argument_spec, timing_problem)
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._targets import TargetsError
from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._volume import (
    VolumeManager, all_targets, checked_volumes, discovered_problem, identified, records_missing, volumes_problem)


def argument_spec():
    spec = dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        startup=dict(type='str', choices=['automatic', 'manual', 'onboot'], default='automatic'),
        iface=dict(type='str', default='default'),
        **dict(device_argument_spec(), **lock_argument_spec(), **session_argument_spec())
    )
    volume = dict((name, copy.deepcopy(spec[name])) for name in ('targets', 'auth', 'wwid', 'size_bytes'))
    volume['volume_id'] = dict(type='str')
    volume['attachment_id'] = dict(type='str')
    volume['discovery_auth'] = dict(type='dict', no_log=True)
    spec['volumes'] = dict(type='list', elements='dict', options=volume)
    spec['record_dir'] = dict(type='path', default=DEFAULT_RECORD_DIR)
    spec['missing_record'] = dict(type='str', choices=['fail', 'skip'], default='fail')
    spec['discovery'] = dict(type='bool', default=False)
    spec['grow_filesystem'] = dict(type='bool', default=False)
    spec['mounts'] = dict(type='dict', default={})
    spec['unmount'] = dict(type='bool', default=False)
    spec['ifaces'] = dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True), netdev=dict(type='str'), hwaddress=dict(type='str'),
        transport=dict(type='str')))
    return spec


def main():
    watch = Stopwatch()
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[('targets', 'volumes'), ('wwid', 'volumes'), ('size_bytes', 'volumes')],
                           required_one_of=[('targets', 'volumes')])
    params = module.params
    params['scan'] = 'manual'

    def record_of(volume_id):
        return read_record(params['record_dir'], volume_id)

    try:
        no_record = records_missing(params, record_of)
        if no_record:
            params['volumes'] = [volume for volume in params['volumes'] if volume['volume_id'] not in no_record]
            if not params['volumes']:
                module.exit_json(changed=False, volumes=[], no_record=no_record, elapsed={'total_s': watch.total()})
        volumes = checked_volumes(params, record_of)
    except (TargetsError, RecordError) as exc:
        module.fail_json(msg=str(exc))
    skipped = {} if no_record is None else dict(no_record=no_record)
    min_paths = params['min_paths'] if params['state'] == 'present' else 0
    problem = (timing_problem(params) or iface_problem(params['iface'])
               or volumes_problem(volumes, min_paths, detach=params['state'] == 'absent',
                                  discovery=params['discovery'] and params['state'] == 'present')
               or count_problem(params) or ifaces_problem(params['ifaces']))
    if problem:
        module.fail_json(msg=problem)
    secrets = [auth.get(name) for auth in [v[key] or {} for v in volumes for key in ('auth', 'discovery_auth')]
               for name in ('password', 'mutual_password')]
    iscsiadm, multipath, scsi = Iscsiadm(module, secrets=secrets), Multipath(module), Scsi(module)
    routes = Routes(module) if params['ifaces'] else None
    for runner in (iscsiadm, multipath, scsi, routes):  # a missing command fails here, before the first change
        if runner:
            runner.require()
    filesystems = Filesystems(module) if params['grow_filesystem'] and params['state'] == 'present' else None
    manager = VolumeManager(module, iscsiadm, multipath, scsi, routes, filesystems, Mounts(module))
    try:
        discovered = manager.prepare(volumes)
        problem = discovered_problem(volumes, discovered, min_paths)
        if problem:
            module.fail_json(msg=problem)
        # Taking the locks checks lock_dir first: a planted one fails before any change (check mode takes no lock).
        keys = [] if module.check_mode else [(t['portal'], t['iqn']) for t in all_targets(volumes)]
        with targets_locked(keys, params['lock_dir'], params['lock_timeout']):
            if params['state'] == 'present':
                results = manager.present(volumes)
            else:
                results = manager.absent(volumes)
    except LockError as exc:
        module.fail_json(msg=str(exc))
    except CommandError as exc:
        fail = dict(portals=manager.outcomes, left_behind=manager.left_behind, **exc.fail_kwargs())
        fail.update(skipped)
        if params['state'] == 'present':
            fail.update(rolled_back=manager.rolled_back, kept=manager.kept)
        if params['volumes'] is None:
            fail['targets'] = volumes[0]['targets']
        elif manager.results:
            fail['volumes'] = identified(volumes, manager.results)
        module.fail_json(**fail)
    for result, found in zip(results, discovered):
        if found:
            result['discovery'] = found
    elapsed = manager.elapsed(watch.total())
    if params['volumes'] is None:
        module.exit_json(elapsed=elapsed, **results[0])
    changed = [result.pop('changed') for result in results]
    module.exit_json(changed=any(changed), volumes=identified(volumes, results), elapsed=elapsed, **skipped)


if __name__ == '__main__':
    main()
