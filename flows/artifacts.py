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
    flagged = [p for p in report.pages if p.quality or p.error]
    lines = [f"# {report.dossier_id}: {report.status}",
             f"Missing: {', '.join(report.missing) or 'nothing'}", ""]
    lines += [f"- {p.source}#{p.source_page}: {', '.join(p.quality)}"
              f"{' — ' + p.error if p.error else ''}" for p in flagged]
    create_markdown_artifact(key=f"summary-{key}", markdown="\n".join(lines))
    if bundle_link:
        create_link_artifact(key=f"bundle-{key}", link=bundle_link,
                             link_text=f"bundle.pdf of {report.dossier_id}")
