"""The dossier flows: each reads like the table of contents of the job.

``process-dossier`` (the deployed system) takes a dossier from the intake bucket
and delivers it to archive and quarantine; ``process-folder`` (``sohoa process``)
takes a folder on this machine and delivers to an output folder. Both run the
same :func:`run_dossier` over the storage interface: one inventory, one page
task, one delivery.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import flow, unmapped
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Cancelled, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.artifacts import final_state, publish_artifacts
from flows.params import DossierRequest
from flows.review import settle_by_review, tag_run
from flows.settings import Settings
from flows.signing import build_archival, build_signer, engine_versions
from flows.tasks import (
    assemble_bundle,
    deliver_task,
    inventory_task,
    machine_ocr_limit,
    process_page_task,
    read_intake_task,
    sign_bundle,
    stop_if_cancelled,
)
from flows.webhook import notify_webhook
from models import CLASSIFIER_DIR
from models.catalog import load_catalog
from models.review import ReviewAnswer
from models.schemas import Catalog, Procedure, Report, parse_manifest
from pipeline.assemble import Plan, archive_metadata, plan_dossier
from pipeline.classify.interfaces import PageClassifier
from pipeline.classify.trained import MANIFEST, classifier_version, default_classifier
from pipeline.delivery import IntakeDossier, Place, Places, delivered_report, presigned_link
from pipeline.duplicates import flag_duplicates
from pipeline.environment import check_environment
from pipeline.errors import InputError, RunCancelled, SohoaError
from pipeline.fileio import file_sha256, nfc
from pipeline.inventory import PageJob, forget_objects
from pipeline.ocr import warm_up
from pipeline.outcome import PageOutcome
from pipeline.page import PageConfig, stage_fingerprint
from pipeline.pdf.font import glyphless_font_program
from pipeline.report import build_report
from pipeline.review import apply_review
from pipeline.sign.archival import Archival
from pipeline.sign.signer import SignMeta
from pipeline.storage import LocalStorage, Storage, open_storage

VN_TZ = timezone(timedelta(hours=7))
REVIEW_THRESHOLD = 0.6
LOCAL_IN, LOCAL_OUT = "input", "output"  # the CLI's two folders, as buckets

# Page tasks wait for OCR slots anyway; one thread per core is enough per run.
_DEPLOYED_RUNNER: Any = ThreadPoolTaskRunner(max_workers=os.cpu_count() or 1)


@dataclass(frozen=True)
class DossierIO:
    """Where one dossier is read from and delivered to."""

    storage: Storage
    places: Places
    intake: IntakeDossier
    consume_intake: bool  # delete from intake once delivered (never the CLI's own files)


@dataclass(frozen=True)
class Reviewing:
    """How open questions are settled: ``answer`` given (``sohoa review``), or asked of a
    supervisor inside the run (``ask``; unanswered after ``wait``, the watcher closes it)."""

    answer: ReviewAnswer | None = None
    ask: bool = False
    wait: timedelta | None = None


@flow(name="process-dossier", flow_run_name="{request.dossier_id}", task_runner=_DEPLOYED_RUNNER)
def process_dossier(request: DossierRequest) -> State:
    """Clean, OCR, classify and check one dossier of the intake bucket; ask a supervisor
    when something is uncertain; deliver its signed bundle, originals and report to
    archive, unreadable inputs to quarantine. A dossier no longer in intake but delivered
    before is re-opened from its archived originals (a new version; the old one is kept)."""
    settings = Settings.from_env()
    storage = open_storage(settings.storage)
    places = Places.in_buckets(settings.storage, request.branch, request.dossier_id)
    intake = read_intake_task(storage, places.intake)
    consume = True
    if not intake.page_names(None) and delivered_report(storage, places) is not None:
        places = replace(places, intake=places.originals)
        intake, consume = read_intake_task(storage, places.intake), False
    io = DossierIO(storage, places, intake, consume_intake=consume)
    wait = timedelta(hours=settings.review_wait_hours)
    try:
        report = run_dossier(request, io, settings=settings,
                             ocr_limit=machine_ocr_limit(settings.workers),
                             review=Reviewing(ask=settings.review_wait_hours > 0, wait=wait))
    except RunCancelled as exc:  # a supervisor cancelled it (sohoa worker: in this process)
        return Cancelled(message=exc.message)
    tag_run(add=(f"status:{report.status}",))
    return final_state(report)


@flow(name="process-folder", flow_run_name="{request.dossier_id}")
def process_folder(request: DossierRequest, folder: str, out_dir: str,
                   only: str | None = None, decisions: dict[str, Any] | None = None,
                   ocr_limit: str | None = None) -> State:
    """``sohoa process``: the page files of ``folder`` (or the one file ``only``) in,
    ``out_dir`` out (``bundle.pdf``, ``originals/``, ``quarantine/``, ``report.json``);
    ``sohoa review``: the same with a supervisor's ``decisions`` (models.review)."""
    settings = Settings.from_env()
    storage, places = in_folders(Path(folder), Path(out_dir), dossier_id=request.dossier_id,
                                 branch=request.branch)
    intake = (IntakeDossier(manifest=None, names=(only,)) if only
              else read_intake_task(storage, places.intake))
    answer = None if decisions is None else ReviewAnswer.model_validate(decisions)
    return final_state(run_dossier(
        request, DossierIO(storage, places, intake, consume_intake=False), settings=settings,
        ocr_limit=ocr_limit, review=Reviewing(answer=answer)))


