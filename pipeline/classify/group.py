"""Pages -> documents: a titled page opens a document, untitled pages continue it.

Rules (``labels`` are the classifier's labels of the non-blank pages, in bundle
order; indices below are 0-based into that sequence):

* a label with ``starts_document`` opens a new group of its type, with the
  title page's confidence and candidates;
* any other page joins the current group;
* pages before the first titled page form one group of type "unknown",
  confidence 0.0, whose candidates are the best guesses of its pages (so a
  checklist can tell that a missing item might be hiding there);
* a continuation page whose own guess (from cues) is a *different* known type
  lowers its group's confidence by the factor ``conflict_factor`` (once per
  such page) and adds that guess to the group's candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.schemas import BLANK, UNKNOWN
from pipeline.types import Candidate, PageLabel

CONFLICT_FACTOR = 0.85
MAX_CANDIDATES = 3


@dataclass(frozen=True)
class DocumentGroup:
    doc_type: str
    page_indices: tuple[int, ...]
    confidence: float
    candidates: tuple[Candidate, ...] = field(default=())


@dataclass
class _Open:
    doc_type: str
    pages: list[int]
    confidence: float
    scores: dict[str, float]


def _merge(scores: dict[str, float], candidates: Sequence[Candidate]) -> None:
    for c in candidates:
        scores[c.doc_type] = max(scores.get(c.doc_type, 0.0), c.score)


def _close(g: _Open) -> DocumentGroup:
    ranked = sorted(g.scores.items(), key=lambda kv: kv[1], reverse=True)[:MAX_CANDIDATES]
    return DocumentGroup(
        doc_type=g.doc_type,
        page_indices=tuple(g.pages),
        confidence=round(g.confidence, 4),
        candidates=tuple(Candidate(t, s) for t, s in ranked),
    )


def group_documents(
    labels: Sequence[PageLabel], *, conflict_factor: float = CONFLICT_FACTOR
) -> tuple[DocumentGroup, ...]:
    """Group consecutive page labels into documents (see the module docstring)."""
    groups: list[DocumentGroup] = []
    current: _Open | None = None
    for i, label in enumerate(labels):
        if label.starts_document:
            if current is not None:
                groups.append(_close(current))
            current = _Open(label.doc_type, [i], label.confidence, {})
            _merge(current.scores, label.candidates)
            continue
        if current is None:
            current = _Open(UNKNOWN, [i], 0.0, {})
        else:
            current.pages.append(i)
        _merge(current.scores, label.candidates)
        if current.doc_type != UNKNOWN and label.doc_type not in (
            UNKNOWN,
            BLANK,
            current.doc_type,
        ):
            current.confidence *= conflict_factor
            _merge(current.scores, [Candidate(label.doc_type, label.confidence)])
    if current is not None:
        groups.append(_close(current))
    return tuple(groups)
