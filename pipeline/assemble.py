"""From processed pages to documents, bundle plan and report (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from models.review import ReportDecision
from models.schemas import UNKNOWN, Catalog, Procedure
from pipeline.checklist import ChecklistResult, decide_status, evaluate_checklist
from pipeline.classify.group import DocumentGroup, group_documents
from pipeline.classify.interfaces import DocumentSeparator, PageClassifier, PageText
from pipeline.outcome import PageOutcome
from pipeline.pdf.bundle import ArchiveMetadata, Bookmark
from pipeline.types import PageLabel


@dataclass(frozen=True)
class Plan:
    """Which pages go into the bundle, how they group, and what the checklist says."""

    outcomes: tuple[PageOutcome, ...]
    labels: tuple[PageLabel | None, ...]  # per outcome; None when not in the bundle
    bundle_index: tuple[int | None, ...]  # per outcome: 0-based bundle page or None
    documents: tuple[DocumentGroup, ...]  # page_indices are 0-based bundle pages
    checklist: ChecklistResult
    status: str
    reason: str | None
    review_documents: tuple[int, ...]
    review_pages: tuple[int, ...]  # indices into outcomes
    rescan: tuple[int, ...] = ()  # outcomes a supervisor sent back for scanning again
    decisions: tuple[ReportDecision, ...] = ()  # a supervisor's, applied (pipeline.review)
    decided: frozenset[int] = frozenset()  # documents whose type a supervisor set

    @property
    def bundle_outcomes(self) -> list[PageOutcome]:
        return [o for o, i in zip(self.outcomes, self.bundle_index, strict=True) if i is not None]


def plan_dossier(
    outcomes: Sequence[PageOutcome],
    *,
    classifier: PageClassifier,
    procedure: Procedure,
    facts: Mapping[str, bool],
    review_threshold: float,
) -> Plan:
    bundle_index: list[int | None] = []
    pages: list[PageText] = []
    for o in outcomes:
        if o.usable and o.ocr is not None:
            bundle_index.append(len(pages))
            pages.append(PageText(ocr=o.ocr, layout=o.layout, source=o.ref.source))
        else:
            bundle_index.append(None)
    bundle_labels, documents = classify_pages(pages, classifier)
    labels = tuple(None if i is None else bundle_labels[i] for i in bundle_index)
    return settle_plan(outcomes, labels=labels, bundle_index=tuple(bundle_index),
                       documents=documents, procedure=procedure, facts=facts,
                       review_threshold=review_threshold)


def settle_plan(
    outcomes: Sequence[PageOutcome],
    *,
    labels: tuple[PageLabel | None, ...],
    bundle_index: tuple[int | None, ...],
    documents: tuple[DocumentGroup, ...],
    procedure: Procedure,
    facts: Mapping[str, bool],
    review_threshold: float,
    settled_pages: frozenset[int] = frozenset(),
    rescan: tuple[int, ...] = (),
) -> Plan:
    """Checklist, questions and status of a dossier cut into ``documents``.

    ``settled_pages``: unreadable pages a supervisor answered for (no longer questions);
    ``rescan``: those of them to be scanned again (the dossier is ``incomplete``).
    """
    checklist = evaluate_checklist(
        procedure, documents, facts, min_confidence=review_threshold
    )
    review_docs = _review_documents(documents, checklist, review_threshold)
    review_pages = tuple(i for i, o in enumerate(outcomes)
                         if o.error is not None and i not in settled_pages)
    if review_pages:
        # An unreadable page might hold what looks missing: nothing is provably missing.
        checklist = replace(checklist, doubtful=checklist.missing)
    status, reason = _status(outcomes, checklist, bool(review_docs or review_pages))
    if rescan and status != "rejected":
        status = "incomplete"
    return Plan(
        outcomes=tuple(outcomes), labels=labels, bundle_index=bundle_index,
        documents=documents, checklist=checklist, status=status, reason=reason,
        review_documents=review_docs, review_pages=review_pages, rescan=rescan,
    )


def _review_documents(
    documents: Sequence[DocumentGroup], checklist: ChecklistResult, threshold: float
) -> tuple[int, ...]:
    """Documents a person must look at: a catalog type below the threshold, or an
    ``unknown`` one that might be what a missing requirement asks for. An unknown
    paper that could satisfy nothing missing is an extra, not a question."""
    possible = {i for item in checklist.items for i in item.possible}
    return tuple(
        i
        for i, d in enumerate(documents)
        if (d.confidence < threshold and d.doc_type != UNKNOWN) or i in possible
    )


def classify_pages(
    pages: Sequence[PageText], classifier: PageClassifier
) -> tuple[tuple[PageLabel, ...], tuple[DocumentGroup, ...]]:
    """Page labels and documents; a separating classifier splits the sequence itself."""
    if isinstance(classifier, DocumentSeparator):
        return classifier.separate(pages)
    labels = tuple(classifier.classify(p) for p in pages)
    return labels, group_documents(labels)


def _status(
    outcomes: Sequence[PageOutcome], checklist: ChecklistResult, uncertain: bool
) -> tuple[str, str | None]:
    if not any(o.usable for o in outcomes):
        errors = [o for o in outcomes if o.error]
        if errors:
            return "rejected", f"no usable page: {len(errors)} of {len(outcomes)} unreadable"
        return "rejected", "no usable page: every page is blank"
    return decide_status(checklist, uncertain=uncertain), None


def bookmarks(plan: Plan, catalog: Catalog) -> list[Bookmark]:
    marks = []
    for doc in plan.documents:
        name = (
            catalog.doc_type(doc.doc_type).name_vi
            if doc.doc_type not in ("unknown", "blank") else "Tài liệu chưa xác định"
        )
        marks.append(Bookmark(title=name, page_index=doc.page_indices[0]))
    return marks


def archive_metadata(
    plan: Plan, *, dossier_id: str, procedure: Procedure, branch: str,
    catalog: Catalog, created: datetime, submitted_at: str | None,
) -> ArchiveMetadata:
    defaults = catalog.archive_defaults
    day = date.fromisoformat((submitted_at or created.isoformat())[:10])
    keywords = tuple(dict.fromkeys(d.doc_type for d in plan.documents))
    sheets = len({(o.ref.source, o.ref.source_page) for o in plan.outcomes})
    return ArchiveMetadata(
        dossier_code=dossier_id,
        title=f"Hồ sơ {procedure.name_vi} — {dossier_id}",
        retention_period=defaults.retention_period,
        access_level=defaults.access_level,
        language=defaults.language,
        start_date=day,
        end_date=created.date(),
        keywords=keywords,
        document_count=len(plan.documents),
        sheet_count=sheets,
        page_count=len(plan.bundle_outcomes),
        physical_condition=defaults.physical_condition,
        paper_original_code=dossier_id,
        procedure_id=procedure.id,
        procedure_code=procedure.code or "",
        branch=branch,
    )