def in_folders(folder: Path, out_dir: Path, *, dossier_id: str,
               branch: str) -> tuple[LocalStorage, Places]:
    """The CLI's two folders as buckets: ``folder`` is intake; ``out_dir`` is archive, with
    quarantine under ``out_dir/quarantine/`` (created here)."""
    storage = LocalStorage.of_folders({LOCAL_IN: folder, LOCAL_OUT: out_dir})
    storage.ensure_bucket(LOCAL_OUT)
    places = Places(Place(LOCAL_IN), Place(LOCAL_OUT), Place(LOCAL_OUT, "quarantine/"),
                    dossier_id=dossier_id, branch=branch)
    return storage, places


def run_dossier(request: DossierRequest, io: DossierIO, *, settings: Settings,
                ocr_limit: str | None, review: Reviewing) -> Report:
    """The job, whatever the storage: inventory, pages, plan, bundle, report, delivery."""
    catalog = load_catalog()
    procedure = catalog.procedure(request.procedure)
    config = PageConfig(ocr=settings.ocr)
    machine = check_environment(ocr=config.ocr, state_dir=settings.state_dir)
    signer, archival = build_signer(settings), build_archival(settings)
    names = io.intake.page_names(_listed(io.intake))
    if not names:
        raise InputError(f"no page files in {io.places.intake.bucket}/{io.places.intake.prefix}")
    jobs, failures = inventory_task(io.storage, io.places.intake, names,
                                    present=io.intake.names, work_dir=settings.work_dir)
    pages = run_pages(jobs, config=config, made_by=stage_fingerprint(config), io=io,
                      work_dir=settings.work_dir, ocr_limit=ocr_limit, label=request.dossier_id,
                      unreadable=len(failures))
    outcomes = flag_duplicates(in_input_order(names, failures + pages),
                               {j.source: j.sha256 for j in jobs})
    classifier = page_classifier()
    plan = settle(plan_dossier(outcomes, classifier=classifier, procedure=procedure,
                               facts=request.facts, review_threshold=REVIEW_THRESHOLD),
                  review, request=request, catalog=catalog, procedure=procedure, io=io)
    stop_if_cancelled()
    with scratch_folder(settings.work_dir) as folder:
        signed = make_bundle(plan, request=request, catalog=catalog, procedure=procedure,
                             signing=(signer, archival, settings.organisation), folder=folder)
        report = build_report(plan, dossier_id=request.dossier_id, procedure_id=procedure.id,
                              branch=request.branch, facts=request.facts,
                              bundle_sha256=None if signed is None else file_sha256(signed),
                              signature=archival.level if archival is not None else "B-B",
                              generated_at=datetime.now(VN_TZ),
                              engine={**engine_versions(machine),
                                      "classifier": classifier_version(classifier)})
        stop_if_cancelled()
        link = deliver_task(io.storage, io.places, io.intake, bundle=signed, report=report,
                            consume_intake=io.consume_intake)
    forget_objects(settings.work_dir, {job.sha256 for job in jobs})
    publish_artifacts(report, bundle_link=link)
    notify_webhook(request, report, secret=settings.webhook_secret)
    return report


