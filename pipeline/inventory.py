"""A dossier's inputs as page references, and this machine's work area for them.

One inventory for the CLI and the deployed system: every input object is read
once from storage, its format sniffed and its pages counted; a readable one is
kept in the work area (by sha256) and becomes one :class:`PageJob` per page, an
unreadable or missing one becomes a :class:`PageOutcome` with the reason. Page
tasks then read from the work area, or from storage on another machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipeline.errors import SohoaError, StorageError
from pipeline.fileio import nfc, write_atomic
from pipeline.imaging.ingest import count_pages, sniff_format
from pipeline.outcome import PageOutcome
from pipeline.storage.base import Storage, sha256_bytes
from pipeline.types import PageRef


class PageJob(BaseModel):
    """One page to process: a reference, never the pixels."""

    model_config = ConfigDict(frozen=True)

    source: str  # name reported (file name within the dossier, Unicode NFC)
    bucket: str
    key: str
    sha256: str  # content hash of the whole file: the cache key's core
    page: int  # 1-based page within the file


def inventory(storage: Storage, bucket: str, prefix: str, names: Iterable[str], *,
              present: Iterable[str], work_dir: Path) -> tuple[list[PageJob], list[PageOutcome]]:
    """Every page of every named input, or why an input has none we can read.

    A name not in ``present`` was listed by the manifest but never handed in.
    Storage errors propagate (the caller's task retries the retryable ones).
    """
    here = set(present)
    jobs: list[PageJob] = []
    failures: list[PageOutcome] = []
    for name in names:
        source = nfc(name)
        if name not in here:
            failures.append(PageOutcome(ref=PageRef(source, 1), error=(
                f"{source}: listed in the manifest but not in the dossier")))
            continue
        data = storage.get(bucket, prefix + name)
        try:
            sniff_format(source, data)
            n = count_pages(source, data)
        except SohoaError as exc:
            if exc.retryable:
                raise
            failures.append(PageOutcome(ref=PageRef(source, 1), error=exc.message))
            continue
        sha = sha256_bytes(data)
        keep_object(work_dir, sha, data)
        jobs.extend(PageJob(source=source, bucket=bucket, key=prefix + name, sha256=sha, page=p)
                    for p in range(1, n + 1))
    return jobs, failures


# --- the work area ------------------------------------------------------------------------
def cached_object(work_dir: Path, sha256: str) -> Path:
    return work_dir / "objects" / sha256


def keep_object(work_dir: Path, sha256: str, data: bytes) -> None:
    """Keep a file in the work area, written whole under a temporary name of its own
    (two dossiers of one process may keep the same file at the same moment)."""
    path = cached_object(work_dir, sha256)
    if not path.is_file():
        write_atomic(path, data)


def read_job(storage: Storage, job: PageJob, work_dir: Path) -> bytes:
    """A page's file: from this machine's work area if there, else from storage
    (another dossier with the same file may have just forgotten it)."""
    try:
        return cached_object(work_dir, job.sha256).read_bytes()
    except FileNotFoundError:
        pass
    data = storage.get(job.bucket, job.key)
    if sha256_bytes(data) != job.sha256:
        raise StorageError(f"{job.bucket}/{job.key} changed while its dossier was processed",
                           retryable=False)
    keep_object(work_dir, job.sha256, data)
    return data


def forget_objects(work_dir: Path, sha256s: Iterable[str]) -> None:
    """Drop a delivered dossier's objects from this machine's work area."""
    for sha in sha256s:
        cached_object(work_dir, sha).unlink(missing_ok=True)
