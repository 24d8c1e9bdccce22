"""Prefect tasks: each a thin wrapper over one pipeline stage."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from flows.params import PageJob, file_sha256
from pipeline.errors import SohoaError, is_retryable
from pipeline.imaging.ingest import count_pages, load_page, sniff_format
from pipeline.outcome import PageOutcome
from pipeline.page import PageConfig, process_page
from pipeline.types import PageRef

# Bump when a change to the page stage must invalidate cached page results.
PAGE_STAGE_VERSION = "1"


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
    return f"page-v{PAGE_STAGE_VERSION}-{job.sha256}-{job.page}-{cfg}"


def _image_path(work_dir: str, job: PageJob, config: PageConfig) -> Path:
    key = page_cache_key(None, {"job": job, "config": config})  # type: ignore[arg-type]
    return Path(work_dir) / "pages" / f"{key}.jpg"


@task(name="inventory", cache_policy=NO_CACHE)
def inventory(files: tuple[str, ...]) -> tuple[list[PageJob], list[PageOutcome]]:
    """Every page of every file, or the reason a file has none we can read."""
    jobs: list[PageJob] = []
    failures: list[PageOutcome] = []
    for location in files:
        path = Path(location)
        name = path.name
        try:
            data = path.read_bytes()
            sniff_format(name, data)
            n = count_pages(name, data)
        except SohoaError as exc:
            failures.append(PageOutcome(ref=PageRef(name, 1), error=exc.message))
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
def process_page_task(job: PageJob, config: PageConfig, work_dir: str) -> PageOutcome:
    """Load, clean, OCR and encode one page; a bad page becomes an outcome with an error."""
    ref = PageRef(job.source, job.page)
    try:
        raw = load_page(ref, Path(job.location).read_bytes())
        done = process_page(raw, config=config)
    except SohoaError as exc:
        if exc.retryable:
            raise
        return PageOutcome(ref=ref, error=exc.message)
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
    )