def load_ahead(settings: Settings, *, pages: int) -> None:
    """What the runs of this process load once, loaded before the first: the machine
    check and the signer (their errors end a command before any run), the classifier,
    and Tesseract's readers for the first ``pages`` pages (at most one per OCR slot).
    The CLI calls it while its Prefect API boots, so the first run waits for none of it."""
    config = PageConfig(ocr=settings.ocr)
    check_environment(ocr=config.ocr, state_dir=settings.state_dir)
    build_signer(settings)
    page_classifier()
    warm_up(min(pages, settings.workers), config=config.ocr)
    _import_late_parts()


def _import_late_parts() -> None:
    """What a first run would otherwise load on its way, after the API answered:
    FastAPI's encoder (Prefect serialises a run's parameters with it; ~0.15 s to
    import) and the text layer's font (~0.06 s, fontTools' builder)."""
    import fastapi.encoders  # noqa: F401

    glyphless_font_program()


def page_classifier() -> PageClassifier:
    """The shipped classifier, read once per process and model: a model trained
    again (``sohoa train``) is read by the next run."""
    manifest = CLASSIFIER_DIR / MANIFEST
    return _classifier(CLASSIFIER_DIR, manifest.stat().st_mtime_ns if manifest.is_file() else 0)


@functools.lru_cache(maxsize=1)
def _classifier(folder: Path, _model_stamp: int) -> PageClassifier:
    return default_classifier(load_catalog(), folder)


def make_bundle(plan: Plan, *, request: DossierRequest, catalog: Catalog,
                procedure: Procedure, signing: tuple[Any, Archival | None, str],
                folder: Path) -> Path | None:
    """The signed bundle of the plan's pages in ``folder`` (``signing``: the flow's signer,
    its archival level, the organisation), or None when the plan has no page for it."""
    if not plan.bundle_outcomes:
        return None
    created = datetime.now(VN_TZ).replace(microsecond=0)
    meta = archive_metadata(plan, dossier_id=request.dossier_id, procedure=procedure,
                            branch=request.branch, catalog=catalog, created=created,
                            submitted_at=request.submitted_at)
    # quoted: Prefect would otherwise walk every word of every page, twice, looking for
    # futures in the task's inputs (a tenth of a second per dossier, holding the GIL)
    pdf = assemble_bundle(cast(Plan, quote(plan)), marks_from=quote(catalog), meta=meta,
                          created=created, folder=folder)
    signer, archival, organisation = signing
    return sign_bundle(pdf, signer=signer, archival=archival,
                       meta=SignMeta(organisation=organisation))


#: a run's scratch folder older than this was left by a process that died mid-bundle
STALE_SCRATCH_S = 6 * 3600


@contextmanager
def scratch_folder(work_dir: Path) -> Iterator[Path]:
    """A folder of the work area for one run's bundle files, removed when the run ends;
    folders left by runs that died (older than ``STALE_SCRATCH_S``) are removed first."""
    root = work_dir / "bundles"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        with suppress(OSError):  # another run may be clearing it at the same moment
            if time.time() - old.stat().st_mtime > STALE_SCRATCH_S:
                shutil.rmtree(old, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=root) as folder:
        yield Path(folder)


