"""``sohoa batch``: a backlog of dossiers on this machine, no server (docs/contracts.md §1b).

One process, one embedded Prefect API, one signer and one classifier for the
whole backlog; every dossier is still its own ``process-folder`` flow run with
its own report, delivered exactly as ``sohoa process`` delivers it. Several
dossiers are in flight at once (cores + 1), so that one's inventory, bundle,
signature and delivery overlap another's OCR, while a limit of this process
(one slot per core) keeps Tesseract from oversubscribing the cores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

# the flow and all it runs load with this module: the CLI imports it while the embedded
# API boots, not in the first dossier's thread once the API is up (1.3 s of the start)
from flows.dossier import run_folder
from flows.params import DossierRequest
from flows.tasks import local_ocr_limit
from models.schemas import Manifest, Report
from pipeline.errors import InputError, SohoaError


@dataclass(frozen=True)
class Dossier:
    """One folder of the backlog and where its results go."""

    folder: Path
    out_dir: Path
    manifest: Manifest | None  # None: the manifest could not be used (``problem`` says why)
    problem: str | None = None


@dataclass(frozen=True)
class Done:
    dossier: Dossier
    report: Report | None
    error: str | None = None  # the dossier could not be given a report (a fault, not input)


def find_dossiers(root: Path, out: Path) -> list[Dossier]:
    """Every folder under ``root`` with a ``manifest.json``, in path order; InputError when
    there is none, or when two of them name the same dossier (their results would meet)."""
    from flows.cli.process import _safe_id, read_manifest

    found: list[Dossier] = []
    seen: dict[str, Path] = {}
    for path in sorted(root.rglob("manifest.json")):
        folder = path.parent
        try:
            manifest, problem = read_manifest(folder), None
        except SohoaError as exc:
            manifest, problem = None, exc.message
        dossier_id = manifest.dossier_id if manifest else _safe_id(folder.name)
        if dossier_id in seen:
            raise InputError(f"{seen[dossier_id]} and {folder} are both dossier {dossier_id}")
        seen[dossier_id] = folder
        found.append(Dossier(folder, out / _safe_id(dossier_id), manifest, problem))
    if not found:
        raise InputError(f"no dossier under {root} (a dossier is a folder with manifest.json)")
    return found


def process_one(dossier: Dossier, *, ocr_limit: str) -> Report:
    """What ``sohoa process FOLDER`` does, for one dossier of the backlog."""
    from flows.cli.process import page_files, write_rejected
    from models.catalog import load_catalog

    manifest = dossier.manifest
    problem = dossier.problem
    if manifest is not None and problem is None:
        try:
            load_catalog().procedure(manifest.procedure)
            page_files(dossier.folder, manifest)
        except SohoaError as exc:
            problem = exc.message
    if manifest is None or problem is not None:
        dossier_id = manifest.dossier_id if manifest else dossier.out_dir.name
        return write_rejected(dossier.folder, dossier.out_dir, problem or "unusable manifest",
                              dossier_id=dossier_id,
                              procedure=manifest.procedure if manifest else "")
    request = DossierRequest(
        dossier_id=manifest.dossier_id, procedure=manifest.procedure, facts=dict(manifest.facts),
        branch=manifest.branch or "local",
        submitted_at=str(manifest.submitted_at) if manifest.submitted_at else None)
    return run_folder(request, folder=dossier.folder.resolve(),
                      out_dir=dossier.out_dir.resolve(), ocr_limit=ocr_limit)


def run_batch(dossiers: list[Dossier], *, workers: int,
              on_done: Callable[[Done], None] = lambda d: None) -> list[Done]:
    """Process ``dossiers``, ``workers + 1`` at a time; results in the order given."""
    limit = local_ocr_limit(workers)
    lock = threading.Lock()
    results: dict[int, Done] = {}

    def one(i: int) -> None:
        dossier = dossiers[i]
        try:
            done = Done(dossier, process_one(dossier, ocr_limit=limit))
        except SohoaError as exc:
            done = Done(dossier, None, exc.message)
        except Exception as exc:  # noqa: BLE001 - one dossier never stops the others
            done = Done(dossier, None, f"{type(exc).__name__}: {exc}"[:300])
        with lock:
            results[i] = done
            on_done(done)

    with ThreadPoolExecutor(max_workers=workers + 1, thread_name_prefix="dossier") as pool:
        for future in as_completed([pool.submit(one, i) for i in range(len(dossiers))]):
            future.result()
    return [results[i] for i in range(len(dossiers))]
