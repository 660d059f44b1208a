# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This doc fragment is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

from __future__ import annotations


class ModuleDocFragment:
    """Options shared by the modules that take a volume's paths or open iSCSI sessions."""

    DOCUMENTATION = r"""
options: {}
"""

    # The paths of one volume (multipath_device, iscsi_volume).
    TARGETS = r"""
options:
  targets:
    description:
      - The paths of the volume, one per (portal, IQN, LUN); the C(targets) value of the
        P(cinder_local.iscsi_multipath.iscsi_targets#filter) filter fits here.
    type: list
    elements: dict
    suboptions:
      portal:
        description: Target portal, C(address:port) or C([ipv6]:port).
        type: str
        required: true
      iqn:
        description:
          - Target name, as iscsiadm takes it (V(iqn.), V(eui.), V(naa.) or the array's own form). White space,
            control characters, C(/) and names over 223 bytes are refused.
        type: str
        required: true
      lun:
        description:
          - LUN of the volume on that target, an integer or a string of ASCII digits, in 0..32767.
          - The number the kernel uses, as the P(cinder_local.iscsi_multipath.iscsi_targets#filter) filter returns
            it (Cinder's LUN translated for its C(addressing_mode)).
        type: raw
        required: true
"""

    # Session CHAP (iscsi_session, iscsi_volume).
    SESSION_AUTH = r"""
options:
  auth:
    description:
      - Session CHAP credentials. The C(auth) value of the
        P(cinder_local.iscsi_multipath.iscsi_targets#filter) filter fits here unchanged.
      - When omitted, C(node.session.auth.authmethod) is set to C(None).
      - Every value reaches the node record verbatim (no C($VAR) or C(~) expansion). A value holding a control
        character (a newline would write other settings into the record) is refused before anything runs,
        with a message that does not quote it.
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
"""

    # Timeouts set on each node record before login (iscsi_session, iscsi_volume).
    SESSION_TIMEOUTS = r"""
options:
  replacement_timeout:
    description:
      - C(node.session.timeo.replacement_timeout), seconds a failed session holds IO before failing it.
      - For a path in a multipath map, multipathd replaces it with its own C(fast_io_fail_tmo).
      - These five defaults are the collection's session defaults; the C(volume_attach) role and the C(initiator)
        role's C(iscsid.conf) use the same values.
    type: int
    default: 10
  noop_out_interval:
    description: C(node.conn[0].timeo.noop_out_interval), seconds between NOP-Out pings.
    type: int
    default: 1
  noop_out_timeout:
    description:
      - C(node.conn[0].timeo.noop_out_timeout), seconds before a missing NOP-In marks the path dead.
      - A cut path fails within about O(noop_out_interval) + O(noop_out_timeout) seconds, then multipathd's
        C(fast_io_fail_tmo) later IO moves to another path (4.1-4.2 s in all with 1, 2 and 1 in the lab).
    type: int
    default: 2
  login_timeout:
    description: C(node.conn[0].timeo.login_timeout), seconds for one login attempt.
    type: int
    default: 5
  login_retries:
    description: C(node.session.initial_login_retry_max), retries of the first login. A dead portal costs about
      O(login_timeout) x (O(login_retries) + 1) seconds.
    type: int
    default: 1
"""

    # Waiting for and removing a volume's map (multipath_device, iscsi_volume).
    MAP = r"""
options:
  wwid:
    description:
      - WWID of the volume (as RV(wwid) returned it). With O(state=present) the paths must show this WWID; a device
        that was at a LUN before the call and does not is replaced (see the module's description).
      - With O(state=absent) it finds the map and its paths even when sessions are already gone, and only devices
        that show this WWID are removed; any other device at the volume's LUNs is left alone (RV(foreign_devices)).
        Without it the WWID is learned from the devices at the volume's LUNs, which must all show the same one, and
        from their map, which must hold no other device; otherwise the module fails and changes nothing.
    type: str
  size_bytes:
    description:
      - Size of the volume in bytes as Cinder reports it (its C(size) in GiB x 1073741824).
      - With O(state=present) every path and the map must have this size; otherwise the module fails before it
        builds or uses a map, naming each device and both sizes. A device that was at a LUN before the call and
        has another size is replaced (see the module's description).
      - Except for a volume extended in Cinder - with O(wwid) given (for M(cinder_local.iscsi_multipath.iscsi_volume)
        also from the attach record), devices of that WWID and their map smaller than this size are the volume. Its
        paths are rescanned until they show this size (up to O(device_timeout) seconds; a path that does not grow
        fails the module, naming it, and nothing is resized), then the map is resized (C(multipathd resize map)) and
        checked (RV(resized)). Larger devices or maps are still refused.
      - With O(state=absent) devices and maps of another size are another volume's and are left alone
        (RV(foreign_devices)); leave it out when the volume was extended and the host never saw the new size.
    type: int
  min_paths:
    description: Fail when fewer paths than this came up (fewer than all only warns).
    type: int
    default: 1
  device_timeout:
    description: Seconds to wait for the SCSI devices after the LUN scan (rescanned half-way).
    type: int
    default: 20
  map_timeout:
    description:
      - Seconds to wait for multipathd to build the map, and again for it to become usable (a path the kernel
        has active in C(multipathd show maps json)).
    type: int
    default: 30
  remove_timeout:
    description: Seconds to wait for deleted SCSI devices to vanish and multipathd to drop them.
    type: int
    default: 30
  flush_retries:
    description: Attempts of C(multipath -f) before giving up (or deleting the map with O(force=true)).
    type: int
    default: 3
"""

    # The host-wide lock per (portal, IQN) (iscsi_session, iscsi_volume).
    LOCKS = r"""
options:
  lock_dir:
    description:
      - Directory of the per-(portal, IQN) lock files, shared by every module of the collection.
      - Created with mode C(0700) when missing. It must be a directory (not a symbolic link) owned by root or by the
        user running the module, with no permission for group or others; anything else is refused before any
        command runs, since whoever controls it could hold every lock or make the module create files elsewhere.
        Lock files are opened without following symbolic links.
      - The default lies in C(/run), which only root may write to. Do not use a world-writable directory such as
        C(/run/lock) or C(/tmp) itself.
    type: path
    default: /run/cinder_local-iscsi_multipath
  lock_timeout:
    description: Seconds to wait for another run holding the lock of a (portal, IQN).
    type: int
    default: 120
"""
