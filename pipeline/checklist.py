"""Checklist of a procedure against the documents found, and the dossier status.

Decisions (beyond docs/catalog.md):

* A document satisfies a requirement when its ``doc_type`` is in ``any_of``,
  whatever its confidence; a low-confidence document makes the dossier
  ``needs_review`` through the ``uncertain`` flag instead.
* A conditional requirement whose fact is false or absent is
  ``not_applicable``; documents of its types that are present are still listed
  on the item (so a reviewer sees, e.g., an authorization although
  ``by_representative`` was false) and are therefore not extras.
* ``optional`` items list their documents and are never missing.
* ``extras`` = documents whose type no requirement of the procedure names
  (including "unknown").
* A missing requirement is *in doubt* when some document below
  ``min_confidence`` has one of its types among its candidates (or is that
  type): those documents are listed in ``possible``.  Only missing items not in
  doubt make a dossier ``incomplete``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from models.schemas import ChecklistStatus, Procedure, Requirement
from pipeline.classify.group import DocumentGroup

Status = Literal["complete", "incomplete", "needs_review"]


@dataclass(frozen=True)
class ChecklistItem:
    requirement: str
    status: ChecklistStatus
    documents: tuple[int, ...] = ()
    possible: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class ChecklistResult:
    items: tuple[ChecklistItem, ...]
    missing: tuple[str, ...]
    extras: tuple[int, ...]
    doubtful: tuple[str, ...] = ()

    @property
    def provably_missing(self) -> tuple[str, ...]:
        return tuple(m for m in self.missing if m not in self.doubtful)


def _possible(
    req: Requirement, documents: Sequence[DocumentGroup], min_confidence: float
) -> tuple[int, ...]:
    wanted = set(req.any_of)
    return tuple(
        i
        for i, d in enumerate(documents)
        if d.confidence < min_confidence
        and (d.doc_type in wanted or any(c.doc_type in wanted for c in d.candidates))
    )


def _evaluate(
    req: Requirement,
    documents: Sequence[DocumentGroup],
    facts: Mapping[str, bool],
    min_confidence: float,
) -> ChecklistItem:
    matching = tuple(i for i, d in enumerate(documents) if d.doc_type in req.any_of)
    if req.kind == "optional":
        return ChecklistItem(req.id, "optional", matching)
    if req.if_fact is not None and not facts.get(req.if_fact, False):
        return ChecklistItem(req.id, "not_applicable", matching)
    if matching:
        return ChecklistItem(req.id, "satisfied", matching)
    return ChecklistItem(req.id, "missing", (), _possible(req, documents, min_confidence))


def evaluate_checklist(
    procedure: Procedure,
    documents: Sequence[DocumentGroup],
    facts: Mapping[str, bool],
    *,
    min_confidence: float,
) -> ChecklistResult:
    """Check every requirement of ``procedure``; indices refer to ``documents``."""
    items = tuple(_evaluate(r, documents, facts, min_confidence) for r in procedure.requirements)
    named = {t for r in procedure.requirements for t in r.any_of}
    extras = tuple(i for i, d in enumerate(documents) if d.doc_type not in named)
    missing = tuple(it.requirement for it in items if it.status == "missing")
    doubtful = tuple(it.requirement for it in items if it.status == "missing" and it.possible)
    return ChecklistResult(items, missing, extras, doubtful)


def decide_status(checklist: ChecklistResult, *, uncertain: bool) -> Status:
    """docs/contracts.md §4: incomplete beats needs_review beats complete.

    ``uncertain``: some page or document is below the confidence threshold.
    """
    if checklist.provably_missing:
        return "incomplete"
    if uncertain or checklist.doubtful:
        return "needs_review"
    return "complete"
