"""report.json (docs/contracts.md §4) from a dossier plan."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from models.schemas import Report
from pipeline.assemble import Plan


def build_report(
    plan: Plan,
    *,
    dossier_id: str,
    procedure_id: str,
    branch: str,
    facts: Mapping[str, bool],
    bundle_sha256: str | None,
    generated_at: datetime,
    engine: Mapping[str, str],
    signature: str = "B-B",
) -> Report:
    """The dossier's report; ``bundle_sha256`` is the digest of the signed bundle (PAdES
    ``signature`` level), if one was made."""
    pages = [_page_entry(plan, i) for i in range(len(plan.outcomes))]
    documents = [
        {
            "doc_type": d.doc_type,
            "bundle_pages": [i + 1 for i in d.page_indices],
            "confidence": round(d.confidence, 3),
        }
        for d in plan.documents
    ]
    checklist = [
        {"requirement": c.requirement, "status": c.status, "documents": list(c.documents),
         "possible": list(c.possible)}
        for c in plan.checklist.items
    ]
    review = [
        {"kind": "document", "index": i, "doc_type": plan.documents[i].doc_type,
         "confidence": round(plan.documents[i].confidence, 3),
         "candidates": _candidates(plan, plan.documents[i].page_indices[0]),
         "note": f"bundle pages {[p + 1 for p in plan.documents[i].page_indices]}"}
        for i in plan.review_documents
    ] + [
        {"kind": "page", "index": i, "doc_type": "unknown", "confidence": 0.0,
         "note": plan.outcomes[i].error}
        for i in plan.review_pages
    ]
    bundle_info = None if bundle_sha256 is None else {
        "key": "bundle.pdf", "sha256": bundle_sha256,
        "pages": len(plan.bundle_outcomes), "pdfa": "2b", "signed": True,
        "signature": signature}
    return Report.model_validate({
        "dossier_id": dossier_id,
        "procedure": procedure_id,
        "branch": branch,
        "status": plan.status,
        "reason": plan.reason,
        "facts": dict(facts),
        "pages": pages,
        "documents": documents,
        "checklist": checklist,
        "missing": list(plan.checklist.provably_missing),
        "extras": list(plan.checklist.extras),
        "review": review,
        "bundle": bundle_info,
        "generated_at": generated_at.isoformat(),
        "engine": dict(engine),
        "decisions": [d.model_dump(mode="json") for d in plan.decisions],
        "rescan": [f"{plan.outcomes[i].ref.source}#{plan.outcomes[i].ref.source_page}"
                   for i in plan.rescan],
    })


def _candidates(plan: Plan, bundle_page: int) -> list[dict[str, Any]]:
    for label, index in zip(plan.labels, plan.bundle_index, strict=True):
        if index == bundle_page and label is not None:
            return [{"doc_type": c.doc_type, "score": round(c.score, 3)} for c in label.candidates]
    return []


def _page_entry(plan: Plan, i: int) -> dict[str, Any]:
    o = plan.outcomes[i]
    label = plan.labels[i]
    index = plan.bundle_index[i]
    if o.blank:
        doc_type, confidence = "blank", 1.0
    elif label is None or index is None:
        doc_type, confidence = "unknown", 0.0
    else:
        doc_type, confidence = _page_document(plan, index)
    return {
        "source": o.ref.source,
        "source_page": o.ref.source_page,
        "bundle_page": None if index is None else index + 1,
        "doc_type": doc_type,
        "confidence": round(confidence, 3),
        "ocr_confidence": round(o.ocr.mean_conf, 1) if o.ocr else 0.0,
        "rotation": o.rotation,
        "skew": round(o.skew, 2),
        "blank": o.blank,
        "dpi": round(o.dpi, 1),
        "quality": list(o.quality_flags),
        "candidates": (
            [{"doc_type": c.doc_type, "score": round(c.score, 3)} for c in label.candidates]
            if label else []
        ),
        "error": o.error,
        "duplicate_of": o.duplicate_of,
    }


def _page_document(plan: Plan, index: int) -> tuple[str, float]:
    """A page's type and confidence are its document's (continuation pages inherit them)."""
    for d in plan.documents:
        if index in d.page_indices:
            return d.doc_type, d.confidence
    return "unknown", 0.0
