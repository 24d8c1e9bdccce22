"""The ``process-dossier`` flow: reads like the table of contents of the job."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import flow, task, unmapped
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.states import Completed, State
from prefect.task_runners import ThreadPoolTaskRunner

from flows.archive import bad_inputs, deliver_to_archive, inventory_intake, notify_webhook
from flows.params import DossierRequest, LocalInput, LocalOutput, PageJob
from flows.settings import Settings
from flows.signing import build_signer, engine_versions
from flows.storage_io import forget_objects
from flows.tasks import ensure_ocr_limit, inventory, process_page_task, source_name
from models.catalog import load_catalog
from models.schemas import Report
from pipeline.assemble import Plan, archive_metadata, bookmarks, plan_dossier
from pipeline.classify.trained import classifier_version, default_classifier
from pipeline.duplicates import flag_duplicates
from pipeline.fileio import write_atomic
from pipeline.ocr.tesseract import OcrConfig
from pipeline.outcome import PageOutcome
from pipeline.page import PageConfig
from pipeline.pdf.bundle import BundlePage, build_bundle
from pipeline.report import build_report
from pipeline.sign.signer import SignMeta, sign_pdf

VN_TZ = timezone(timedelta(hours=7))
REVIEW_THRESHOLD = 0.6


# Page tasks wait for OCR slots anyway; one thread per core is enough per run.
_DEPLOYED_RUNNER: Any = ThreadPoolTaskRunner(max_workers=os.cpu_count() or 1)


@flow(name="process-dossier", flow_run_name="{request.dossier_id}", task_runner=_DEPLOYED_RUNNER)
def process_dossier(
    request: DossierRequest, source: LocalInput | None = None, target: LocalOutput | None = None
) -> Any:
    """Clean, OCR, classify and check one dossier; write its signed bundle and report.

    With ``source``/``target`` (the CLI): local files in, a local folder out. Without
    them (the deployed system): pages from ``intake/{branch}/{dossier_id}/``, results
    to ``archive/...`` and ``quarantine/...`` of the storage configured on the worker.
    """
    settings = Settings.from_env()
    catalog = load_catalog()
    procedure = catalog.procedure(request.procedure)
    config = PageConfig(ocr=OcrConfig(langs=settings.ocr_langs, timeout_s=settings.ocr_timeout_s))
    signer = build_signer(settings)
    work_dir = str(settings.state_dir / "work")

    intake = None
    if source is None:
        intake, files, jobs, failures = inventory_intake(request, work_dir)
        ocr_limit = ensure_ocr_limit()
    else:
        files = source.files
        jobs, failures = inventory(source.files)
        ocr_limit = None
    pages = run_pages(jobs, config=config, work_dir=work_dir, ocr_limit=ocr_limit,
                      label=request.dossier_id)
    outcomes = in_input_order(files, failures + pages)
    outcomes = flag_duplicates(outcomes, {j.source: j.sha256 for j in jobs})

    classifier = default_classifier(catalog)
    plan = plan_dossier(outcomes, classifier=classifier, procedure=procedure,
                        facts=request.facts, review_threshold=REVIEW_THRESHOLD)
    signed = None
    if plan.bundle_outcomes:
        created = datetime.now(VN_TZ).replace(microsecond=0)
        meta = archive_metadata(plan, dossier_id=request.dossier_id, procedure=procedure,
                                branch=request.branch, catalog=catalog, created=created,
                                submitted_at=request.submitted_at)
        pdf = assemble_bundle(plan, marks_from=catalog, meta=meta, created=created)
        signed = sign_pdf(pdf, signer=signer, meta=SignMeta(organisation=settings.organisation))
    bundle_info = None if signed is None else {
        "key": "bundle.pdf", "sha256": hashlib.sha256(signed).hexdigest(),
        "pages": len(plan.bundle_outcomes), "pdfa": "2b", "signed": True}
    report = build_report(plan, dossier_id=request.dossier_id, procedure_id=procedure.id,
                          branch=request.branch, facts=request.facts, bundle=bundle_info,
                          generated_at=datetime.now(VN_TZ),
                          engine={**engine_versions(),
                                  "classifier": classifier_version(classifier)})
    report = Report.model_validate(report).model_dump(mode="json")
    if intake is None:
        assert target is not None, "a local source needs a local target"
        link = write_local(Path(target.directory), plan, files, signed, report)
    else:
        link = deliver_to_archive(request, intake, signed, report, bad_inputs(plan))
        forget_objects(work_dir, {job.sha256 for job in jobs})
    publish_artifacts(report, bundle_link=link)
    notify_webhook(request, report)
    return final_state(report)


FINAL_STATE_NAMES = {"complete": "Completed", "incomplete": "Incomplete",
                     "needs_review": "NeedsReview", "rejected": "Rejected"}


def final_state(report: dict[str, Any]) -> State:
    """A completed run named after the dossier's status, so the run list shows it."""
    status = report["status"]
    missing = f"; missing {', '.join(report['missing'])}" if report["missing"] else ""
    return Completed(name=FINAL_STATE_NAMES.get(status, "Completed"),
                     message=f"{report['dossier_id']}: {status}{missing}", data=report)


