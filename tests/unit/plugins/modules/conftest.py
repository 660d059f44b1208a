# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.cinder_local.iscsi_multipath.tests.unit.plugins.modules.utils import (  # noqa: F401 pylint: disable=unused-import
    harness,
    sysfs,
)