def settle(plan: Plan, review: Reviewing, *, request: DossierRequest, catalog: Catalog,
           procedure: Procedure, io: DossierIO) -> Plan:
    """The plan with a supervisor's decisions, given or asked for (flows.review)."""
    if review.answer is not None:
        return apply_review(plan, review.answer, doc_types=catalog.doc_type_ids,
                            procedure=procedure, facts=request.facts,
                            review_threshold=REVIEW_THRESHOLD,
                            at=datetime.now(VN_TZ).replace(microsecond=0))
    if not review.ask:
        return plan

    def links() -> dict[str, str]:
        found = {n: presigned_link(io.storage, io.places.intake, n) for n in io.intake.names}
        return {n: url for n, url in found.items() if url}

    return settle_by_review(plan, catalog=catalog, procedure=procedure, facts=request.facts,
                            review_threshold=REVIEW_THRESHOLD, dossier_id=request.dossier_id,
                            links=links, wait=review.wait)


def _listed(intake: IntakeDossier) -> tuple[str, ...] | None:
    """The manifest's page list, if the dossier has a usable manifest."""
    if intake.manifest is None:
        return None
    try:
        pages = parse_manifest(intake.manifest).pages
        return tuple(pages) if pages else None
    except SohoaError:  # the watcher and the CLI refuse bad manifests; an API run goes on
        return None


def run_pages(jobs: list[PageJob], *, config: PageConfig, made_by: str, io: DossierIO,
              work_dir: Path, ocr_limit: str | None, label: str,
              unreadable: int = 0) -> list[PageOutcome]:
    """Map the page task over the page references; a progress artifact counts every input
    page (``unreadable``: inputs the inventory could not open count as done)."""
    if not jobs:
        return []
    common: dict[str, Any] = {"config": unmapped(config), "made_by": unmapped(made_by),
              "storage": unmapped(io.storage), "work_dir": unmapped(work_dir),
              "ocr_limit": unmapped(ocr_limit)}
    futures = process_page_task.map(jobs, **common)
    progress = cast(UUID, create_progress_artifact(progress=0.0,
                                                   description=f"Pages of {label}"))
    total = len(jobs) + unreadable
    for done, _ in enumerate(as_completed(list(futures)), start=unreadable + 1):
        if progress is not None:
            update_progress_artifact(artifact_id=progress, progress=100.0 * done / total,
                                     description=f"Pages of {label}: {done}/{total}")
    outcomes = [f.result() for f in futures]
    # A cached result whose page image has left the work area (another state folder, a
    # clean-up) is processed again rather than failing the bundle.
    stale = [i for i, o in enumerate(outcomes)
             if o.image_ref is not None and not Path(o.image_ref).is_file()]
    if stale:
        again = process_page_task.with_options(refresh_cache=True).map(
            [jobs[i] for i in stale], **common)
        for i, future in zip(stale, again, strict=True):
            outcomes[i] = future.result()
    return outcomes


def in_input_order(names: tuple[str, ...], outcomes: list[PageOutcome]) -> list[PageOutcome]:
    rank = {nfc(n): i for i, n in enumerate(names)}
    return sorted(outcomes, key=lambda o: (rank.get(o.ref.source, len(rank)), o.ref.source_page))


def run_folder(request: DossierRequest, *, folder: Path, out_dir: Path,
               only: str | None = None, decisions: ReviewAnswer | None = None,
               ocr_limit: str | None = None) -> Report:
    """Run ``process-folder`` in this process (Prefect's ephemeral API; no server)."""
    settings = Settings.from_env()
    runner: Any = ThreadPoolTaskRunner(max_workers=settings.workers)
    # No flow-run heartbeats: they let a server's services find a crashed run, and the
    # run is this process's own; ending the heartbeat thread cost up to 1 s per run.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        state: Any = process_folder.with_options(task_runner=runner)(
            request=request, folder=str(folder), out_dir=str(out_dir), only=only,
            decisions=None if decisions is None else decisions.model_dump(mode="json"),
            ocr_limit=ocr_limit)
    return Report.model_validate(state)
