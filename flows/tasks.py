"""Prefect tasks: each a thin wrapper over one pipeline function.

Storage and the work area are passed in by the flow, never looked up here.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, TaskRunContext

from models.schemas import Report
from pipeline import delivery, inventory
from pipeline.assemble import Plan, bookmarks
from pipeline.delivery import IntakeDossier, Place, Places
from pipeline.errors import EnvironmentFault, RunCancelled, SohoaError, is_retryable
from pipeline.fileio import write_atomic
from pipeline.imaging.ingest import load_page
from pipeline.inventory import PageJob
from pipeline.outcome import PageOutcome
from pipeline.page import PageConfig, process_page
from pipeline.pdf import ArchiveMetadata, BundlePage, write_bundle
from pipeline.sign.archival import Archival
from pipeline.sign.signer import SignMeta, sign_file
from pipeline.storage import Storage
from pipeline.types import PageRef

# Waits between attempts of a task that talks to storage: 52 s in all, so an S3
# server unreachable for 30 s is ridden out (tests/test_faults_storage.py).
STORAGE_RETRY_DELAYS_S: list[float] = [2, 5, 10, 15, 20]


def retry_if_retryable(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only errors the pipeline marks retryable (storage, network)."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we inspect, not swallow
        return is_retryable(exc)
    return False


STORAGE_TASK: dict[str, Any] = {
    "cache_policy": NO_CACHE, "retries": len(STORAGE_RETRY_DELAYS_S),
    "retry_delay_seconds": STORAGE_RETRY_DELAYS_S, "retry_condition_fn": retry_if_retryable,
}


def page_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """The page's content, its place in the file, its name, and what processes it
    (``made_by``: the page stage's code, Tesseract's version, the configuration)."""
    job: PageJob = parameters["job"]
    made_by: str = parameters["made_by"]
    # The name is part of the key: a cached outcome carries its file's name, so the
    # same content under another name (a page handed in twice) must not reuse it.
    name = hashlib.sha256(job.source.encode()).hexdigest()[:12]
    return f"page-{job.sha256}-{job.page}-{made_by}-{name}"


@task(name="read-intake", **STORAGE_TASK)
def read_intake_task(storage: Storage, place: Place) -> IntakeDossier:
    return delivery.read_intake(storage, place)


@task(name="inventory", **STORAGE_TASK)
def inventory_task(storage: Storage, place: Place, names: tuple[str, ...], *,
                   present: tuple[str, ...], work_dir: Path
                   ) -> tuple[list[PageJob], list[PageOutcome]]:
    """Every page of every input, or the reason an input has none we can read."""
    return inventory.inventory(storage, place.bucket, place.prefix, names, present=present,
                               work_dir=work_dir)


@task(
    name="process-page",
    task_run_name="page {job.source}#{job.page}",
    cache_key_fn=page_cache_key,
    cache_expiration=timedelta(days=30),
    persist_result=True,
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=retry_if_retryable,
)
def process_page_task(job: PageJob, *, config: PageConfig, made_by: str, storage: Storage,
                      work_dir: Path, ocr_limit: str | None = None) -> PageOutcome:
    """Load, clean, OCR and encode one page; a bad page becomes an outcome with an error.

    A fault of the machine (a program gone missing) fails the task instead: it is
    not a page result and must never be cached as one.
    """
    stop_if_cancelled()
    ref = PageRef(job.source, job.page)
    try:
        data = inventory.read_job(storage, job, work_dir)
        with ocr_slot(ocr_limit):  # decoding (a PDF page: rasterising) is core work too
            done = process_page(load_page(ref, data), config=config)
    except EnvironmentFault:
        raise
    except SohoaError as exc:
        if exc.retryable:
            raise
        return PageOutcome(ref=ref, error=exc.message)
    except Exception as exc:  # noqa: BLE001 - one bad page must not sink the dossier
        return PageOutcome(ref=ref, error=f"{job.source}: page {job.page} could not be "
                                          f"processed ({type(exc).__name__})")
    image_ref = None
    if done.image is not None:
        path = work_dir / "pages" / f"{page_cache_key(None, {'job': job, 'made_by': made_by})}.jpg"  # type: ignore[arg-type]
        write_atomic(path, done.image.data)
        image_ref = str(path)
    return PageOutcome.of(ref, done, image_ref=image_ref)


@task(name="assemble-bundle", cache_policy=NO_CACHE)
def assemble_bundle(plan: Plan, *, marks_from: Any, meta: ArchiveMetadata,
                    created: datetime, folder: Path) -> Path:
    """``folder/bundle.pdf``, each page image read from the work area when it is added."""
    def pages() -> Iterator[BundlePage]:
        for o in plan.bundle_outcomes:
            assert o.image is not None and o.ocr is not None
            yield BundlePage(image=replace(o.image, data=o.image_bytes()), words=o.ocr.words,
                             ocr_width=o.ocr.width, ocr_height=o.ocr.height)

    path = folder / "bundle.pdf"
    write_bundle(pages(), path, outline=bookmarks(plan, marks_from), meta=meta,
                 created=created, scratch=folder)
    return path


#: a timestamp authority or a CA's OCSP/CRL server that does not answer: try again
SIGN_RETRY_DELAYS_S: list[float] = [5, 30, 120]


@task(name="sign-bundle", cache_policy=NO_CACHE, persist_result=False,
      retries=len(SIGN_RETRY_DELAYS_S), retry_delay_seconds=SIGN_RETRY_DELAYS_S,
      retry_condition_fn=retry_if_retryable)
def sign_bundle(pdf: Path, *, signer: Any, meta: SignMeta, archival: Archival | None) -> Path:
    """PAdES B-B, or B-LTA with the timestamp authority (pipeline.sign): ``signed.pdf``
    beside ``pdf``, file to file."""
    signed = pdf.with_name("signed.pdf")
    sign_file(pdf, signed, signer=signer, meta=meta, archival=archival)
    return signed


@task(name="deliver", **STORAGE_TASK)
def deliver_task(storage: Storage, places: Places, intake: IntakeDossier, *,
                 bundle: Path | None, report: Report, consume_intake: bool) -> str | None:
    """Bundle, originals, quarantine, report last (verified); then clear intake."""
    link = delivery.deliver(storage, places, intake, bundle=bundle, report=report,
                            consume_intake=consume_intake)
    get_run_logger().info("%s delivered to %s/%s (%d originals)", places.dossier_id,
                          places.archive.bucket, places.archive.prefix, len(intake.names))
    return link


def ensure_ocr_limit(slots: int) -> str:
    """The name of this machine's OCR concurrency limit, created on first use.

    One Prefect global concurrency limit per worker machine (``sohoa-ocr-HOST``,
    one slot per core, or ``SOHOA_WORKERS``), held by every page task while it
    cleans and OCRs: several dossier runs on one worker share its cores instead
    of oversubscribing them; a worker on another machine brings its own slots.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectAlreadyExists

    name = ocr_limit_name()
    # another run on this machine may create it first: that is fine
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.upsert_global_concurrency_limit_by_name(name, slots)
    return name


