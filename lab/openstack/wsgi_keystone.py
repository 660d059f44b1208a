# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lab only: Keystone's WSGI app for gunicorn (config from OS_KEYSTONE_CONFIG_FILES).

Keystone's factory parses sys.argv[1:] with oslo.config; under gunicorn that is gunicorn's own
command line, so it is cut before the import.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.server.wsgi import initialize_public_application  # noqa: E402

application = initialize_public_application()
