"""What the pipeline asks of a classifier: the page it reads and the two seams.

``PageClassifier`` types one page (the title rules, :mod:`pipeline.classify.titles`;
the trained model, :mod:`pipeline.classify.trained`); ``DocumentSeparator`` also
cuts a dossier's pages into documents (the trained model). The dossier planner
(:mod:`pipeline.assemble`) depends on these, not on an implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pipeline.classify.group import DocumentGroup
from pipeline.classify.layout import LayoutFeatures
from pipeline.types import OcrResult, PageLabel


@dataclass(frozen=True)
class PageText:
    """What a page classifier sees: the page's OCR (words with boxes), how the
    page looks (when the page stage measured it) and the file it came from."""

    ocr: OcrResult
    layout: LayoutFeatures | None = None
    source: str = ""  # the file the page came from (its name), when known


@runtime_checkable
class PageClassifier(Protocol):
    """Seam for page classifiers (rule-based now, trained later)."""

    def classify(self, page: PageText) -> PageLabel: ...


@runtime_checkable
class DocumentSeparator(Protocol):
    """A classifier that also splits a page sequence into documents (trained model)."""

    def separate(
        self, pages: Sequence[PageText]
    ) -> tuple[tuple[PageLabel, ...], tuple[DocumentGroup, ...]]: ...