def machine_ocr_limit(slots: int) -> str:
    """The OCR limit the pages of a deployed run hold: the machine's global limit
    (:func:`ensure_ocr_limit`), unless this process runs its flow runs itself
    (:func:`runs_share_this_process`): then one of this process, with no server round
    trip on each page's way to a core."""
    if _RUNS_IN_PROCESS.is_set():
        return local_ocr_limit(slots)
    return ensure_ocr_limit(slots)


_RUNS_IN_PROCESS = threading.Event()


def runs_share_this_process() -> None:
    """Declared by a worker that runs every flow run it takes in its own process
    (``sohoa worker``): the runs' pages share its cores through this process's slots.
    Asking the server for the machine's slot for every page kept each page ~2 s in
    that request on a busy stack (10 dossiers at once): the server answers a full
    limit with "come back later" (Prefect's ``Retry-After``, the later the more pages
    it turned away) while a slot freed meanwhile stays idle."""
    _RUNS_IN_PROCESS.set()


_CANCELLED: set[Any] = set()  # flow-run ids
_CANCEL_LOCK = threading.Lock()


def cancel_in_process(flow_run_id: Any) -> None:
    """Asked by ``sohoa worker`` when a flow run it runs in this process is cancelled
    (set to Cancelling, from the UI or the API): the run stops at its next
    :func:`stop_if_cancelled`. A process per run is stopped by its worker instead."""
    with _CANCEL_LOCK:
        _CANCELLED.add(flow_run_id)


def forget_cancel(flow_run_id: Any) -> None:
    with _CANCEL_LOCK:
        _CANCELLED.discard(flow_run_id)


def stop_if_cancelled() -> None:
    """Raise :class:`RunCancelled` if the flow run this is part of was cancelled while it
    runs in this process (called before each page, the bundle and the delivery)."""
    if not _CANCELLED:
        return
    task = TaskRunContext.get()
    flow_run = FlowRunContext.get()
    run_id = (task.task_run.flow_run_id if task is not None
              else flow_run.flow_run.id if flow_run is not None and flow_run.flow_run else None)
    with _CANCEL_LOCK:
        cancelled = run_id in _CANCELLED
    if cancelled:
        raise RunCancelled("the run was cancelled; nothing was delivered and its pages "
                           "are still in intake (run it again to process them)")


def ocr_limit_name() -> str:
    """This machine's OCR concurrency limit."""
    return f"sohoa-ocr-{socket.gethostname()}"[:100]


_LOCAL_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_LOCAL_LOCK = threading.Lock()


def local_ocr_limit(slots: int) -> str:
    """An OCR limit of this process only (``sohoa batch``: several dossiers at once in one
    process share its cores, with no server to hold a global limit)."""
    return f"{LOCAL_PREFIX}{slots}"


LOCAL_PREFIX = "local:"


@contextmanager
def ocr_slot(limit: str | None) -> Iterator[None]:
    """Hold one slot of the worker's OCR concurrency limit (if any) while a page is decoded
    and worked: no more pages in memory, and no more busy cores, than slots."""
    if limit is None:
        yield
        return
    if limit.startswith(LOCAL_PREFIX):
        with _LOCAL_LOCK:
            slots = _LOCAL_SLOTS.setdefault(
                limit, threading.BoundedSemaphore(int(limit[len(LOCAL_PREFIX):])))
        with slots:
            yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(limit, occupy=1, strict=False):
        yield
