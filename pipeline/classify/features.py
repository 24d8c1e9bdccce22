"""Page features for the trained classifier: what the page says and how it looks.

* text: the page's OCR text twice -- lower-cased with diacritics, and folded
  (no diacritics) -- and the title zone (capital or large lines in the top
  half, motto cut away), each hashed into character n-grams (robust to OCR
  errors: a wrong letter spoils a few n-grams, not the word);
* the title rules as numbers: the best title match score of every catalog
  type (:class:`~pipeline.classify.titles.TitleClassifier`) and its cue counts;
* layout: words, text height, capitals, title-zone share, OCR confidence,
  motto, agency header, machine-readable zone, page numbering ("Trang k/n"),
  and the image numbers of :class:`~pipeline.classify.layout.LayoutFeatures`.

``PageFeatures`` keeps both parts; ``FeatureSpace`` turns a batch into one
sparse matrix (hashing: nothing to fit, nothing to store but the parameters).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.schemas import Catalog
from pipeline.classify.hashing import char_wb_ngrams, hashed_counts, word_ngrams
from pipeline.classify.interfaces import PageText
from pipeline.classify.layout import LayoutFeatures
from pipeline.classify.text import fold
from pipeline.classify.titles import TitleClassifier, TitleHit, _Line
from pipeline.types import OcrResult

_PAGE_NO = re.compile(r"\btrang\s*(\d{1,2})\s*[/|l1]?\s*(\d{1,2})?\b|^\s*-\s*(\d{1,2})\s*-\s*$")
_AGENCY = re.compile(
    r"^\W*(uy ban nhan dan|toa an nhan dan|benh vien|so tai nguyen|van phong dang ky)"
)  # an agency header line opens with the agency's name; "Kính gửi: Ủy ban nhân dân
# phường ..." (the addressee) and a sentence naming one are no header
_MRZ = re.compile(r"(p<vnm|idvnm|<<<)", re.IGNORECASE)
_WORD = re.compile(r"(?u)\b[a-z]{2,}\b")  # folded words of two letters or more
N_LAYOUT = 16  # scalar layout/text-shape numbers, see ``_shape``


@dataclass(frozen=True)
class PageFeatures:
    """Everything the trained model reads from one page."""

    text_nfc: str  # lower case, diacritics kept
    text_folded: str  # lower case, no diacritics
    title_zone: str  # folded text of title-like lines in the top half
    titles: tuple[float, ...]  # best title score per catalog type (catalog order)
    cues: tuple[float, ...]  # cue count per catalog type, capped at 3
    shape: tuple[float, ...]  # N_LAYOUT numbers
    page_number: tuple[int, int] | None  # (k, n) or (k, 0) when found
    hits: tuple[TitleHit, ...] = ()  # the title rules' best match per type (evidence)


def _page_number(lines: Sequence[str]) -> tuple[int, int] | None:
    for line in lines:
        m = _PAGE_NO.search(line)
        if m:
            if m.group(3):
                return int(m.group(3)), 0
            return int(m.group(1)), int(m.group(2) or 0)
    return None


class FeatureExtractor:
    """Page -> :class:`PageFeatures` (holds the compiled title rules of a catalog)."""

    def __init__(self, catalog: Catalog) -> None:
        self.types = tuple(dt.id for dt in catalog.document_types)
        self._titles = TitleClassifier(catalog)
        self._index = {t: i for i, t in enumerate(self.types)}

    def extract(self, ocr: OcrResult, layout: LayoutFeatures | None = None) -> PageFeatures:
        page = PageText(ocr=ocr)
        lines = self._titles._lines(ocr)  # noqa: SLF001 - shared line model
        titles = [0.0] * len(self.types)
        hits = tuple(self._titles.title_hits(page, _lines=lines))
        for hit in hits:
            if hit.doc_type in self._index:
                titles[self._index[hit.doc_type]] = hit.score
        cues = [0.0] * len(self.types)
        for t, n in self._titles._cue_counts(lines).items():  # noqa: SLF001
            if t in self._index:
                cues[self._index[t]] = float(min(3, n))
        height = max(1, ocr.height)
        zone = 0.45 * height
        title_lines = []
        body = [ln.height for ln in lines] or [0.0]
        med = float(np.median(body))
        for ln in lines:
            caps = ln.letters > 0 and ln.upper >= 0.6 * ln.letters
            if (ln.top + ln.bottom) / 2 <= zone and (caps or ln.height >= 1.25 * med) and ln.folded:
                title_lines.append(ln.folded)
        raw = [ln.raw for ln in lines]
        text = "\n".join(raw)
        folded_lines = [fold(r) for r in raw]
        return PageFeatures(
            text_nfc=unicodedata.normalize("NFC", text).lower(),
            text_folded=" ".join(folded_lines),
            title_zone=" | ".join(title_lines),
            titles=tuple(titles),
            cues=tuple(cues),
            shape=self._shape(ocr, lines, folded_lines, layout, med),
            page_number=_page_number(folded_lines[-4:] + folded_lines[:2]),
            hits=hits,
        )

    def _shape(
        self,
        ocr: OcrResult,
        lines: Sequence[_Line],
        folded: Sequence[str],
        layout: LayoutFeatures | None,
        med: float,
    ) -> tuple[float, ...]:
        height = max(1, ocr.height)
        words = [w for w in ocr.words if w.text.strip()]
        letters = sum(ln.letters for ln in lines)
        upper = sum(ln.upper for ln in lines)
        top_words = sum(1 for w in words if w.top < 0.45 * height)
        motto = float(any("doc lap tu do hanh phuc" in f or "cong hoa xa hoi" in f for f in folded))
        agency = float(any(_AGENCY.match(f) for f in folded[:6]))
        mrz = float(any(_MRZ.search(w.text) for w in words))
        lay = (layout or LayoutFeatures()).vector()
        has_layout = 0.0 if layout is None else 1.0
        return (
            math.log1p(len(words)) / 7.0,
            med / height * 50.0,
            upper / letters if letters else 0.0,
            top_words / len(words) if words else 0.0,
            ocr.mean_conf / 100.0,
            motto,
            agency,
            mrz,
            min(1.0, len(lines) / 60.0),
            has_layout,
            lay[0] * 5.0,
            lay[1] * 50.0,
            lay[2] * 20.0,
            lay[3] * 20.0,
            lay[4] * 5.0,
            float(bool(words) and words[0].top > 0.3 * height),
        )


@dataclass(frozen=True)
class FeatureSpace:
    """Sparse design matrix of a batch of pages: hashed n-grams + dense numbers."""

    n_types: int
    text_bits: int = 14
    title_bits: int = 13
    word_bits: int = 0  # folded word 1-2-grams (0: no such block, as in format-1 models)

    def n_features(self) -> int:
        words = 2**self.word_bits if self.word_bits else 0
        return (
            2 * 2**self.text_bits + 2**self.title_bits + words + 2 * self.n_types + N_LAYOUT + 4
        )

    def _blocks(self, feats: Sequence[PageFeatures]) -> list[sp.csr_matrix]:
        """The hashed n-gram blocks (scikit-learn's ``HashingVectorizer`` with
        ``analyzer="char_wb"`` and ``"word"``, unit length: :mod:`.hashing`)."""
        text_cols, title_cols = 2**self.text_bits, 2**self.title_bits
        blocks = [
            hashed_counts([f.text_nfc for f in feats],
                          lambda t: char_wb_ngrams(t, (2, 4)), text_cols),
            hashed_counts([f.text_folded for f in feats],
                          lambda t: char_wb_ngrams(t, (3, 5)), text_cols),
            hashed_counts([f.title_zone for f in feats],
                          lambda t: char_wb_ngrams(t, (2, 5)), title_cols) * 1.5,
        ]
        if self.word_bits:
            blocks.append(hashed_counts([f.text_folded for f in feats],
                                        lambda t: word_ngrams(t, (1, 2), _WORD), 2**self.word_bits))
        return blocks

    def dense(self, feats: Sequence[PageFeatures]) -> np.ndarray:
        rows = []
        for f in feats:
            k, n = f.page_number or (0, 0)
            pn = (
                float(f.page_number is not None),
                float(k == 1),
                float(k > 1),
                float(n > 0 and k == n),
            )
            rows.append((*f.titles, *(c / 3.0 for c in f.cues), *f.shape, *pn))
        return np.asarray(rows, dtype=np.float64).reshape(len(feats), -1)

    def matrix(self, feats: Sequence[PageFeatures], *, dense_weight: float = 1.0) -> sp.csr_matrix:
        blocks = [*self._blocks(feats), sp.csr_matrix(self.dense(feats) * dense_weight)]
        return sp.hstack(blocks, format="csr")
