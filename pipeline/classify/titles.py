"""Rule-based page classifier: finds a catalog title near the top of the page.

How a page is scored (all text compared after ``fold``: no case, no diacritics):

1. OCR words are grouped into visual lines; the national motto is cut out of
   every line (it is never a title).
2. Windows of 1-2 consecutive lines (3 for titles with a "…" wildcard) are
   matched against every catalog title.  A title's segments are aligned in
   order with ``rapidfuzz`` (``partial_ratio_alignment``), the aligned span is
   widened to whole words and scored with ``fuzz.ratio`` -> ``match``.  Each
   short title word (<= 3 letters, e.g. "ve", "tu", "an") missing from the span
   costs ``short_token_penalty`` (stops "BẢN VIẾT" matching "BẢN VẼ …"); a
   word read with one letter doubled ("BỔỐ" for "BỔ") is not missing.
3. ``score = match * (1 - coverage_weight * (1 - coverage))`` where coverage is
   the share of the window the title explains: a line that *is* the title
   beats a long line that merely mentions it, and the most specific title wins
   ("TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN" over "GIẤY XÁC NHẬN …").
4. Layout: only windows that look like titles are matched: mostly capitals
   (``min_caps_ratio``) or larger than the page's body text
   (``large_line_ratio``).  Windows outside the title zone (top ``title_zone``
   of the page) are multiplied by ``outside_zone_factor``.
5. Cues of the same type anywhere on the page add ``cue_bonus`` each.

The best type starts a document when its score reaches ``start_threshold``;
confidence is that score, lowered by ``ambiguity_penalty`` when another type
is within ``ambiguity_margin``.  Without a title, the page continues the
previous document: its label is the type its cues suggest (low confidence)
or "unknown" with confidence 0.  A passport machine-readable zone (a strong
cue) starts a passport even without a readable title.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz, process

from models.schemas import UNKNOWN, Catalog
from pipeline.classify.interfaces import PageText
from pipeline.classify.text import fold
from pipeline.types import Candidate, OcrResult, PageLabel, Word

_WILDCARD = re.compile(r"…|\.\.\.")


class TitleConfig(BaseModel):
    """Weights of the title matcher (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    title_zone: float = Field(default=0.45, gt=0, le=1)
    outside_zone_factor: float = Field(default=0.72, ge=0, le=1)
    min_caps_ratio: float = Field(default=0.6, ge=0, le=1)
    large_line_ratio: float = Field(default=1.25, gt=0)
    min_match: float = Field(default=0.75, ge=0, le=1)
    coverage_weight: float = Field(default=0.5, ge=0, le=1)
    short_token_penalty: float = Field(default=0.15, ge=0, le=1)
    start_threshold: float = Field(default=0.75, ge=0, le=1)
    cue_bonus: float = Field(default=0.05, ge=0, le=1)
    max_cue_bonus: float = Field(default=0.10, ge=0, le=1)
    cue_only_score: float = Field(default=0.30, ge=0, le=1)
    cue_only_max: float = Field(default=0.45, ge=0, le=1)
    cue_min_ratio: float = Field(default=90.0, ge=0, le=100)
    strong_cues: tuple[tuple[str, str], ...] = (("passport", "P<VNM"),)
    strong_cue_confidence: float = Field(default=0.80, ge=0, le=1)
    ambiguity_margin: float = Field(default=0.05, ge=0, le=1)
    ambiguity_penalty: float = Field(default=0.10, ge=0, le=1)
    candidate_floor: float = Field(default=0.50, ge=0, le=1)
    candidate_min_match: float = Field(default=0.70, ge=0, le=1)
    max_candidates: int = Field(default=3, ge=1)
    max_window_lines: int = Field(default=2, ge=1)
    max_wildcard_lines: int = Field(default=3, ge=1)
    motto_min_ratio: float = Field(default=85.0, ge=0, le=100)


@dataclass(frozen=True)
class _Pattern:
    doc_type: str
    title: str
    segments: tuple[str, ...]  # folded, in order; "…" between them
    open_end: bool  # title ends with "…": the rest of the window belongs to it
    short_tokens: tuple[str, ...]
    length: int

    @property
    def wildcard(self) -> bool:
        return len(self.segments) > 1 or self.open_end


@dataclass(frozen=True)
class _Line:
    raw: str
    folded: str  # motto removed
    top: int
    bottom: int
    height: float
    letters: int
    upper: int


@dataclass(frozen=True)
class _Window:
    folded: str
    n_lines: int
    factor: float  # layout factor: 1.0 in the title zone


@dataclass(frozen=True)
class TitleHit:
    """The best match of one document type on a page (for explanations and tests)."""

    doc_type: str
    title: str
    match: float
    coverage: float
    score: float


def _compile(catalog: Catalog) -> tuple[_Pattern, ...]:
    patterns: list[_Pattern] = []
    for dt in catalog.document_types:
        for title in dt.titles:
            parts = _WILDCARD.split(title)
            segments = tuple(fold(p) for p in parts if fold(p))
            open_end = not fold(parts[-1])
            words = " ".join(segments).split()
            short = tuple(dict.fromkeys(w for w in words if len(w) <= 3))
            patterns.append(
                _Pattern(dt.id, title, segments, open_end, short, sum(len(s) for s in segments))
            )
    return tuple(patterns)


def _visual_lines(words: Iterable[Word]) -> list[list[Word]]:
    """Words grouped by Tesseract line key, split again if a 'line' jumps down the page."""
    groups: list[list[Word]] = []
    for w in words:
        if not w.text.strip():
            continue
        if groups:
            prev = groups[-1][-1]
            if prev.line_key == w.line_key and w.top < prev.top + prev.height:
                groups[-1].append(w)
                continue
        groups.append([w])
    return groups


def _align(seg: str, text: str, start: int) -> tuple[float, int, int]:
    """Best whole-word span of ``text[start:]`` for ``seg``: (ratio 0-1, span start, span end)."""
    if not text[start:].strip():
        return 0.0, start, start
    if len(text) - start <= len(seg):
        s, e = start, len(text)
    else:
        al = fuzz.partial_ratio_alignment(seg, text[start:])
        if al is None:
            return 0.0, start, start
        s, e = start + al.dest_start, start + al.dest_end
        while s > start and text[s - 1] != " ":
            s -= 1
        while e < len(text) and text[e] != " ":
            e += 1
    while s < e and text[s] == " ":
        s += 1
    while e > s and text[e - 1] == " ":
        e -= 1
    return fuzz.ratio(seg, text[s:e]) / 100.0, s, e


def _match(p: _Pattern, text: str, short_penalty: float) -> tuple[float, float]:
    """(match 0-1, coverage 0-1) of pattern ``p`` in a window's folded text."""
    pos, total, first = 0, 0.0, -1
    for seg in p.segments:
        r, s, e = _align(seg, text, pos)
        if first < 0:
            first = s
        total += r * len(seg)
        pos = e
    end = len(text) if p.open_end else pos
    span_words = set(text[first:end].split())
    missing = sum(1 for t in p.short_tokens
                  if t not in span_words and not any(_doubled(t, w) for w in span_words))
    match = max(0.0, total / p.length - missing * short_penalty)
    coverage = (end - first) / len(text) if text else 0.0
    return match, coverage


def _doubled(token: str, word: str) -> bool:
    """``word`` is ``token`` with one letter read twice: Tesseract reads a capital vowel
    with stacked diacritics as two ("BỔ" -> "BỔỐ", folded "bo" -> "boo")."""
    return len(word) == len(token) + 1 and any(
        word == token[: i + 1] + token[i:] for i in range(len(token)))


class TitleClassifier:
    """Fuzzy, diacritic-insensitive title matcher over the catalog (implements PageClassifier)."""

    def __init__(self, catalog: Catalog, *, config: TitleConfig | None = None) -> None:
        self.config = config or TitleConfig()
        self._patterns = _compile(catalog)
        self._motto = tuple(m for m in (fold(x) for x in catalog.motto) if m)
        self._cues = {
            dt.id: tuple(c for c in (fold(x) for x in dt.cues) if c)
            for dt in catalog.document_types
        }
        self._strong = tuple((t, fold(c)) for t, c in self.config.strong_cues)

    # --- public -------------------------------------------------------------
    def classify(self, page: PageText) -> PageLabel:
        cfg = self.config
        lines = self._lines(page.ocr)
        hits = self.title_hits(page, _lines=lines)
        cues = self._cue_counts(lines)
        scored = {
            h.doc_type: min(1.0, h.score + self._cue_bonus(cues.get(h.doc_type, 0)))
            for h in hits
            if h.match >= cfg.min_match
        }
        length = {h.doc_type: len(h.title) for h in hits}
        ranked = sorted(scored.items(), key=lambda kv: (kv[1], length[kv[0]]), reverse=True)
        candidates = self._candidates(hits, cues)
        if ranked and ranked[0][1] >= cfg.start_threshold:
            doc_type, conf = ranked[0]
            if len(ranked) > 1 and ranked[1][1] >= conf - cfg.ambiguity_margin:
                conf = max(0.0, conf - cfg.ambiguity_penalty)
            return PageLabel(doc_type, round(conf, 4), True, candidates)
        all_folded = [ln.folded for ln in lines]
        for doc_type, cue in self._strong:
            if any(_has_short_cue(cue, f) for f in all_folded):
                return PageLabel(doc_type, cfg.strong_cue_confidence, True, candidates)
        cue_scores = {t: self._cue_only(n) for t, n in cues.items() if n}
        if cue_scores:
            best = max(cue_scores.items(), key=lambda kv: kv[1])
            return PageLabel(best[0], round(best[1], 4), False, candidates)
        return PageLabel(UNKNOWN, 0.0, False, candidates)

    def title_hits(self, page: PageText, *, _lines: list[_Line] | None = None) -> list[TitleHit]:
        """Best title match per document type (any score), best first."""
        lines = self._lines(page.ocr) if _lines is None else _lines
        windows = self._windows(lines, page.ocr.height)
        best: dict[str, TitleHit] = {}
        cfg = self.config
        flat = [w for ws in windows for w in ws]
        if not flat:
            return []
        # cheap upper bound first: partial_ratio of each title's first segment in each window
        cutoff = 100.0 * cfg.candidate_min_match - 5.0
        pre = process.cdist(
            [p.segments[0] for p in self._patterns],
            [w.folded for w in flat],
            scorer=fuzz.partial_ratio,
            score_cutoff=cutoff,
            workers=1,
        )
        for pi, p in enumerate(self._patterns):
            n = cfg.max_wildcard_lines if p.wildcard else cfg.max_window_lines
            for wi, win in enumerate(flat):
                if win.n_lines > n or pre[pi, wi] < cutoff:
                    continue
                hit = self._score(p, win)
                old = best.get(p.doc_type)
                if hit is not None and (old is None or hit.score > old.score):
                    best[p.doc_type] = hit
        return sorted(best.values(), key=lambda h: h.score, reverse=True)

    # --- internals ----------------------------------------------------------
    def _cue_bonus(self, n: int) -> float:
        return min(self.config.max_cue_bonus, self.config.cue_bonus * n)

    def _cue_only(self, n: int) -> float:
        return min(self.config.cue_only_max, self.config.cue_only_score * n)

    def _score(self, p: _Pattern, win: _Window) -> TitleHit | None:
        cfg = self.config
        match, coverage = _match(p, win.folded, cfg.short_token_penalty)
        if match < cfg.candidate_min_match:
            return None
        score = match * (1.0 - cfg.coverage_weight * (1.0 - coverage)) * win.factor
        return TitleHit(p.doc_type, p.title, round(match, 4), round(coverage, 4), round(score, 4))

    def _lines(self, ocr: OcrResult) -> list[_Line]:
        out: list[_Line] = []
        for group in _visual_lines(ocr.words):
            raw = " ".join(w.text for w in group)
            out.append(
                _Line(
                    raw=raw,
                    folded=self._cut_motto(fold(raw)),
                    top=min(w.top for w in group),
                    letters=sum(1 for c in raw if c.isalpha()),
                    upper=sum(1 for c in raw if c.isupper()),
                    bottom=max(w.top + w.height for w in group),
                    height=statistics.median(w.height for w in group),
                )
            )
        return out

    def _cut_motto(self, folded: str) -> str:
        for m in self._motto:
            if len(folded) < 0.5 * len(m):
                continue
            al = fuzz.partial_ratio_alignment(m, folded)
            if al is None or al.score < self.config.motto_min_ratio:
                continue
            s, e = al.dest_start, al.dest_end
            while s > 0 and folded[s - 1] != " ":
                s -= 1
            while e < len(folded) and folded[e] != " ":
                e += 1
            folded = (folded[:s] + " " + folded[e:]).strip()
        return " ".join(folded.split())

    def _windows(self, lines: Sequence[_Line], page_height: int) -> list[list[_Window]]:
        """windows[k-1] = all windows of k consecutive, vertically adjacent, non-empty lines."""
        cfg = self.config
        body = statistics.median(ln.height for ln in lines) if lines else 0.0
        zone = cfg.title_zone * max(page_height, 1)
        depth = max(cfg.max_wildcard_lines, cfg.max_window_lines)
        out: list[list[_Window]] = [[] for _ in range(depth)]
        for i, first in enumerate(lines):
            if not first.folded:
                continue
            group = [first]
            for k in range(depth):
                if k:
                    j = i + k
                    if j >= len(lines) or not _adjacent(group[-1], lines[j]):
                        break
                    group.append(lines[j])
                large = statistics.median(ln.height for ln in group) >= cfg.large_line_ratio * body
                letters = sum(ln.letters for ln in group)
                caps = letters > 0 and sum(ln.upper for ln in group) >= cfg.min_caps_ratio * letters
                in_zone = (first.top + first.bottom) / 2 <= zone
                factor = 1.0 if in_zone else cfg.outside_zone_factor
                if large or caps:  # titles are printed in capitals and/or larger type
                    folded = " ".join(ln.folded for ln in group)
                    out[k].append(_Window(folded, k + 1, factor))
        return out

    def _cue_counts(self, lines: Sequence[_Line]) -> dict[str, int]:
        """Number of distinct cues of each type found anywhere on the page."""
        folded = [ln.folded for ln in lines if ln.folded]
        if not folded:
            return {}
        cues = [(t, c) for t, cs in self._cues.items() for c in cs]
        long_cues = [c for _, c in cues if len(c) > 6]
        found_long: set[str] = set()
        if long_cues:
            sim = process.cdist(
                long_cues,
                folded,
                scorer=fuzz.partial_ratio,
                score_cutoff=self.config.cue_min_ratio,
                workers=1,
            )
            # a line shorter than the cue would be aligned *inside* the cue: not a hit
            long_enough = (
                np.array([len(f) for f in folded])[None, :]
                >= 0.8 * np.array([len(c) for c in long_cues])[:, None]
            )
            rows = np.nonzero(((sim > 0) & long_enough).any(axis=1))[0]
            found_long = {long_cues[i] for i in rows}
        counts: dict[str, int] = {}
        for doc_type, cue in cues:
            if cue in found_long or (len(cue) <= 6 and any(_has_short_cue(cue, f) for f in folded)):
                counts[doc_type] = counts.get(doc_type, 0) + 1
        return counts

    def _candidates(self, hits: Sequence[TitleHit], cues: dict[str, int]) -> tuple[Candidate, ...]:
        cfg = self.config
        scores = {
            h.doc_type: min(1.0, h.score + self._cue_bonus(cues.get(h.doc_type, 0)))
            for h in hits
            if h.score >= cfg.candidate_floor
        }
        for t, n in cues.items():  # cue-only evidence for types without a title match
            scores.setdefault(t, self._cue_only(n))
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[: cfg.max_candidates]
        return tuple(Candidate(t, round(s, 4)) for t, s in ranked)


def _adjacent(upper: _Line, lower: _Line) -> bool:
    """``lower`` is the next text line below ``upper`` (a wrapped title), not a distant block."""
    gap = lower.top - upper.bottom
    return lower.top >= upper.top and gap <= 1.5 * max(upper.height, lower.height)


def _has_short_cue(cue: str, folded_line: str) -> bool:
    """Short cue at a word start (e.g. "p vnm" in an MRZ line "p vnmnguyen …")."""
    return folded_line.startswith(cue) or (" " + cue) in folded_line
