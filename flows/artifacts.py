"""What supervisors see of a run in the Prefect UI: its final state and artifacts."""

from __future__ import annotations

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.states import Completed, State

from models.schemas import Report

FINAL_STATE_NAMES = {"complete": "Completed", "incomplete": "Incomplete",
                     "needs_review": "NeedsReview", "rejected": "Rejected"}


def final_state(report: Report) -> State:
    """A completed run named after the dossier's status, so the run list shows it."""
    missing = f"; missing {', '.join(report.missing)}" if report.missing else ""
    return Completed(name=FINAL_STATE_NAMES.get(report.status, "Completed"),
                     message=f"{report.dossier_id}: {report.status}{missing}",
                     data=report.model_dump(mode="json"))


def summary(report: Report) -> str:
    """What a supervisor must know first: missing, might be missing, uncertain, decided."""
    # missing on the checklist but not provably (an uncertain document, an unreadable page)
    might = [c.requirement for c in report.checklist
             if c.status == "missing" and c.requirement not in report.missing]
    lines = [f"# {report.dossier_id}: {report.status}",
             f"Missing: {', '.join(report.missing) or 'nothing'}",
             f"Might be missing (a person must check): {', '.join(might) or 'nothing'}"]
    if report.rescan:
        lines.append(f"To scan again: {', '.join(report.rescan)}")
    lines += ["", f"## Uncertain ({len(report.review)})"]
    for item in report.review:
        cands = ", ".join(f"{c.doc_type} {c.score:.2f}" for c in item.candidates)
        if item.kind == "document":
            lines.append(f"- document {item.index}: {item.doc_type} {item.confidence:.2f}"
                         f" ({item.note}){'; candidates ' + cands if cands else ''}")
        else:
            page = report.pages[item.index]
            lines.append(f"- page {page.source}#{page.source_page}: {item.note}")
    if report.decisions:
        lines += ["", "## Decisions"]
        lines += [f"- {d.at:%Y-%m-%d %H:%M %z} {d.reviewer}: {d.action} {d.target}"
                  f"{f' {d.from_} → {d.to}' if d.to else ''}" for d in report.decisions]
    flagged = [p for p in report.pages if p.quality or p.error]
    if flagged:
        lines += ["", "## Page quality"]
        lines += [f"- {p.source}#{p.source_page}: {', '.join(p.quality)}"
                  f"{' — ' + p.error if p.error else ''}" for p in flagged]
    return "\n".join(lines)


def publish_artifacts(report: Report, *, bundle_link: str | None = None) -> None:
    """The checklist, the quality flags, the bundle."""
    key = "".join(c if c.isalnum() else "-" for c in report.dossier_id.lower())[:60]
    docs = report.documents
    create_table_artifact(
        key=f"checklist-{key}",
        table=[{"requirement": c.requirement, "status": c.status,
                "documents": ", ".join(docs[d].doc_type for d in c.documents),
                "pages": ", ".join(str(p) for d in c.documents for p in docs[d].bundle_pages)}
               for c in report.checklist],
        description=f"Checklist — {report.dossier_id}: **{report.status}**",
    )
    create_markdown_artifact(key=f"summary-{key}", markdown=summary(report))
    create_table_artifact(
        key=f"pages-{key}",
        table=[{"page": f"{p.source}#{p.source_page}", "bundle page": p.bundle_page or "",
                "type": p.doc_type, "confidence": p.confidence,
                "candidates": ", ".join(f"{c.doc_type} {c.score:.2f}" for c in p.candidates),
                "flags": ", ".join(p.quality) + (f" {p.error}" if p.error else "")}
               for p in report.pages],
        description=f"Pages — {report.dossier_id}: type, confidence and candidates of each",
    )
    if bundle_link:
        level = report.bundle.signature if report.bundle else None
        create_link_artifact(key=f"bundle-{key}", link=bundle_link,
                             link_text=f"bundle.pdf of {report.dossier_id}"
                                       + (f" (signed {level})" if level else ""))
