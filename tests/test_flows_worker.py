"""``sohoa worker``'s own bookkeeping: one execution of a flow run at a time here; a
slot freed by a run that ended is taken at once.

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
import prefect.flow_engine
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.deployments.runner import EntrypointType
from prefect.settings import PREFECT_API_URL, PREFECT_WORKER_QUERY_SECONDS, temporary_settings

from flows import worker as worker_module
from flows.deployments import ensure_work_pool
from flows.embedded_api import EmbeddedApi
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


@flow(name="worker-probe")
def probe(seconds: float) -> float:
    """A run of the probe pool: it waits ``seconds``."""
    time.sleep(seconds)
    return seconds


def test_a_slot_freed_by_a_run_that_ended_is_taken_at_once(api: EmbeddedApi) -> None:
    """A real API server, a worker of two runs at a time that polls every 60 s, five
    runs: each waiting run starts when one ends, not at the next poll."""
    ended = runs_on_a_worker(api, [0.5] * 5, limit=2)
    assert [r.state.type.value for r in ended] == ["COMPLETED"] * 5
    for run in ended:  # never more than two at once
        assert sum(o.start_time < run.start_time < o.end_time for o in ended) <= 1
    first_end = min(r.end_time for r in ended)
    assert (max(r.end_time for r in ended) - first_end).total_seconds() < 20  # not 60


def test_a_slot_freed_while_the_worker_polls_is_taken_by_a_poll_after(
        api: EmbeddedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fault injected: each poll ends 1.5 s after it has handed out its runs. The
    second run ends while the poll for the first's slot is still under way, and its
    slot is not left for the next timed poll."""
    polls = InProcessWorker.get_and_submit_flow_runs

    async def slow_poll(self: InProcessWorker) -> Any:
        taken = await polls(self)
        await anyio.sleep(1.5)
        return taken

    monkeypatch.setattr(InProcessWorker, "get_and_submit_flow_runs", slow_poll)
    ended = runs_on_a_worker(api, [0.5, 1.0, 0.5, 0.5], limit=2)
    assert [r.state.type.value for r in ended] == ["COMPLETED"] * 4
    first_end = min(r.end_time for r in ended)
    assert (max(r.end_time for r in ended) - first_end).total_seconds() < 20  # not 60


def runs_on_a_worker(api: EmbeddedApi, seconds: list[float], *, limit: int) -> list[Any]:
    """Probe runs of ``seconds`` each, created before a worker of ``limit`` runs at once
    (polling every 60 s) starts on the real API server ``api``; the runs as they ended."""
    with temporary_settings(updates={PREFECT_API_URL: api.url,
                                     PREFECT_WORKER_QUERY_SECONDS: 60}):
        ensure_work_pool("probe-pool")
        deployment: Any = probe.to_deployment(
            name="probe", work_pool_name="probe-pool",
            entrypoint_type=EntrypointType.MODULE_PATH)
        deployment_id = deployment.apply(work_pool_name="probe-pool")
        with get_client(sync_client=True) as client:
            runs = [client.create_flow_run_from_deployment(
                deployment_id, parameters={"seconds": s}) for s in seconds]
        worker = InProcessWorker(work_pool_name="probe-pool", limit=limit)
        return anyio.run(serve_until_final, worker, [r.id for r in runs])


async def serve_until_final(worker: InProcessWorker, run_ids: list[Any]) -> list[Any]:
    """Run the worker until every run is final (at most 40 s); the runs as they ended."""
    with anyio.fail_after(40):
        async with anyio.create_task_group() as group:
            group.start_soon(worker.start)
            async with get_client() as client:
                while True:
                    runs = [await client.read_flow_run(i) for i in run_ids]
                    if all(r.state is not None and r.state.is_final() for r in runs):
                        group.cancel_scope.cancel()
                        return runs
                    await anyio.sleep(0.2)
    raise AssertionError("unreachable")


def test_a_run_ending_does_not_wait_for_its_heartbeat_thread() -> None:
    """Prefect's heartbeat thread sleeps a second at a time; a run of the worker's
    process returns without waiting for it to notice the end (Prefect's own
    ``_send_heartbeats``, here with a run that sends nothing)."""
    InProcessWorker(work_pool_name="sohoa")
    sent: list[float] = []
    engine = SimpleNamespace(
        heartbeat_seconds=30, flow_run=None, logger=SimpleNamespace(debug=lambda *a, **k: None),
        _build_heartbeat_event_template=lambda: (None, None),
        _emit_flow_run_heartbeat=lambda resource, related: sent.append(time.monotonic()))
    with prefect.flow_engine._send_heartbeats(engine):  # type: ignore[arg-type]
        time.sleep(0.1)  # the thread has sent its first heartbeat and sleeps
        leaving = time.monotonic()
    assert len(sent) == 1
    assert time.monotonic() - leaving < 0.5  # Prefect's own waits up to 1 s (here ~0.9 s)
