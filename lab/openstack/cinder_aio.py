# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lab only: cinder-api, cinder-scheduler and every cinder-volume backend in ONE process.

oslo.messaging's in-memory fake:// transport carries the RPC, which only works inside one
process; that saves a message broker (measured: ~3 s and 190 MiB instead of ~11 s and 820 MiB).
Each service is the stock Cinder class, launched as cinder/cmd/{api,scheduler,volume}.py do.
Known limit: Service keeps its DB id in a class attribute, so all heartbeats land on the row of
the last service created; openstack-lab sets service_down_time high so none is seen as down.

usage: python cinder_aio.py --config-file cinder.conf
"""

from cinder import monkey_patch  # isort: skip

monkey_patch.patch()

import logging as python_logging  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402

import os_brick  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
from oslo_privsep import priv_context  # noqa: E402
from oslo_service import service as oslo_service  # noqa: E402

from cinder import i18n  # noqa: E402

i18n.enable_lazy()

from cinder import coordination, objects, rpc, service, utils, version  # noqa: E402
from cinder.common import config, constants  # noqa: E402

CONF = cfg.CONF


def main():
    objects.register_all()
    CONF(sys.argv[1:], project="cinder", version=version.version_string())
    config.set_middleware_defaults()
    logging.setup(CONF, "cinder")
    python_logging.captureWarnings(True)
    priv_context.init(root_helper=shlex.split(utils.get_root_helper()))
    os_brick.setup(CONF)
    coordination.COORDINATOR.start()
    rpc.init(CONF)
    launcher = oslo_service.ServiceLauncher(CONF, restart_method="mutate")
    for backend in filter(None, CONF.enabled_backends):
        launcher.launch_service(service.Service.create(
            host="%s@%s" % (CONF.host, backend), service_name=backend,
            binary=constants.VOLUME_BINARY, coordination=True))
    launcher.launch_service(service.Service.create(binary=constants.SCHEDULER_BINARY))
    launcher.launch_service(service.WSGIService("osapi_volume"))
    launcher.wait()


if __name__ == "__main__":
    main()
