# Benchmark-only callback: one JSON line per task result (name, role, start, end,
# and the parsed stdout of tasks that print JSON), appended to $BENCH_TIMER_OUT.
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_timer
type: aggregate
short_description: task timings for bench/ (not part of the collection)
description: Writes one JSON line per task result to the file named by BENCH_TIMER_OUT.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._out = os.environ.get("BENCH_TIMER_OUT", "/tmp/bench/timer.jsonl")
        self._started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.time()

    def v2_runner_on_start(self, host, task):
        self._started[task._uuid] = time.time()

    def _record(self, result, status):
        task = result._task
        res = result._result
        line = {"name": task.get_name(), "role": task._role.get_name() if task._role else None,
                "action": task.action, "status": status, "changed": bool(res.get("changed")),
                "start": self._started.get(task._uuid), "end": time.time()}
        stdout = res.get("stdout") or ""
        if stdout.startswith("{"):
            try:
                line["json"] = json.loads(stdout)
            except ValueError:
                pass
        # iscsi_volume's own seconds per phase (of each item of a loop)
        found = [item.get("elapsed") for item in [res] + list(res.get("results") or [])
                 if isinstance(item, dict) and isinstance(item.get("elapsed"), dict)]
        if found:
            line["elapsed"] = found
        if status == "failed":
            line["msg"] = str(res.get("msg", ""))[:500]
        with open(self._out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")
