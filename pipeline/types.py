"""Value types shared by several pipeline stages (frozen dataclasses).

Stage-specific results live beside their stage; only what crosses stage
boundaries is defined here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, order=True)
class PageRef:
    """One input page: a file of the dossier (its name/key) and a 1-based page in it."""

    source: str
    source_page: int = 1


@dataclass(frozen=True, eq=False)
class RawPage:
    """A decoded input page, before any cleaning.

    ``image`` is uint8, either 2-D (grey) or H x W x 3 in **RGB** order.
    ``dpi_assumed`` is True when the file carried no resolution (300 is assumed).
    """

    ref: PageRef
    image: np.ndarray
    dpi: float
    dpi_assumed: bool = False


@dataclass(frozen=True)
class Word:
    """One OCR word; box in pixels of the image that was OCR'd (top-left origin)."""

    text: str
    left: int
    top: int
    width: int
    height: int
    conf: float
    block: int = 0
    par: int = 0
    line: int = 0

    @property
    def line_key(self) -> tuple[int, int, int]:
        return (self.block, self.par, self.line)


@dataclass(frozen=True)
class OcrResult:
    """What Tesseract found on one page.

    ``mean_conf`` is the mean word confidence (0-100) over non-empty words, or
    0.0 when there are none. ``width``/``height`` are of the OCR'd image.
    """

    words: tuple[Word, ...]
    width: int
    height: int
    dpi: float
    mean_conf: float
    langs: str = "vie"
    engine_version: str = ""

    @property
    def text(self) -> str:
        """Words joined by spaces within a line and newlines between lines."""
        lines: list[str] = []
        current: tuple[int, int, int] | None = None
        for w in self.words:
            if current is not None and w.line_key == current:
                lines[-1] += " " + w.text
            else:
                lines.append(w.text)
                current = w.line_key
        return "\n".join(lines)


@dataclass(frozen=True)
class Candidate:
    doc_type: str
    score: float


@dataclass(frozen=True)
class PageLabel:
    """Classifier output for one page.

    ``starts_document`` is True when the page opens a new document (it has a
    title, or the classifier is sure it is a new one); False means it continues
    the previous document.
    """

    doc_type: str
    confidence: float
    starts_document: bool
    candidates: tuple[Candidate, ...] = field(default=())
