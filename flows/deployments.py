"""Deployments of the deployed system, created against the configured Prefect server.

- work pool ``sohoa`` (type ``process``): ``sohoa worker --pool sohoa`` (flow runs
  in the worker's own process, :mod:`flows.worker`) or Prefect's ``prefect worker
  start --pool sohoa`` (a process per run) on any machine with the project
  installed and the storage variables set adds capacity; nothing else changes
  (deployments name the flow by module path, so no code is shipped);
- ``process-dossier/process-dossier``: the flow, parameter ``request`` (branch,
  dossier id, procedure, facts: a form in the UI). How many run at once is each
  worker's own ``--limit``; ``max_in_flight``, if given, caps the whole pool (the
  work pool's concurrency limit: the server hands a worker no run beyond it, the
  runs stay Scheduled). A deployment concurrency limit is not used: runs a worker
  took beyond it went to ``AwaitingConcurrencySlot`` for the server's 30 s, and a
  second worker stalled the stream instead of adding capacity;
- ``watch-intake/watch-intake``: the watcher as a flow, optionally on an interval;
- ``renew-timestamps/renew-timestamps``: daily at 02:00 Vietnam time, a new document
  timestamp on archived bundles whose last one expires soon (:mod:`flows.retimestamp`).

OCR is limited per worker machine by the global concurrency limit the flow
creates on first use (see :func:`flows.tasks.ensure_ocr_limit`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

DEFAULT_POOL = "sohoa"
RENEWAL_CRON = "0 2 * * *"  # daily, 02:00 Vietnam time


@dataclass(frozen=True)
class Applied:
    pool: str
    deployments: dict[str, str]  # "flow/deployment" -> id


def ensure_work_pool(name: str, *, max_in_flight: int | None = None) -> None:
    """Create the process work pool unless it exists; its concurrency limit (flow runs
    at once over all its workers) set to ``max_in_flight`` (None: no limit)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            with contextlib.suppress(ObjectAlreadyExists):
                client.create_work_pool(WorkPoolCreate(
                    name=name, type="process", base_job_template=template,
                    concurrency_limit=max_in_flight))
                return
            pool = client.read_work_pool(name)
        if pool.concurrency_limit != max_in_flight:
            client.update_work_pool(name, WorkPoolUpdate(concurrency_limit=max_in_flight))


def apply_deployments(pool: str = DEFAULT_POOL, *, max_in_flight: int | None = None,
                      watch_every_s: float | None = None) -> Applied:
    """Create or update the pool and the deployments; idempotent. ``max_in_flight``:
    the pool's limit of runs at once over all workers (None: each worker's own)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from flows.dossier import process_dossier
    from flows.retimestamp import renew_timestamps
    from flows.watcher import watch_intake

    ensure_work_pool(pool, max_in_flight=max_in_flight)
    process: Any = process_dossier.to_deployment(
        name="process-dossier", work_pool_name=pool, entrypoint_type=EntrypointType.MODULE_PATH,
        concurrency_limit=None, tags=["sohoa"],
        description="One dossier from intake to a signed bundle and report in archive.",
    )
    watch: Any = watch_intake.to_deployment(
        name="watch-intake", work_pool_name=pool, entrypoint_type=EntrypointType.MODULE_PATH,
        interval=timedelta(seconds=watch_every_s) if watch_every_s else None,
        concurrency_limit=1, tags=["sohoa"],
        description="Poll intake for sealed dossiers; one process-dossier run per version.",
    )
    renewal: Any = renew_timestamps.to_deployment(
        name="renew-timestamps", work_pool_name=pool, entrypoint_type=EntrypointType.MODULE_PATH,
        schedules=[Cron(RENEWAL_CRON, timezone="Asia/Ho_Chi_Minh")], concurrency_limit=1,
        tags=["sohoa"], description="New document timestamps on archived bundles before "
        "the last one's certificate expires (each renewal a new version).",
    )
    ids = {"process-dossier/process-dossier": str(process.apply(work_pool_name=pool)),
           "watch-intake/watch-intake": str(watch.apply(work_pool_name=pool)),
           "renew-timestamps/renew-timestamps": str(renewal.apply(work_pool_name=pool))}
    return Applied(pool=pool, deployments=ids)
