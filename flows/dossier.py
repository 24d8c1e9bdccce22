"""The ``process-dossier`` flow: reads like the table of contents of the job."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from prefect import flow, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.params import DossierRequest, LocalInput, LocalOutput
from flows.settings import Settings
from flows.signing import build_signer, engine_versions
from flows.tasks import inventory, process_page_task
from models.catalog import load_catalog
from models.schemas import Report
from pipeline.assemble import Plan, archive_metadata, bookmarks, plan_dossier
from pipeline.classify.titles import TitleClassifier
from pipeline.ocr.tesseract import OcrConfig
from pipeline.outcome import PageOutcome
from pipeline.page import PageConfig
from pipeline.pdf.bundle import BundlePage, build_bundle
from pipeline.report import build_report
from pipeline.sign.signer import SignMeta, sign_pdf

VN_TZ = timezone(timedelta(hours=7))
REVIEW_THRESHOLD = 0.6


@flow(name="process-dossier", flow_run_name="{request.dossier_id}")
def process_dossier(
    request: DossierRequest, source: LocalInput, target: LocalOutput
) -> dict[str, Any]:
    """Clean, OCR, classify and check one dossier; write its signed bundle and report."""
    settings = Settings.from_env()
    catalog = load_catalog()
    procedure = catalog.procedure(request.procedure)
    config = PageConfig(ocr=OcrConfig(langs=settings.ocr_langs, timeout_s=settings.ocr_timeout_s))
    signer = build_signer(settings)

    jobs, failures = inventory(source.files)
    futures = process_page_task.map(jobs, config=unmapped(config),
                                    work_dir=unmapped(str(settings.state_dir / "work")))
    outcomes = in_input_order(source.files, failures + [f.result() for f in futures])

    plan = plan_dossier(outcomes, classifier=TitleClassifier(catalog), procedure=procedure,
                        facts=request.facts, review_threshold=REVIEW_THRESHOLD)
    out = Path(target.directory)
    bundle_info = None
    if plan.bundle_outcomes:
        created = datetime.now(VN_TZ).replace(microsecond=0)
        meta = archive_metadata(plan, dossier_id=request.dossier_id, procedure=procedure,
                                branch=request.branch, catalog=catalog, created=created,
                                submitted_at=request.submitted_at)
        pdf = assemble_bundle(plan, marks_from=catalog, meta=meta, created=created)
        signed = sign_pdf(pdf, signer=signer, meta=SignMeta(organisation=settings.organisation))
        write_atomic(out / "bundle.pdf", signed)
        bundle_info = {"key": "bundle.pdf", "sha256": hashlib.sha256(signed).hexdigest(),
                       "pages": len(plan.bundle_outcomes), "pdfa": "2b", "signed": True}
    report = build_report(plan, dossier_id=request.dossier_id, procedure_id=procedure.id,
                          branch=request.branch, facts=request.facts, bundle=bundle_info,
                          generated_at=datetime.now(VN_TZ), engine=engine_versions())
    report = Report.model_validate(report).model_dump(mode="json")
    quarantine(plan, source.files, out)
    write_atomic(out / "report.json",
                 json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"))
    publish_artifacts(report)
    return report


def in_input_order(files: tuple[str, ...], outcomes: list[PageOutcome]) -> list[PageOutcome]:
    rank = {Path(f).name: i for i, f in enumerate(files)}
    return sorted(outcomes, key=lambda o: (rank.get(o.ref.source, len(rank)), o.ref.source_page))


@task(name="assemble-bundle", cache_policy=NO_CACHE)
def assemble_bundle(plan: Plan, *, marks_from: Any, meta: Any, created: datetime) -> bytes:
    pages = []
    for o in plan.bundle_outcomes:
        assert o.image is not None and o.image_ref is not None and o.ocr is not None
        image = type(o.image)(**{**o.image.__dict__, "data": Path(o.image_ref).read_bytes()})
        pages.append(BundlePage(image=image, words=o.ocr.words,
                                ocr_width=o.ocr.width, ocr_height=o.ocr.height))
    return build_bundle(pages, outline=bookmarks(plan, marks_from), meta=meta, created=created)


def write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def quarantine(plan: Plan, files: tuple[str, ...], out: Path) -> None:
    """Keep each unreadable original untouched, with why, under out/quarantine/."""
    seen: set[str] = set()
    for o in plan.outcomes:
        if o.error is None or o.ref.source in seen:
            continue
        seen.add(o.ref.source)
        src = next((Path(p) for p in files if Path(p).name == o.ref.source), None)
        qdir = out / "quarantine"
        qdir.mkdir(parents=True, exist_ok=True)
        if src is not None and src.exists():
            shutil.copy2(src, qdir / o.ref.source)
        reasons = [{"source_page": x.ref.source_page, "error": x.error}
                   for x in plan.outcomes if x.ref.source == o.ref.source and x.error]
        write_atomic(qdir / f"{o.ref.source}.reason.json",
                     json.dumps({"source": o.ref.source, "reasons": reasons},
                                ensure_ascii=False, indent=2).encode())


def publish_artifacts(report: dict[str, Any]) -> None:
    """What supervisors must see in the UI: the checklist and the quality flags."""
    key = "".join(c if c.isalnum() else "-" for c in report["dossier_id"].lower())[:60]
    create_table_artifact(
        key=f"checklist-{key}",
        table=[{"requirement": c["requirement"], "status": c["status"],
                "documents": ", ".join(str(report["documents"][d]["bundle_pages"])
                                       for d in c["documents"])}
               for c in report["checklist"]],
        description=f"Checklist — {report['dossier_id']}: **{report['status']}**",
    )
    flagged = [p for p in report["pages"] if p.get("quality") or p.get("error")]
    lines = [f"# {report['dossier_id']}: {report['status']}",
             f"Missing: {', '.join(report['missing']) or 'nothing'}", ""]
    lines += [f"- {p['source']}#{p['source_page']}: {', '.join(p.get('quality') or [])}"
              f"{' — ' + p['error'] if p.get('error') else ''}" for p in flagged]
    create_markdown_artifact(key=f"summary-{key}", markdown="\n".join(lines))


def run_embedded(*, dossier_id: str, procedure: str, facts: dict[str, bool], branch: str,
                 submitted_at: str | None, files: tuple[str, ...], out_dir: Path) -> dict:
    """Run the flow in this process (Prefect's ephemeral API; no server needed)."""
    settings = Settings.from_env()
    runner: Any = ThreadPoolTaskRunner(max_workers=max(1, settings.workers))
    request = DossierRequest(dossier_id=dossier_id, procedure=procedure, branch=branch,
                             facts=facts, submitted_at=submitted_at)
    return process_dossier.with_options(task_runner=runner)(
        request=request, source=LocalInput(files=files),
        target=LocalOutput(directory=str(out_dir)),
    )