def run_pages(jobs: list[PageJob], *, config: PageConfig, work_dir: str,
              ocr_limit: str | None, label: str) -> list[PageOutcome]:
    """Map the page task over the page references; a progress artifact follows them."""
    if not jobs:
        return []
    futures = process_page_task.map(jobs, config=unmapped(config), work_dir=unmapped(work_dir),
                                    ocr_limit=unmapped(ocr_limit))
    progress = cast(UUID, create_progress_artifact(progress=0.0,
                                                   description=f"Pages of {label}"))
    for done, _ in enumerate(as_completed(list(futures)), start=1):
        if progress is not None:
            update_progress_artifact(artifact_id=progress, progress=100.0 * done / len(jobs),
                                     description=f"Pages of {label}: {done}/{len(jobs)}")
    return [f.result() for f in futures]


def write_local(out: Path, plan: Plan, files: tuple[str, ...], signed: bytes | None,
                report: dict[str, Any]) -> str | None:
    """The CLI's output folder: bundle.pdf, quarantine/, then report.json (last)."""
    if signed is not None:
        write_atomic(out / "bundle.pdf", signed)
    quarantine(plan, files, out)
    write_atomic(out / "report.json",
                 json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"))
    return (out / "bundle.pdf").as_uri() if signed is not None else None


def in_input_order(files: tuple[str, ...], outcomes: list[PageOutcome]) -> list[PageOutcome]:
    rank = {source_name(f): i for i, f in enumerate(files)}
    return sorted(outcomes, key=lambda o: (rank.get(o.ref.source, len(rank)), o.ref.source_page))


@task(name="assemble-bundle", cache_policy=NO_CACHE)
def assemble_bundle(plan: Plan, *, marks_from: Any, meta: Any, created: datetime) -> bytes:
    pages = []
    for o in plan.bundle_outcomes:
        assert o.image is not None and o.image_ref is not None and o.ocr is not None
        image = replace(o.image, data=Path(o.image_ref).read_bytes())
        pages.append(BundlePage(image=image, words=o.ocr.words,
                                ocr_width=o.ocr.width, ocr_height=o.ocr.height))
    return build_bundle(pages, outline=bookmarks(plan, marks_from), meta=meta, created=created)


def reason_file_name(source: str) -> str:
    """``NAME.reason.json``; a very long NAME is cut (by bytes) so that the file
    and its temporary twin fit the file system's 255-byte name limit."""
    name = f"{source}.reason.json"
    if len(name.encode()) <= 200:
        return name
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    cut = source.encode()[:170].decode("utf-8", "ignore")
    return f"{cut}~{digest}.reason.json"


def quarantine(plan: Plan, files: tuple[str, ...], out: Path) -> None:
    """Keep each unreadable original untouched, with why, under out/quarantine/."""
    reasons: dict[str, list[dict[str, Any]]] = {}
    for o in plan.outcomes:
        if o.error is not None:
            reasons.setdefault(o.ref.source, []).append(
                {"source_page": o.ref.source_page, "error": o.error})
    if not reasons:
        return
    qdir = out / "quarantine"
    qdir.mkdir(parents=True, exist_ok=True)
    paths = {source_name(p): Path(p) for p in files}
    for source, entries in reasons.items():
        src = paths.get(source)
        if src is not None and src.exists():
            shutil.copy2(src, qdir / source)
        write_atomic(qdir / reason_file_name(source),
                     json.dumps({"source": source, "reasons": entries},
                                ensure_ascii=False, indent=2).encode())


def publish_artifacts(report: dict[str, Any], *, bundle_link: str | None = None) -> None:
    """What supervisors must see in the UI: the checklist, the quality flags, the bundle."""
    key = "".join(c if c.isalnum() else "-" for c in report["dossier_id"].lower())[:60]
    docs = report["documents"]
    create_table_artifact(
        key=f"checklist-{key}",
        table=[{"requirement": c["requirement"], "status": c["status"],
                "documents": ", ".join(docs[d]["doc_type"] for d in c["documents"]),
                "pages": ", ".join(str(p) for d in c["documents"]
                                   for p in docs[d]["bundle_pages"])}
               for c in report["checklist"]],
        description=f"Checklist — {report['dossier_id']}: **{report['status']}**",
    )
    flagged = [p for p in report["pages"] if p.get("quality") or p.get("error")]
    lines = [f"# {report['dossier_id']}: {report['status']}",
             f"Missing: {', '.join(report['missing']) or 'nothing'}", ""]
    lines += [f"- {p['source']}#{p['source_page']}: {', '.join(p.get('quality') or [])}"
              f"{' — ' + p['error'] if p.get('error') else ''}" for p in flagged]
    create_markdown_artifact(key=f"summary-{key}", markdown="\n".join(lines))
    if bundle_link:
        create_link_artifact(key=f"bundle-{key}", link=bundle_link,
                             link_text=f"bundle.pdf of {report['dossier_id']}")


def run_embedded(*, dossier_id: str, procedure: str, facts: dict[str, bool], branch: str,
                 submitted_at: str | None, files: tuple[str, ...], out_dir: Path) -> dict:
    """Run the flow in this process (Prefect's ephemeral API; no server needed)."""
    settings = Settings.from_env()
    runner: Any = ThreadPoolTaskRunner(max_workers=max(1, settings.workers))
    request = DossierRequest(dossier_id=dossier_id, procedure=procedure, branch=branch,
                             facts=facts, submitted_at=submitted_at)
    report: Any = process_dossier.with_options(task_runner=runner)(
        request=request, source=LocalInput(files=files),
        target=LocalOutput(directory=str(out_dir)),
    )
    return cast(dict, report)
