"""This machine's work area (pipeline.inventory): files kept by content, shared by the
dossiers of one process (``sohoa batch``, ``sohoa worker``) running at once."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from pipeline.inventory import PageJob, cached_object, forget_objects, keep_object, read_job
from pipeline.storage import LocalStorage


def test_threads_keeping_the_same_file_at_once_all_succeed(tmp_path: Path) -> None:
    # two dossiers of one batch holding the same file (one citizen's ID card copy in both)
    # keep it at the same moment: each write must not take the other's temporary file
    data = os.urandom(2_000_000)
    sha = hashlib.sha256(data).hexdigest()
    rounds, threads = 30, 4
    errors: list[BaseException] = []
    for r in range(rounds):
        work = tmp_path / f"w{r}"
        start = threading.Barrier(threads)

        def keep(work: Path = work, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                keep_object(work, sha, data)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        running = [threading.Thread(target=keep) for _ in range(threads)]
        for t in running:
            t.start()
        for t in running:
            t.join()
        assert cached_object(work, sha).read_bytes() == data
        assert [p.name for p in (work / "objects").iterdir()] == [sha]  # no temporary left
    assert errors == []


def test_a_file_forgotten_by_another_dossier_is_read_from_storage(tmp_path: Path) -> None:
    intake = tmp_path / "intake"
    intake.mkdir()
    data = b"%PDF-1.7 the same file in two dossiers"
    (intake / "id.pdf").write_bytes(data)
    storage = LocalStorage.of_folders({"input": intake})
    job = PageJob(source="id.pdf", bucket="input", key="id.pdf",
                  sha256=hashlib.sha256(data).hexdigest(), page=1)
    work = tmp_path / "work"
    keep_object(work, job.sha256, data)
    forget_objects(work, {job.sha256})  # the other dossier was delivered
    assert read_job(storage, job, work) == data
    assert cached_object(work, job.sha256).is_file()  # kept again for the next page
