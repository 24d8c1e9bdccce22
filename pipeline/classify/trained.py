"""The trained page classifier and its versioned artifact.

Runtime: ``TrainedClassifier`` implements the ``PageClassifier`` seam
(``classify(page) -> PageLabel``) and also separates a whole page sequence
into documents (``segment(pages)``), which ``pipeline.assemble`` prefers.
Page-type probabilities are a linear model over the features of
:mod:`pipeline.classify.features`, calibrated by a temperature fitted on
held-back training dossiers.

Artifact (a folder, default ``models/classifier/``):

* ``weights-<sha12>.npz`` -- plain arrays only (loaded with
  ``allow_pickle=False``: no code runs when a model is loaded);
* ``manifest.json`` -- format version, catalog version, classes, feature
  parameters, temperature, training parameters and figures, and the sha256
  of the weights file.

Saving writes the weights under a content-addressed name, then the manifest
(each via a temporary file, fsync and rename), then removes stale weights:
a reader sees the old model or the new one, never a mix. Loading checks the
format version, the catalog's types and the sha256 and raises
``ModelArtifactError`` with the reason otherwise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from models import CLASSIFIER_DIR
from models.schemas import Catalog
from pipeline.classify.evidence import EvidenceConfig, EvidenceFinder, decide, open_set
from pipeline.classify.features import FeatureExtractor, FeatureSpace, PageFeatures
from pipeline.classify.group import DocumentGroup
from pipeline.classify.interfaces import PageClassifier, PageText
from pipeline.classify.layout import LayoutFeatures
from pipeline.classify.separation import (
    N_SEP,
    TITLE_START,
    Segment,
    Separator,
    files_are_documents,
    segment,
)
from pipeline.classify.titles import TitleClassifier
from pipeline.errors import ModelArtifactError
from pipeline.fileio import file_sha256, write_atomic
from pipeline.types import Candidate, PageLabel

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DEFAULT_DIR = CLASSIFIER_DIR
MAX_CANDIDATES = 3
N_SEP_V1 = 16  # separator features of the first format-1 models
PAGE_GUESS = 0.5  # a continuation page this sure of another type puts its document in doubt


@dataclass(frozen=True)
class ModelWeights:
    """Everything a trained model is (arrays + parameters); see the module docstring."""

    types: tuple[str, ...]
    coef: np.ndarray  # (n_types, n_features) float32
    intercept: np.ndarray  # (n_types,)
    temperature: float
    sep_weights: np.ndarray  # (N_SEP,)
    space: FeatureSpace
    catalog_version: str
    info: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""  # of the weights file, when loaded from an artifact


def save_model(weights: ModelWeights, folder: Path) -> Path:
    """Write the artifact atomically into ``folder``; returns the manifest path."""
    import io

    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        coef=weights.coef.astype(np.float32),
        intercept=weights.intercept.astype(np.float64),
        sep_weights=weights.sep_weights.astype(np.float64),
    )
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    name = f"weights-{sha[:12]}.npz"
    write_atomic(folder / name, data)
    manifest = {
        "format": FORMAT_VERSION,
        "catalog_version": weights.catalog_version,
        "types": list(weights.types),
        "temperature": weights.temperature,
        "space": {
            "n_types": weights.space.n_types,
            "text_bits": weights.space.text_bits,
            "title_bits": weights.space.title_bits,
            "word_bits": weights.space.word_bits,
        },
        "weights": {"file": name, "sha256": sha, "bytes": len(data)},
        "info": weights.info,
    }
    path = folder / MANIFEST
    write_atomic(path, (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode())
    for old in folder.glob("weights-*.npz"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return path


def load_model(folder: Path, catalog: Catalog) -> ModelWeights:
    """Read and check an artifact; ``ModelArtifactError`` says what is wrong."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        fmt = manifest["format"]
        wfile = folder / manifest["weights"]["file"]
        expected = manifest["weights"]["sha256"]
        types = tuple(manifest["types"])
        space = FeatureSpace(**manifest["space"])
        temperature = float(manifest["temperature"])
    except FileNotFoundError:
        raise ModelArtifactError(f"no classifier model at {folder} ({MANIFEST} missing)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelArtifactError(f"classifier manifest {path} is unreadable: {exc}") from None
    if fmt != FORMAT_VERSION:
        raise ModelArtifactError(
            f"classifier model format {fmt} is not supported (this version reads "
            f"{FORMAT_VERSION}); run `sohoa train`"
        )
    known = tuple(dt.id for dt in catalog.document_types)
    if types != known:
        raise ModelArtifactError(
            "classifier model was trained for other document types than the catalog "
            f"(catalog {catalog.version}, model {manifest.get('catalog_version')}); "
            "run `sohoa train`"
        )
    if not wfile.is_file() or file_sha256(wfile) != expected:
        raise ModelArtifactError(
            f"classifier weights {wfile.name} are missing or corrupt (sha256 mismatch)"
        )
    try:
        with np.load(wfile, allow_pickle=False) as z:
            coef, intercept, sep = z["coef"], z["intercept"], z["sep_weights"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelArtifactError(f"classifier weights {wfile.name} are unreadable: {exc}") from None
    if coef.shape != (len(types), space.n_features()) or intercept.shape != (len(types),):
        raise ModelArtifactError("classifier weights do not match its manifest (shapes)")
    if sep.ndim != 1 or not N_SEP_V1 <= len(sep) <= N_SEP:
        raise ModelArtifactError("classifier separator weights have the wrong shape")
    # Models written before the bare-page feature: weight 0 for it, decisions unchanged.
    sep = np.pad(sep, (0, N_SEP - len(sep)))
    return ModelWeights(
        types,
        coef,
        intercept,
        temperature,
        sep,
        space,
        str(manifest.get("catalog_version")),
        dict(manifest.get("info") or {}),
        expected,
    )


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class TrainedClassifier:
    """Trained page classifier + document separation (implements ``PageClassifier``)."""

    def __init__(
        self, weights: ModelWeights, catalog: Catalog, *, evidence: EvidenceConfig | None = None
    ) -> None:
        self.weights = weights
        self.evidence = evidence or EvidenceConfig()
        self.finder = EvidenceFinder(catalog, config=self.evidence)
        self.extractor = FeatureExtractor(catalog)
        self.separator = Separator(weights.sep_weights, weights.types)
        self._coef_t = np.ascontiguousarray(weights.coef.T, dtype=np.float64)

    @classmethod
    def load(cls, catalog: Catalog, folder: Path | None = None) -> TrainedClassifier:
        return cls(load_model(folder or DEFAULT_DIR, catalog), catalog)

    # --- probabilities ---------------------------------------------------------
    def features(self, page: PageText, layout: LayoutFeatures | None = None) -> PageFeatures:
        return self.extractor.extract(page.ocr, layout or page.layout)

    def probabilities(self, feats: Sequence[PageFeatures]) -> np.ndarray:
        """Calibrated type probabilities, one row per page (columns: ``weights.types``)."""
        if not feats:
            return np.zeros((0, len(self.weights.types)))
        x = self.weights.space.matrix(feats)
        z = np.asarray(x @ self._coef_t) + self.weights.intercept
        return softmax(z / self.weights.temperature)

    def _label(self, p: np.ndarray, start: bool) -> PageLabel:
        order = np.argsort(-p)[:MAX_CANDIDATES]
        cands = tuple(Candidate(self.weights.types[int(i)], round(float(p[i]), 4)) for i in order)
        return PageLabel(cands[0].doc_type, cands[0].score, start, cands)

    # --- PageClassifier --------------------------------------------------------
    def classify(self, page: PageText) -> PageLabel:
        f = self.features(page)
        p = self.probabilities([f])[0]
        start = max(f.titles, default=0.0) >= TITLE_START or (f.page_number or (1, 0))[0] == 1
        label = self._label(p, start)
        doc = DocumentGroup(label.doc_type, (0,), label.confidence, label.candidates)
        doc = decide(doc, self.finder.proven(self.finder.page(page, f)), config=self.evidence)
        return PageLabel(doc.doc_type, doc.confidence, start, doc.candidates)

    # --- sequences -------------------------------------------------------------
    def segment(self, pages: Sequence[PageText]) -> tuple[tuple[PageLabel, ...], Segment]:
        """Labels per page and the documents of a page sequence (bundle order):
        the model's split and types, then the open-set decision on each document."""
        feats = [self.features(p) for p in pages]
        probs = self.probabilities(feats)
        seg = segment(
            self.separator, feats, probs,
            file_starts=files_are_documents([p.source for p in pages]),
        )
        evidence = [self.finder.page(p, f) for p, f in zip(pages, feats, strict=True)]
        groups = self._page_guesses(open_set(seg.groups, evidence, self.finder), probs)
        labels = [self._label(p, s) for p, s in zip(probs, seg.starts, strict=True)]
        for old, new in zip(seg.groups, groups, strict=True):
            if new.doc_type != old.doc_type:  # the decision overrode the model: say so
                for i in new.page_indices:
                    labels[i] = PageLabel(
                        new.doc_type, new.confidence, labels[i].starts_document, new.candidates
                    )
        return tuple(labels), replace(seg, groups=groups)

    def _page_guesses(
        self, groups: Sequence[DocumentGroup], probs: np.ndarray
    ) -> tuple[DocumentGroup, ...]:
        """A continuation page that reads as another type on its own (``PAGE_GUESS``
        or more) puts its document in doubt: the document goes under the review
        threshold with that type among its candidates, so that a torn title page
        taken for the previous document's continuation makes a missing requirement
        of its type doubtful, not missing."""
        cap = self.evidence.unproven_cap
        out = []
        for g in groups:
            scores = {c.doc_type: c.score for c in g.candidates}
            doubt = False
            for i in g.page_indices[1:]:
                t = self.weights.types[int(np.argmax(probs[i]))]
                p = float(np.max(probs[i]))
                if t != g.doc_type and p >= PAGE_GUESS:
                    doubt = True
                    scores[t] = max(scores.get(t, 0.0), round(min(p, cap), 4))
            if doubt:
                ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
                g = replace(
                    g,
                    confidence=min(g.confidence, cap),
                    candidates=tuple(Candidate(t, sc) for t, sc in ranked[:MAX_CANDIDATES]),
                )
            out.append(g)
        return tuple(out)

    def separate(
        self, pages: Sequence[PageText]
    ) -> tuple[tuple[PageLabel, ...], tuple[DocumentGroup, ...]]:
        """``DocumentSeparator``: page labels and documents of a page sequence."""
        labels, seg = self.segment(pages)
        return labels, seg.groups


def classifier_version(classifier: PageClassifier) -> str:
    """What classified a dossier, for its report: ``trained:<weights sha256, 12>``
    (the artifact's content name) or ``title-rules``."""
    if isinstance(classifier, TrainedClassifier):
        return f"trained:{classifier.weights.sha256[:12]}"
    return "title-rules"


def default_classifier(catalog: Catalog, folder: Path | None = None) -> PageClassifier:
    """The shipped trained classifier; the title rules only when no artifact exists at all.

    A present but corrupt or incompatible artifact is an error, never a silent fallback.
    """
    folder = folder or DEFAULT_DIR
    if not (folder / MANIFEST).exists():
        return TitleClassifier(catalog)
    return TrainedClassifier.load(catalog, folder)
