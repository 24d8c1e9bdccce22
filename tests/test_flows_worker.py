"""``sohoa worker``'s own bookkeeping: one execution of a flow run at a time here.

A run resumed right after it suspended is handed out again while its first
execution is still ending in the worker's process. Prefect keeps a run's
suspension per run id and process: the ending execution suspended the new one
before it started, and the run stayed Running (found by the review tests under
load). The stack tests run the real worker; here the executions are stand-ins
(the fault injected: an execution slow to end) so the order is certain.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import anyio
import pytest

from flows import worker as worker_module
from flows.worker import InProcessJobConfiguration, InProcessWorker


def executions(monkeypatch: pytest.MonkeyPatch, first_ends_after_s: float) -> list[tuple[Any, ...]]:
    """Stand-in for ``run_flow_run``: the first execution is slow to end; each one
    records when it started and ended and what else was running then."""
    log: list[tuple[Any, ...]] = []
    running: set[int] = set()
    lock = threading.Lock()

    def run_flow_run(flow_run_id: Any) -> int:
        with lock:
            n = len(log)
            log.append(("start", n, time.monotonic(), frozenset(running)))
            running.add(n)
        time.sleep(first_ends_after_s if n == 0 else 0.05)
        with lock:
            running.discard(n)
            log.append(("end", n, time.monotonic(), frozenset(running)))
        return 0

    monkeypatch.setattr(worker_module, "run_flow_run", run_flow_run)
    return log


def flow_run() -> Any:
    """What the worker reads of a flow run here: its id."""
    return SimpleNamespace(id=uuid4())


def test_a_run_handed_out_again_starts_after_its_previous_execution_ended(
        monkeypatch: pytest.MonkeyPatch) -> None:
    log = executions(monkeypatch, first_ends_after_s=0.6)
    worker = InProcessWorker(work_pool_name="sohoa")
    run = flow_run()
    seen_waiting: list[list[str]] = []

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(worker.run, run, InProcessJobConfiguration())
            await anyio.sleep(0.2)  # the first is running: the run is handed out again
            group.start_soon(worker.run, run, InProcessJobConfiguration())
            await anyio.sleep(0.2)
            seen_waiting.append(sorted(str(r) for r in getattr(worker, "_waiting", ())))

    anyio.run(main)
    starts = [entry for entry in log if entry[0] == "start"]
    ends = {entry[1]: entry[2] for entry in log if entry[0] == "end"}
    assert len(starts) == 2
    assert starts[1][3] == frozenset()  # nothing of the run was running when it started
    assert starts[1][2] >= ends[0]
    assert seen_waiting == [[str(run.id)]]  # a stop meanwhile hands it back too
    assert worker._in_flight == set() and worker._waiting == set()


def test_different_runs_do_not_wait_for_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    log = executions(monkeypatch, first_ends_after_s=0.6)
    worker = InProcessWorker(work_pool_name="sohoa")

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(worker.run, flow_run(), InProcessJobConfiguration())
            await anyio.sleep(0.2)
            group.start_soon(worker.run, flow_run(), InProcessJobConfiguration())

    anyio.run(main)
    second = [entry for entry in log if entry[0] == "start"][1]
    assert second[3] == frozenset({0})  # started while the first was still running
