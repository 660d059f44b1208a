# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The identity decisions of _device (issue 11, items 1 and 2): pure functions, no host."""

from __future__ import annotations

import pytest

from ansible_collections.cinder_local.iscsi_multipath.plugins.module_utils._device import (
    common_wwid,
    identity_mismatch,
    learned_wwid,
    map_problem,
    size_mismatch,
    size_problem,
    stale_reason,
)

X, Y = '360000000000000000000000000000001', '360000000000000000000000000000002'
GIB = 1 << 30
A = {'dev': 'sda', 'portal': '192.0.2.1:3260', 'iqn': 'iqn.2010-10.org.openstack:t', 'lun': 3, 'wwid': X,
     'size_bytes': GIB}


@pytest.mark.parametrize('path, before, udev, reference, size, expected', [
    (A, X, X, None, None, None),
    (A, X, X, X, GIB, None),
    (dict(A, wwid=None), X, X, None, None, 'its WWID cannot be read after a rescan'),
    (dict(A, wwid=Y), X, X, Y, None, 'its WWID changed from %s to %s on rescan' % (X, Y)),
    (A, None, None, None, None, None),  # unreadable before the rescan: nothing to compare
    (A, X, Y, None, None, 'udev still records WWID %s for it, not %s' % (Y, X)),
    (A, X, X, Y, None, "it shows WWID %s, not the volume's %s" % (X, Y)),
    (A, X, X, None, 2 * GIB, 'it is %d bytes, Cinder reports %d for the volume' % (GIB, 2 * GIB)),
], ids=['same', 'same_as_expected', 'unreadable', 'changed_on_rescan', 'unreadable_before', 'udev_old',
        'other_than_reference', 'other_size'])
def test_stale_reason(path, before, udev, reference, size, expected):
    assert stale_reason(path, before, udev, reference, size) == expected


def test_common_wwid():
    b = dict(A, dev='sdb', portal='198.51.100.1:3260')
    assert common_wwid([A, b]) == X and common_wwid([]) is None and common_wwid([A, dict(b, wwid=Y)]) is None
    assert common_wwid([dict(A, wwid=None)]) is None


def test_size_mismatch_names_each_device_and_both_sizes():
    assert size_mismatch([A], None) is None and size_mismatch([A], GIB) is None
    assert size_mismatch([A], 2 * GIB).startswith(
        '/dev/sda (192.0.2.1:3260 iqn.2010-10.org.openstack:t LUN 3) is %d bytes, but Cinder reports %d bytes for '
        'the volume. Refusing to build or use a map' % (GIB, 2 * GIB))
    assert size_problem(None) is None and size_problem(1) is None
    assert size_problem(0, 'volumes[2].size_bytes') == 'volumes[2].size_bytes must be 1 or more, got 0'


@pytest.mark.parametrize('facts, expected', [
    ({'slaves': ['sda']}, None),
    ({'slaves': []}, None),  # a map without paths: ours to add them to, when of the WWID and size
    ({'slaves': ['sda', 'sdz']}, 'multipath map dm-4 (mpatha) holds /dev/sdz, which is not a device at one of this '
                                 "volume's (portal, IQN, LUN): refusing to use it"),
    ({'uuid': 'mpath-' + Y}, 'multipath map dm-4 (mpatha) is the map of mpath-%s, not of WWID %s' % (Y, X)),
    ({'size_bytes': 2 * GIB}, 'multipath map dm-4 (mpatha) is %d bytes but the paths are %d bytes: it is left from '
                              'another volume at this LUN, or the volume was extended without resizing the map '
                              '(multipathd resize map mpatha)' % (2 * GIB, GIB)),
], ids=['own', 'empty', 'foreign_path', 'other_wwid', 'other_size'])
def test_map_problem(facts, expected):
    found = dict({'dm': 'dm-4', 'name': 'mpatha', 'uuid': 'mpath-' + X, 'size_bytes': GIB, 'slaves': ['sda']}, **facts)
    problem = map_problem(found, [A], X)
    assert problem is None if expected is None else problem.startswith(expected)


# item 2: what a detach takes for the volume


def test_identity_mismatch():
    assert identity_mismatch(A, X, GIB) is None and identity_mismatch(A, None, None) is None
    assert identity_mismatch(A, Y, None) == 'it shows WWID %s, not %s' % (X, Y)
    assert identity_mismatch(dict(A, wwid=None), Y, None) == 'it shows WWID (unreadable), not %s' % Y
    assert identity_mismatch(A, X, 2 * GIB) == 'it is %d bytes, not %d' % (GIB, 2 * GIB)


def test_learned_wwid():
    b = dict(A, dev='sdb', portal='198.51.100.1:3260')
    assert learned_wwid([A, b]) == (X, None)
    assert learned_wwid([A, dict(b, wwid=Y)]) == (None, (
        "the devices at the volume's LUNs show different WWIDs: /dev/sda (192.0.2.1:3260 iqn.2010-10.org.openstack:t "
        'LUN 3): %s; /dev/sdb (198.51.100.1:3260 iqn.2010-10.org.openstack:t LUN 3): %s' % (X, Y)))
    assert learned_wwid([dict(A, wwid=None)])[1] == 'cannot read the WWID of /dev/sda (192.0.2.1:3260 ' \
        'iqn.2010-10.org.openstack:t LUN 3)'
