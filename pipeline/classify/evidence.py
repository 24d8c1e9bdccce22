"""Open-set decision: a catalog type is reported only on positive evidence of it.

The trained model spreads its probability over the catalog's types only, so a
paper the catalog does not name (a decision, a directive, a tax notice...) still
gets some type, often with a high probability. What every official paper shares
(national motto, agency header, seal, signature, colour, landscape) is evidence
of no type. A document keeps a catalog type at or above the review threshold
only when one of its pages shows that type itself:

* its **title** (the fuzzy, diacritic-insensitive title rules: the title reads
  well and is most of its line, see ``EvidenceConfig``);
* its **field labels**: two of the labels the catalog lists for the type
  (``DocumentType.labels``: printed on that form and on no paper outside the
  catalog, e.g. "Quan hệ với người được khai sinh"), or one printed form code
  ("Mẫu CT01"), for a form whose title is faint or torn;
* or, for kinds whose title may be unreadable, the **structure** that defines
  them: a passport's machine-readable zone; a citizen ID card's ("IDVNM" zone
  on the back, or "CĂN CƯỚC" with a 12-digit number on a sparse, card-like
  page); a drawing's title block (scale "Tỷ lệ" on a page of rules and little
  text); a cadastral extract's scale with its coordinate table.

Continuation pages carry no title: they take the evidence of the document they
continue (evidence is gathered over all pages of a document).

Without evidence for the model's type:

* evidence for another type (typically structure the model did not learn, an
  ID card photographed full frame): that type; with the structural evidence's
  strength as confidence, or under the review threshold when only a title
  disagrees with the model;
* one long field label (``weak_label_words`` words or more: "Quan hệ với người
  đã chết"; fewer than prove it, on a form whose title and most fields are
  unreadable) of the type the model is sure of (``weak_label_model_min``):
  the model's type kept, its confidence capped under the review threshold, so
  the document is named for the reviewer and the dossier goes to review.
  Short labels ("Nguyên đơn", "Ghi bằng chữ") turn up in ordinary prose and
  say nothing alone; a long one met in prose ("lý lịch tư pháp") rarely meets
  a sure model;
* no evidence at all: ``unknown`` (an extra), confidence 0, the model's guesses
  kept as candidates with scores capped under the review threshold, so that a
  requirement such a document might satisfy is routed to review, not reported
  satisfied.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz, process

from models.schemas import UNKNOWN, Catalog
from pipeline.classify.features import PageFeatures
from pipeline.classify.group import DocumentGroup
from pipeline.classify.interfaces import PageText
from pipeline.classify.layout import LayoutFeatures
from pipeline.classify.text import fold
from pipeline.types import Candidate

_ID_NUMBER = re.compile(r"(?<!\d)\d{12}(?!\d)")
_PASSPORT_MRZ = re.compile(r"P<VNM", re.IGNORECASE)
_ID_MRZ = re.compile(r"IDVNM\d", re.IGNORECASE)
_FORM_CODE = re.compile(r"^mau (so )?\S*\d")  # folded "Mẫu số 04/ĐK", "Mẫu CT01"
_COORDINATES = re.compile(r"toa do|\bx ?m y ?m\b")  # "Bảng tọa độ", "X(m) Y(m)"


class EvidenceConfig(BaseModel):
    """Thresholds of the open-set decision (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    title_min: float = Field(default=0.6, ge=0, le=1)
    title_match: float = Field(default=0.85, ge=0, le=1)
    """A title proves its type when it reads that well ..."""
    title_coverage: float = Field(default=0.6, ge=0, le=1)
    """... and is most of its line: "TỜ KHAI CĂN CƯỚC" names the card, it is none;
    "HỢP ĐỒNG CHUYỂN NHƯỢNG QUYỀN SỬ DỤNG ĐẤT" is no land certificate."""
    unproven_cap: float = Field(default=0.5, ge=0, le=1)
    """Score ceiling of a candidate type without evidence (under the review threshold)."""
    mrz_strength: float = Field(default=0.9, ge=0, le=1)
    card_strength: float = Field(default=0.85, ge=0, le=1)
    card_max_words: int = Field(default=120, ge=1)
    """A card (or a card copied onto a sheet) has few words; a paper that quotes
    an ID number in its text has many."""
    drawing_strength: float = Field(default=0.7, ge=0, le=1)
    drawing_max_words: int = Field(default=200, ge=1)
    drawing_min_rules: float = Field(default=0.004, ge=0)
    """Share of the page covered by long rules (frames, walls, title block)."""
    extract_strength: float = Field(default=0.7, ge=0, le=1)
    labels_min: int = Field(default=2, ge=1)
    """Field labels of a type (catalog ``labels``) that prove it without a title."""
    labels_strength: float = Field(default=0.65, ge=0, le=1)
    weak_label_words: int = Field(default=4, ge=1)
    weak_label_model_min: float = Field(default=0.9, ge=0, le=1)
    """One field label this long names the model's type, under the review threshold,
    when the model reads that type at least this surely."""
    label_ratio: float = Field(default=90.0, ge=0, le=100)


@dataclass(frozen=True)
class Evidence:
    """Types a page (or a document) shows itself, with the strength of the proof;
    ``structural`` types are proven by structure, not only by a title."""

    strength: dict[str, float]
    structural: frozenset[str] = frozenset()
    #: field labels of each type found (counted over a whole document by
    #: :meth:`EvidenceFinder.proven`: a continuation page adds its own)
    labels: dict[str, frozenset[str]] = field(default_factory=dict)

    def merged(self, other: Evidence) -> Evidence:
        keys = self.strength.keys() | other.strength.keys()
        found = self.labels.keys() | other.labels.keys()
        return Evidence(
            {k: max(self.strength.get(k, 0.0), other.strength.get(k, 0.0)) for k in keys},
            self.structural | other.structural,
            {k: self.labels.get(k, frozenset()) | other.labels.get(k, frozenset()) for k in found},
        )


NO_EVIDENCE = Evidence({})


class EvidenceFinder:
    """Finds what a page proves by itself, for the types of one catalog."""

    def __init__(self, catalog: Catalog, *, config: EvidenceConfig | None = None) -> None:
        self.config = config or EvidenceConfig()
        self.types = tuple(dt.id for dt in catalog.document_types)
        self._labels = {
            dt.id: tuple(dict.fromkeys(f for f in (fold(x) for x in dt.labels) if f))
            for dt in catalog.document_types
            if dt.labels
        }

    def page(self, page: PageText, feats: PageFeatures) -> Evidence:
        """Titles, field labels and defining structure found on this page (the
        labels prove a type only through :meth:`proven`)."""
        cfg = self.config
        strength = {
            h.doc_type: h.score
            for h in feats.hits
            if h.score >= cfg.title_min
            and h.match >= cfg.title_match
            and h.coverage >= cfg.title_coverage
            and h.doc_type in self.types
        }
        structural = {t: s for t, s in _structure(page, feats, cfg).items() if t in self.types}
        for t, s in structural.items():
            strength[t] = max(strength.get(t, 0.0), s)
        return Evidence(strength, frozenset(structural), self._labels_found(feats.text_folded))

    def proven(self, evidence: Evidence) -> Evidence:
        """``evidence`` (of a page or a whole document) with the types its field
        labels prove: ``labels_min`` distinct labels, or one printed form code."""
        strength = dict(evidence.strength)
        for doc_type, found in evidence.labels.items():
            need = min(self.config.labels_min, len(self._labels[doc_type]))
            if len(found) >= need or any(_FORM_CODE.search(f) for f in found):
                strength[doc_type] = max(strength.get(doc_type, 0.0), self.config.labels_strength)
        return replace(evidence, strength=strength)

    def _labels_found(self, text: str) -> dict[str, frozenset[str]]:
        """Field labels of each type on the page (fuzzy, in one batch; short labels
        as whole words)."""
        if not text.strip():
            return {}
        padded = f" {text} "
        longs = [(t, lab) for t, labs in self._labels.items() for lab in labs if len(lab) > 8]
        scores: list[float] = (
            process.cdist(
                [lab for _, lab in longs],
                [text],
                scorer=fuzz.partial_ratio,
                score_cutoff=self.config.label_ratio,
                workers=1,
            )[:, 0].tolist()
            if longs
            else []
        )
        hits = [pair for pair, score in zip(longs, scores, strict=True) if score > 0]
        hits += [
            (t, lab)
            for t, labs in self._labels.items()
            for lab in labs
            if len(lab) <= 8 and f" {lab} " in padded
        ]
        found: dict[str, set[str]] = {}
        for t, lab in hits:
            found.setdefault(t, set()).add(lab)
        return {t: frozenset(labs) for t, labs in found.items()}


def _structure(page: PageText, feats: PageFeatures, cfg: EvidenceConfig) -> dict[str, float]:
    """Types proven by their defining structure (MRZ, card, drawing, coordinates)."""
    out: dict[str, float] = {}
    words = [w.text for w in page.ocr.words if w.text.strip()]
    raw = " ".join(words)
    folded = feats.text_folded
    if _PASSPORT_MRZ.search(raw):
        out["passport"] = cfg.mrz_strength
    if _ID_MRZ.search(raw.replace(" ", "")):
        out["citizen_id"] = cfg.mrz_strength
    elif (
        len(words) <= cfg.card_max_words
        and "can cuoc" in folded
        and _ID_NUMBER.search(raw.replace(".", ""))
    ):
        out["citizen_id"] = cfg.card_strength
    if "ty le" in folded:
        layout = page.layout or LayoutFeatures()
        if len(words) <= cfg.drawing_max_words and (
            layout.hlines + layout.vlines >= cfg.drawing_min_rules
        ):
            out["design_drawings"] = cfg.drawing_strength
        if _COORDINATES.search(folded):
            out["cadastral_extract"] = cfg.extract_strength
    return out


def decide(
    group: DocumentGroup,
    evidence: Evidence,
    *,
    config: EvidenceConfig | None = None,
) -> DocumentGroup:
    """The group's type and confidence after the open-set decision."""
    cfg = config or EvidenceConfig()
    if group.doc_type in evidence.strength or group.doc_type == UNKNOWN:
        return group
    if evidence.strength:
        ranked = evidence.strength
        model = {c.doc_type: c.score for c in group.candidates}
        # ties (two forms' labels on one paper) go the model's way, then by name:
        # never by the order of a set, which changes from one process to the next
        best = max(ranked, key=lambda t: (t in evidence.structural, ranked[t],
                                          model.get(t, 0.0), t))
        proven = evidence.strength[best]
        conf = proven if best in evidence.structural else min(proven, cfg.unproven_cap)
        others = [c for c in group.candidates if c.doc_type != best]
        return replace(
            group,
            doc_type=best,
            confidence=round(conf, 4),
            candidates=(Candidate(best, round(conf, 4)), *_capped(others, cfg))[:3],
        )
    capped = _capped(group.candidates, cfg)
    if group.confidence >= cfg.weak_label_model_min and any(
        len(lab.split()) >= cfg.weak_label_words for lab in evidence.labels.get(group.doc_type, ())
    ):
        conf = round(min(group.confidence, cfg.unproven_cap), 4)
        return replace(group, confidence=conf, candidates=capped)
    return replace(group, doc_type=UNKNOWN, confidence=0.0, candidates=capped)


def _capped(candidates: Sequence[Candidate], cfg: EvidenceConfig) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(c.doc_type, round(min(c.score, cfg.unproven_cap), 4)) for c in candidates
    )


def open_set(
    groups: Sequence[DocumentGroup],
    evidence: Sequence[Evidence],
    finder: EvidenceFinder,
) -> tuple[DocumentGroup, ...]:
    """Apply :func:`decide` to each document, with the evidence of all its pages
    (``evidence`` is per page, indexed like the groups' ``page_indices``)."""
    out = []
    for g in groups:
        ev = NO_EVIDENCE
        for i in g.page_indices:
            ev = ev.merged(evidence[i])
        out.append(decide(g, finder.proven(ev), config=finder.config))
    return tuple(out)
