"""Document separation: does a page start a new document or continue the open one?

For each non-blank page, in order, a small logistic model reads:

* the page itself: best title-rule score and whether it reaches the start
  threshold, national motto, agency header, page numbering ("Trang 1/3"
  starts, "Trang 2/3" / "- 2 -" continues), text starting low on the page;
* continuity with the open document: how likely the page's own content is
  under the open document's type, whether both agree on the type, and two
  interactions that matter (a drawing sheet after a drawing sheet continues
  the set; a titled page of the same type is a second document).

The first page always starts a document. A document's type combines its
pages' calibrated type probabilities (first page weighted 1, the others
``CONT_WEIGHT``); its confidence is the smallest of the type probability and
the boundary probabilities that made it (so an unsure split is reviewed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.classify.features import PageFeatures
from pipeline.classify.group import DocumentGroup
from pipeline.types import Candidate

CONT_WEIGHT = 0.35
MAX_CANDIDATES = 3
N_SEP = 17
BIAS = 15  # index of the constant feature in ``_sep_row``
BARE = 16  # index of the bare-page feature
DRAWING_TYPES = ("design_drawings",)
TITLE_START = 0.75  # a title-rule score that opens a document (TitleConfig.start_threshold)


def _sep_row(
    f: PageFeatures,
    p: np.ndarray,
    open_p: np.ndarray | None,
    open_type: int | None,
    drawing: tuple[int, ...],
) -> list[float]:
    title_max = max(f.titles) if f.titles else 0.0
    k, n = f.page_number or (0, 0)
    this = int(np.argmax(p))
    if open_p is None or open_type is None:
        like, same, sim = 0.0, 0.0, 0.0
    else:
        like = float(p[open_type])
        same = float(this == open_type)
        sim = float(np.dot(p, open_p))
    draw = float(this in drawing)
    return [
        title_max,
        float(title_max >= TITLE_START),
        f.shape[5],
        f.shape[6],
        float(k == 1),
        float(k > 1),
        float(f.page_number is None),
        like,
        same,
        sim,
        draw * same,
        float(title_max >= TITLE_START) * same * (1 - draw),
        f.shape[15],
        f.shape[0],
        float(np.max(p)),
        1.0,
        # a bare page (no title, motto or agency header; not a drawing sheet, whose
        # title sits in a small title block) mostly continues a document
        float(title_max < 0.5 and not f.shape[5] and not f.shape[6]) * (1 - draw),
    ]


@dataclass(frozen=True)
class Separator:
    """Logistic weights over ``_sep_row`` (fitted by lab.training)."""

    weights: np.ndarray  # (N_SEP,)
    types: tuple[str, ...]

    def _drawing(self) -> tuple[int, ...]:
        return tuple(i for i, t in enumerate(self.types) if t in DRAWING_TYPES)

    def start_prob(
        self, f: PageFeatures, p: np.ndarray, open_p: np.ndarray | None, open_type: int | None
    ) -> float:
        if open_p is None:
            return 1.0
        z = float(np.dot(self.weights, _sep_row(f, p, open_p, open_type, self._drawing())))
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))

    def rows(
        self, feats: Sequence[PageFeatures], probs: np.ndarray, starts: Sequence[bool]
    ) -> np.ndarray:
        """Training rows for one dossier given the true starts (teacher forcing)."""
        out = []
        open_p: np.ndarray | None = None
        for f, p, s in zip(feats, probs, starts, strict=True):
            if open_p is not None:
                out.append(_sep_row(f, p, open_p, int(np.argmax(open_p)), self._drawing()))
            if s or open_p is None:
                open_p = p
        return np.asarray(out, dtype=np.float64).reshape(-1, N_SEP)


@dataclass(frozen=True)
class Segment:
    """Result of separating a page sequence."""

    starts: tuple[bool, ...]
    start_probs: tuple[float, ...]  # per page: P(page starts a document)
    groups: tuple[DocumentGroup, ...]


def _doc_probs(probs: np.ndarray) -> np.ndarray:
    w = np.full(len(probs), CONT_WEIGHT)
    w[0] = 1.0
    logp = (np.log(np.clip(probs, 1e-9, 1.0)) * w[:, None]).sum(axis=0) / w.sum()
    e = np.exp(logp - logp.max())
    return e / e.sum()


def _group(
    types: Sequence[str], pages: list[int], probs: np.ndarray, boundary: float
) -> DocumentGroup:
    dp = _doc_probs(probs[pages])
    order = np.argsort(-dp)[:MAX_CANDIDATES]
    conf = min(float(dp[order[0]]), boundary)
    return DocumentGroup(
        doc_type=types[int(order[0])],
        page_indices=tuple(pages),
        confidence=round(conf, 4),
        candidates=tuple(Candidate(types[int(i)], round(float(dp[i]), 4)) for i in order),
    )


def segment(
    sep: Separator,
    feats: Sequence[PageFeatures],
    probs: np.ndarray,
    *,
    threshold: float = 0.5,
    file_starts: Sequence[bool] | None = None,
    within_file_threshold: float = 0.9,
) -> Segment:
    """Split pages (in bundle order) into documents; indices are 0-based into ``feats``.

    ``file_starts`` (per page: it is the first page of its file) is given when the
    dossier's files are its documents (see :func:`files_are_documents`): every file
    then starts a document, and a page inside a file starts one only at a catalog
    title and when the model is sure (``within_file_threshold``): a motto or an
    agency header alone also tops an annex or the next page of a decision.
    """
    starts: list[bool] = []
    sprobs: list[float] = []
    groups: list[DocumentGroup] = []
    pages: list[int] = []
    boundary = 1.0
    open_p: np.ndarray | None = None
    for i, (f, p) in enumerate(zip(feats, probs, strict=True)):
        open_type = None if open_p is None else int(np.argmax(open_p))
        sp = sep.start_prob(f, p, open_p, open_type)
        by_file = file_starts is not None and file_starts[i]
        if file_starts is None:
            start = sp >= threshold
        else:  # inside a handed-in file, only a sure split at a catalog title
            titled = max(f.titles, default=0.0) >= TITLE_START
            start = by_file or (sp >= within_file_threshold and titled)
        starts.append(start)
        sprobs.append(round(sp, 4))
        if start:
            if pages:
                groups.append(_group(sep.types, pages, probs, boundary))
            pages, boundary = [i], (sp if open_p is not None and not by_file else 1.0)
            open_p = p
        else:
            pages.append(i)
            if file_starts is None:
                boundary = min(boundary, 1.0 - sp)
            open_p = _doc_probs(probs[pages])
    if pages:
        groups.append(_group(sep.types, pages, probs, boundary))
    return Segment(tuple(starts), tuple(sprobs), tuple(groups))


def files_are_documents(sources: Sequence[str]) -> tuple[bool, ...] | None:
    """Per page, whether it opens its file, when the files look like documents.

    A scanner station that writes one file per page says nothing about where
    documents begin; a dossier with a multi-page file was scanned one document
    per file (a whole dossier in one file still splits on sure titles). ``None``
    when no file has more than one page (or the sources are not known).
    """
    if not sources or any(not s for s in sources) or len(set(sources)) == len(sources):
        return None
    return tuple(i == 0 or sources[i] != sources[i - 1] for i in range(len(sources)))
