"""``sohoa worker``: a worker of the ``sohoa`` pool that runs flow runs in its own process.

Prefect's process worker starts a new Python process for every flow run: imports
(Prefect, OpenCV, scikit-learn, pyHanko), the engine's set-up, the classifier
and the signer, 5 to 10 s of CPU per dossier on a 2-core machine, about as much
as a small dossier's OCR. This worker is Prefect's own process worker
(``ProcessWorker``: same pool type, job template, polling, concurrency limit,
heartbeats, pending-run cancellation) with one change: a flow run it picks up
runs in a thread of the worker's long-lived process, through Prefect's flow
engine (``run_flow``), as ``prefect.engine`` runs it in a new process. Every
dossier stays its own flow run in the UI, with its states, task runs, logs and
artifacts; what the runs share is what was already loaded.

What differs from a process per run: a run whose job variables (the pool's
template, its deployment's or its own) set ``env``, ``command`` or
``working_dir`` cannot have them in a shared process, so it runs in a process of
its own exactly as Prefect's process worker runs it (they apply; it pays the
process start); every other run sees the worker's own environment. A run
cancelled while it runs (from the UI or the API) is not killed with its process
but stops before its next page, its bundle or its delivery
(``flows.tasks.stop_if_cancelled``: pages being read finish first), delivers
nothing and ends Cancelled. When the
worker is stopped (SIGTERM, Ctrl-C) it hands its runs in flight back to the pool
(Crashed, then Scheduled: another worker, or this one started again, runs them
from their persisted page results) and exits at once; a crash of the process
(not an exception: those fail their own run) leaves them Running, and ``sohoa
recover`` schedules them again. Prefect's
``prefect worker start --pool sohoa`` still serves the same pool (a process per
run), so both kinds of worker can share it.

A run that ended here frees its slot at once and the worker asks for the next run
then, not at its next poll; Prefect's heartbeat thread of the run is told to stop and
not waited for. On a stream of small dossiers a slot otherwise stayed empty 0.5 to
1.8 s after each run (bench/README.md, "A slot freed is taken at once").
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any
from uuid import UUID

import anyio
import anyio.abc
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker, ProcessWorkerResult
from pydantic import PrivateAttr

from flows.tasks import cancel_in_process, forget_cancel, runs_share_this_process

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from prefect.flows import Flow

log = logging.getLogger("sohoa.worker")

#: how often the worker asks the server for cancelled runs when its event stream is down
CANCEL_POLL_S = 10.0
#: how often a run handed out again looks whether its previous execution has ended
AFTER_PREVIOUS_POLL_S = 0.1


class InProcessJobConfiguration(ProcessJobConfiguration):
    """Prefect's process job configuration, noting what the run asks of its process
    before Prefect fills in the defaults (the worker's environment, the engine command)."""

    _asks: tuple[str, ...] = PrivateAttr(default=())

    def prepare_for_flow_run(self, flow_run: Any, deployment: Any = None, flow: Any = None,
                             work_pool: Any = None, worker_name: str | None = None,
                             worker_id: UUID | None = None) -> None:
        asks = [f"env {', '.join(sorted(self.env))}"] if self.env else []
        asks += ["command"] if self.command is not None else []
        asks += ["working_dir"] if self.working_dir is not None else []
        self._asks = tuple(asks)
        super().prepare_for_flow_run(flow_run, deployment, flow, work_pool, worker_name,
                                     worker_id=worker_id)

    @property
    def asks(self) -> tuple[str, ...]:
        """What the run's job variables set (variable names only: values may be secret)."""
        return self._asks


class InProcessWorker(ProcessWorker):
    """A ``process``-pool worker whose flow runs run in its own process (one thread each)."""

    _description = "Runs the flow runs of a process pool in threads of the worker's own process."
    _display_name = "In-process (sohoa)"
    job_configuration = InProcessJobConfiguration

    @classmethod
    def __dispatch_key__(cls) -> str:
        """Registered under a key of its own: Prefect's ``process`` type stays its worker."""
        return "sohoa-in-process"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_flight: set[UUID] = set()
        self._waiting: set[UUID] = set()  # handed out again while still in flight
        self._lock = threading.Lock()
        self._cancels: Any = None
        self._ended: set[UUID] = set()  # ran here to its end, its slot not yet freed
        self._polling = self._poll_again = False
        runs_share_this_process()
        _heartbeats_not_awaited()

    async def __aenter__(self) -> InProcessWorker:
        """Prefect's worker set-up, and the observer Prefect's process worker keeps for
        the runs it runs (a run set to Cancelling: the server's events, polling as
        fallback), here for the runs in this process."""
        from prefect._internal.observers import FlowRunCancellingObserver

        await super().__aenter__()
        self._cancels = await self._exit_stack.enter_async_context(
            FlowRunCancellingObserver(on_cancelling=self._cancel_in_flight,
                                      polling_interval=CANCEL_POLL_S))
        return self

    def _cancel_in_flight(self, flow_run_id: UUID) -> None:
        log.warning("flow run %s cancelled: it stops before its next page, bundle or "
                    "delivery", flow_run_id)
        cancel_in_process(flow_run_id)

    async def run(
        self,
        flow_run: FlowRun,
        configuration: ProcessJobConfiguration,
        task_status: anyio.abc.TaskStatus[Any] | None = None,
    ) -> ProcessWorkerResult:
        asks = configuration.asks if isinstance(configuration, InProcessJobConfiguration) else ()
        if asks:
            log.info("flow run %s sets %s: it runs in a process of its own", flow_run.id,
                     "; ".join(asks))
            return await super().run(flow_run, configuration, task_status)
        where = f"{socket.gethostname()}:{os.getpid()} (in process)"
        if task_status is not None:
            task_status.started(where)  # the run's infrastructure id: this process
        await self._after_previous(flow_run.id)
        if self._cancels is not None:
            self._cancels.add_in_flight_flow_run_id(flow_run.id)
        try:
            code = await anyio.to_thread.run_sync(run_flow_run, flow_run.id,
                                                  abandon_on_cancel=False)
        finally:
            if self._cancels is not None:
                self._cancels.remove_in_flight_flow_run_id(flow_run.id)
            forget_cancel(flow_run.id)
            with self._lock:  # last: a later execution of the run may start now
                self._in_flight.discard(flow_run.id)
            self._ended.add(flow_run.id)
        return ProcessWorkerResult(status_code=code, identifier=where)

    def _release_limit_slot(self, flow_run_id: UUID) -> None:
        """Prefect's, then, when a run that ran here has ended, a poll at once: its slot
        does not wait for the next poll (``PREFECT_WORKER_QUERY_SECONDS``)."""
        super()._release_limit_slot(flow_run_id)
        if flow_run_id not in self._ended:
            return
        self._ended.discard(flow_run_id)
        if self._polling:  # one poll at a time: the one under way asks once more
            self._poll_again = True
            return
        if self._runs_task_group is None:
            return
        self._polling = True
        try:
            self._runs_task_group.start_soon(self._poll_now)
        except RuntimeError:  # the worker is stopping
            self._polling = False

    async def _poll_now(self) -> None:
        try:
            again = True
            while again:
                self._poll_again = False
                await self.get_and_submit_flow_runs()
                again = self._poll_again
        except Exception as exc:  # noqa: BLE001 - the periodic poll takes over
            log.debug("poll after a run ended: %s", exc)
        finally:
            self._polling = False

    async def _after_previous(self, run_id: UUID) -> None:
        """Mark ``run_id`` in flight here once no earlier execution of it is.

        A run resumed right after it suspended is handed out again while its first
        execution is still ending in this process; Prefect keeps a run's suspension
        per run id and process, so the ending execution would suspend the new one
        before it starts (which then ends without a state, the run left Running).
        The new execution waits (the run stays Pending) until the first has ended."""
        waited = False
        while True:
            with self._lock:
                if run_id not in self._in_flight:
                    self._in_flight.add(run_id)
                    self._waiting.discard(run_id)
                    return
                self._waiting.add(run_id)
            if not waited:
                log.info("flow run %s: its previous execution is still ending here; it "
                         "starts when that has ended", run_id)
                waited = True
            await anyio.sleep(AFTER_PREVIOUS_POLL_S)

    def hand_back(self) -> list[str]:
        """Give the runs in flight back to the pool (Crashed, then Scheduled), before
        the process ends under them; the ids of those handed back. A run that ended
        meanwhile keeps its final state (the Crashed proposal is then rejected)."""
        from prefect.client.orchestration import get_client
        from prefect.states import Crashed, Scheduled

        with self._lock:
            runs = sorted(self._in_flight | self._waiting, key=str)
        handed: list[str] = []
        with get_client(sync_client=True) as client:
            for run_id in runs:
                try:
                    result: Any = client.set_flow_run_state(
                        run_id, Crashed(message="the worker running it was stopped"))
                    if result.status.value == "ACCEPT":
                        client.set_flow_run_state(run_id, Scheduled(), force=True)
                        handed.append(str(run_id))
                except Exception as exc:  # noqa: BLE001 - sohoa recover is the fallback
                    log.warning("flow run %s could not be handed back: %s", run_id, exc)
        return handed


def _heartbeats_not_awaited() -> None:
    """Flow runs of this process stop their heartbeat thread without waiting for it.

    Prefect's flow engine sends a run's heartbeats from a thread that sleeps a second at
    a time, and at the run's end waits for it to notice (up to 1 s, 0.5 s on average)
    before the run returns and frees its slot, its final state already set. Here the
    thread is told to stop and ends on its own within that second (it sends nothing
    once told: Prefect's own choice for async flows, ``join_on_exit=False``)."""
    import prefect.flow_engine as engine

    sends = engine._send_heartbeats
    if getattr(sends, "not_awaited", False):
        return

    def not_awaited(run_engine: Any, join_on_exit: bool = True) -> Any:
        return sends(run_engine, join_on_exit=False)

    not_awaited.not_awaited = True  # type: ignore[attr-defined]
    engine._send_heartbeats = not_awaited  # type: ignore[assignment]


def run_flow_run(flow_run_id: Any) -> int:
    """Run one flow run here, as ``python -m prefect.engine FLOW_RUN_ID`` runs it in a
    process of its own; the exit code that process would have had (0: the engine
    settled the run's state, paused or suspended included; 1: it failed)."""
    from prefect.exceptions import Abort, Pause
    from prefect.flow_engine import flow_run_logger, load_flow_run, run_flow

    flow_run = load_flow_run(flow_run_id)
    logger = flow_run_logger(flow_run=flow_run)
    try:
        flow = _flow_of(flow_run)
    except Exception:  # noqa: BLE001 - the worker marks the run crashed
        logger.error("Unexpected exception encountered when trying to load flow",
                     exc_info=True)
        return 1
    try:
        run_flow(flow, flow_run=flow_run, error_logger=logger)  # type: ignore[arg-type]
    except (Abort, Pause):
        return 0
    except Exception:  # noqa: BLE001 - the engine has failed the run and logged why
        return 1
    return 0


def _flow_of(flow_run: FlowRun) -> Flow[..., Any]:
    """The flow of a deployment's run, imported from its entrypoint (a module path,
    or ``file.py:function``). No pull steps run: they would change this process's
    working directory under the other runs; the code is this worker's own."""
    from prefect.client.orchestration import get_client
    from prefect.flows import load_flow_from_entrypoint

    if flow_run.deployment_id is None:
        raise RuntimeError(f"flow run {flow_run.id} has no deployment: nothing to load")
    with get_client(sync_client=True) as client:
        entrypoint = client.read_deployment(flow_run.deployment_id).entrypoint
    if not entrypoint:
        raise RuntimeError(f"deployment {flow_run.deployment_id} has no entrypoint")
    return load_flow_from_entrypoint(entrypoint, use_placeholder_flow=False)


def serve_pool(pool: str, *, name: str | None = None, limit: int | None = None,
               with_healthcheck: bool = False) -> None:
    """Poll ``pool`` and run what it hands out until SIGTERM or Ctrl-C; then hand the
    runs in flight back and end the process at once (their threads with it)."""
    import signal

    worker = InProcessWorker(work_pool_name=pool, name=name, limit=limit)

    def stop(signum: int, frame: object) -> None:
        handed = worker.hand_back()
        log.warning("stopped (%s): %d run(s) in flight handed back to the pool%s",
                    signal.Signals(signum).name, len(handed),
                    f": {', '.join(handed)}" if handed else "")
        logging.shutdown()
        os._exit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    anyio.run(lambda: worker.start(with_healthcheck=with_healthcheck))
