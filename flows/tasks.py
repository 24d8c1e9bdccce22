"""Prefect tasks: each a thin wrapper over one pipeline stage."""

from __future__ import annotations

import hashlib
import socket
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from flows.params import PageJob
from flows.settings import Settings
from flows.storage_io import keep_object, read_object_cached, sha256_hex, storage_from_env
from pipeline.errors import SohoaError, is_retryable
from pipeline.fileio import file_sha256
from pipeline.imaging.ingest import count_pages, load_page, sniff_format
from pipeline.outcome import PageOutcome
from pipeline.page import PageConfig, process_page
from pipeline.types import PageRef

# Bump when a change to the page stage must invalidate cached page results.
PAGE_STAGE_VERSION = "3"
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


def page_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    job: PageJob = parameters["job"]
    config: PageConfig = parameters["config"]
    cfg = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]
    # The name is part of the key: a cached outcome carries its file's name, so the
    # same content under another name (a page handed in twice) must not reuse it.
    name = hashlib.sha256(job.source.encode()).hexdigest()[:12]
    return f"page-v{PAGE_STAGE_VERSION}-{job.sha256}-{job.page}-{cfg}-{name}"


def _image_path(work_dir: str, job: PageJob, config: PageConfig) -> Path:
    key = page_cache_key(None, {"job": job, "config": config})  # type: ignore[arg-type]
    return Path(work_dir) / "pages" / f"{key}.jpg"


def source_name(location: str) -> str:
    """The name a page file is reported under: its file name, Unicode NFC (a
    Vietnamese name may arrive decomposed, NFD, from some systems)."""
    return unicodedata.normalize("NFC", Path(location).name)


@task(name="inventory", cache_policy=NO_CACHE)
def inventory(files: tuple[str, ...]) -> tuple[list[PageJob], list[PageOutcome]]:
    """Every page of every file, or the reason a file has none we can read."""
    jobs: list[PageJob] = []
    failures: list[PageOutcome] = []
    for location in files:
        path = Path(location)
        name = source_name(location)
        try:
            data = path.read_bytes()
            sniff_format(name, data)
            n = count_pages(name, data)
        except SohoaError as exc:
            failures.append(PageOutcome(ref=PageRef(name, 1), error=exc.message))
            continue
        except FileNotFoundError:
            error = f"{name}: listed in the manifest but not in the dossier"
            failures.append(PageOutcome(ref=PageRef(name, 1), error=error))
            continue
        except OSError as exc:
            error = f"cannot read {name}: {exc.strerror}"
            failures.append(PageOutcome(ref=PageRef(name, 1), error=error))
            continue
        sha = file_sha256(path)
        jobs.extend(
            PageJob(source=name, location=location, sha256=sha, page=p) for p in range(1, n + 1)
        )
    return jobs, failures


@task(name="inventory-objects", cache_policy=NO_CACHE, retries=len(STORAGE_RETRY_DELAYS_S),
      retry_delay_seconds=STORAGE_RETRY_DELAYS_S, retry_condition_fn=retry_if_retryable)
def inventory_objects(
    bucket: str, prefix: str, names: tuple[str, ...], work_dir: str
) -> tuple[list[PageJob], list[PageOutcome]]:
    """Like :func:`inventory` for objects in a bucket; keeps a copy in the work area."""
    _, storage = storage_from_env()
    jobs: list[PageJob] = []
    failures: list[PageOutcome] = []
    for name in names:
        data = storage.get(bucket, prefix + name)  # a storage error fails (and retries) the task
        try:
            sniff_format(name, data)
            n = count_pages(name, data)
        except SohoaError as exc:
            if exc.retryable:
                raise
            failures.append(PageOutcome(ref=PageRef(name, 1), error=exc.message))
            continue
        sha = sha256_hex(data)
        keep_object(work_dir, sha, data)
        jobs.extend(PageJob(source=name, location=prefix + name, sha256=sha, page=p,
                            bucket=bucket) for p in range(1, n + 1))
    return jobs, failures


def read_job(job: PageJob, work_dir: str) -> bytes:
    if job.bucket is None:
        return Path(job.location).read_bytes()
    return read_object_cached(job.bucket, job.location, job.sha256, work_dir)


def ensure_ocr_limit(slots: int | None = None) -> str:
    """The name of this machine's OCR concurrency limit, created on first use.

    One Prefect global concurrency limit per worker machine (``sohoa-ocr-HOST``,
    one slot per core, or ``SOHOA_WORKERS``), held by every page task while it
    cleans and OCRs: several dossier runs on one worker share its cores instead
    of oversubscribing them; a worker on another machine brings its own slots.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectAlreadyExists

    name = f"sohoa-ocr-{socket.gethostname()}"[:100]
    # another run on this machine may create it first: that is fine
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.upsert_global_concurrency_limit_by_name(name, slots or Settings.from_env().workers)
    return name


@contextmanager
def ocr_slot(limit: str | None) -> Iterator[None]:
    """Hold one slot of the worker's OCR concurrency limit (if any) while a page is worked."""
    if limit is None:
        yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(limit, occupy=1, strict=False):
        yield


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
def process_page_task(
    job: PageJob, config: PageConfig, work_dir: str, ocr_limit: str | None = None
) -> PageOutcome:
    """Load, clean, OCR and encode one page; a bad page becomes an outcome with an error."""
    ref = PageRef(job.source, job.page)
    try:
        raw = load_page(ref, read_job(job, work_dir))
        with ocr_slot(ocr_limit):
            done = process_page(raw, config=config)
    except SohoaError as exc:
        if exc.retryable:
            raise
        return PageOutcome(ref=ref, error=exc.message)
    except Exception as exc:  # noqa: BLE001 - one bad page must not sink the dossier
        return PageOutcome(ref=ref, error=f"{job.source}: page {job.page} could not be "
                                          f"processed ({type(exc).__name__})")
    image_ref = None
    image = None
    if done.image is not None:
        path = _image_path(work_dir, job, config)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(done.image.data)
        tmp.replace(path)
        image_ref = str(path)
        image = replace(done.image, data=b"")
    return PageOutcome(
        ref=ref, blank=done.blank, rotation=done.rotation, skew=done.skew, dpi=done.dpi,
        quality_flags=done.quality_flags, ocr=done.ocr, image=image, image_ref=image_ref,
        layout=done.layout,
    )
