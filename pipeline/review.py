"""A supervisor's answer applied to a dossier plan (pure): types set, documents split or
merged, unreadable pages left out or sent back for scanning; then the checklist and the
status are computed again, and every decision is recorded for the report.

A document a supervisor typed has confidence 1.0 (it is no longer a question). Answers
name documents and pages by the indices of the report the supervisor saw, which the
same pages and classifier always reproduce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from models.review import DocumentAnswer, ReportDecision, ReviewAnswer
from models.schemas import UNKNOWN, Procedure
from pipeline.assemble import Plan, settle_plan
from pipeline.classify.group import DocumentGroup
from pipeline.errors import InputError

#: the reviewer an unanswered review is recorded under when its time runs out
EXPIRED_REVIEWER = "sohoa (no answer in time)"


class ReviewError(InputError):
    """An answer that does not fit the dossier (operator message says what)."""


@dataclass(frozen=True)
class _Part:
    doc_type: str
    pages: tuple[int, ...]  # 0-based bundle pages
    source: DocumentGroup
    answer: DocumentAnswer | None


def apply_review(plan: Plan, answer: ReviewAnswer, *, doc_types: Sequence[str],
                 procedure: Procedure, facts: Mapping[str, bool], review_threshold: float,
                 at: datetime) -> Plan:
    """``plan`` with ``answer`` applied; ReviewError when the answer does not fit it."""
    if answer.reviewer == EXPIRED_REVIEWER:
        return replace(plan, decisions=(ReportDecision(
            reviewer=answer.reviewer, at=at, action="expired", target="review",
            note=answer.note or None),))
    check_answer(plan, answer, doc_types=doc_types)
    parts = _parts(plan, answer)
    documents, decided, decisions = _documents(parts, answer, at)
    pages = {p.page: p.action for p in answer.pages}
    decisions += [_decision(answer, at, action, f"page {_page_name(plan, i)}",
                            plan.outcomes[i].error, None)
                  for i, action in sorted(pages.items())]
    new = settle_plan(plan.outcomes, labels=plan.labels, bundle_index=plan.bundle_index,
                      documents=documents, procedure=procedure, facts=facts,
                      review_threshold=review_threshold, settled_pages=frozenset(pages),
                      rescan=tuple(i for i, a in sorted(pages.items()) if a == "rescan_needed"))
    return replace(new, decisions=plan.decisions + tuple(decisions),
                   decided=frozenset(decided))


def prefilled(documents: Iterable[tuple[int, str, Sequence[str]]],
              pages: Iterable[int]) -> dict[str, Any]:
    """The documents and pages of an answer filled with the best guesses, for a supervisor
    to confirm or correct: each uncertain document (index, type, candidate types) keeps its
    type, an ``unknown`` one takes its first candidate; each unreadable page is to be
    scanned again."""
    return {"documents": [{"document": i, "doc_type": cands[0] if t == UNKNOWN and cands
                           else t} for i, t, cands in documents],
            "pages": [{"page": i, "action": "rescan_needed"} for i in pages]}


def check_answer(plan: Plan, answer: ReviewAnswer, *, doc_types: Sequence[str]) -> None:
    """Every index exists, every type is known, every split is inside its document."""
    known = {*doc_types, UNKNOWN}
    seen: set[tuple[int, int | None]] = set()
    for a in answer.documents:
        what = f"document {a.document}"
        if a.document >= len(plan.documents):
            raise ReviewError(f"{what}: the dossier has {len(plan.documents)} documents")
        if a.doc_type not in known:
            raise ReviewError(f"{what}: {a.doc_type!r} is not a catalog type or 'unknown'")
        pages = [p + 1 for p in plan.documents[a.document].page_indices]
        if a.from_page is not None and a.from_page not in pages:
            raise ReviewError(f"{what}: bundle page {a.from_page} is not one of its pages "
                              f"{pages}")
        if a.merge_with_previous and a.document == 0 and a.from_page in (None, pages[0]):
            raise ReviewError(f"{what}: the first document has nothing to merge with")
        start = a.from_page if a.from_page is not None else pages[0]
        if (a.document, start) in seen:
            raise ReviewError(f"{what}: answered twice from bundle page {start}")
        seen.add((a.document, start))
    for p in answer.pages:
        if p.page >= len(plan.outcomes) or plan.outcomes[p.page].error is None:
            raise ReviewError(f"page {p.page}: only an unreadable page can be left out or "
                              "sent back for scanning")
    if len({p.page for p in answer.pages}) != len(answer.pages):
        raise ReviewError("a page is answered twice")


def _parts(plan: Plan, answer: ReviewAnswer) -> list[_Part]:
    """Every document cut at the pages its answers start from, in bundle order."""
    parts: list[_Part] = []
    for i, doc in enumerate(plan.documents):
        first = doc.page_indices[0] + 1
        starts = sorted((((a.from_page or first), a) for a in answer.documents if a.document == i),
                        key=lambda sa: sa[0])
        cuts: list[tuple[int, DocumentAnswer | None]] = (
            [(first, None)] if not starts or starts[0][0] != first else [])
        cuts += [(s, a) for s, a in starts]
        for n, (start, a) in enumerate(cuts):
            end = cuts[n + 1][0] if n + 1 < len(cuts) else None
            pages = tuple(p for p in doc.page_indices
                          if p + 1 >= start and (end is None or p + 1 < end))
            parts.append(_Part(a.doc_type if a else doc.doc_type, pages, doc, a))
    return parts


def _documents(parts: list[_Part], answer: ReviewAnswer, at: datetime
               ) -> tuple[tuple[DocumentGroup, ...], set[int], list[ReportDecision]]:
    """The parts as documents (merges applied), which of them were decided, and why."""
    documents: list[DocumentGroup] = []
    decided: set[int] = set()
    decisions: list[ReportDecision] = []
    for part in parts:
        a = part.answer
        if a is None:
            documents.append(part.source if part.pages == part.source.page_indices
                             else DocumentGroup(part.doc_type, part.pages, part.source.confidence,
                                                part.source.candidates))
            continue
        target = f"bundle pages {_span(part.pages)}"
        if a.merge_with_previous and documents:
            before = documents.pop()
            decided.discard(len(documents))
            pages = before.page_indices + part.pages
            decisions.append(_decision(answer, at, "merge", f"bundle pages {_span(pages)}",
                                       f"{before.doc_type} + {part.source.doc_type}", a.doc_type))
            documents.append(DocumentGroup(a.doc_type, pages, 1.0))
        else:
            split = part.pages != part.source.page_indices
            decisions.append(_decision(answer, at, "split" if split else "type", target,
                                       part.source.doc_type, a.doc_type))
            documents.append(DocumentGroup(a.doc_type, part.pages, 1.0))
        decided.add(len(documents) - 1)
    return tuple(documents), decided, decisions


def _decision(answer: ReviewAnswer, at: datetime, action: str, target: str,
              before: str | None, after: str | None) -> ReportDecision:
    return ReportDecision.model_validate({"reviewer": answer.reviewer, "at": at,
                                          "action": action, "target": target, "from": before,
                                          "to": after, "note": answer.note or None})


def _span(pages: Sequence[int]) -> str:
    first, last = pages[0] + 1, pages[-1] + 1
    return str(first) if first == last else f"{first}-{last}"


def _page_name(plan: Plan, i: int) -> str:
    ref = plan.outcomes[i].ref
    return f"{ref.source}#{ref.source_page}"
