"""Training the page classifier and the separator (``sohoa train``).

Data: synthetic labelled dossiers (:mod:`lab.synth.corpus`, training
fonts and styles only), every page rendered at low resolution, lightly
degraded for the layout numbers, and "read" through the OCR noise model
(:mod:`lab.ocrsim`). Fitting (all seeded, so a given
:class:`TrainConfig` gives the same weights):

1. a one-vs-rest linear SVM on the hashed features, evaluated out of fold
   (folds = whole dossiers);
2. a temperature on the out-of-fold logits (minimum negative log-likelihood):
   the calibration of every confidence the classifier reports;
3. the separator's logistic weights on out-of-fold probabilities in page order;
4. the final page model on all pages.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import sklearn
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from lab.ocrsim import simulate_ocr
from lab.synth.corpus import TRAIN_FONTS, TRAIN_STYLES, CorpusConfig, sample_dossier
from lab.synth.degrade import DegradeSpec, degrade
from lab.synth.render import render_page
from models.catalog import load_catalog
from models.schemas import Catalog
from pipeline.classify.features import FeatureExtractor, FeatureSpace, PageFeatures
from pipeline.classify.layout import layout_features
from pipeline.classify.separation import Separator
from pipeline.classify.trained import ModelWeights, softmax


class TrainConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    dossiers: int = Field(default=600, ge=4)
    seed: int = 0
    dpi: int = Field(default=100, ge=50, le=300)
    folds: int = Field(default=3, ge=2)
    c: float = Field(default=0.5, gt=0)
    sep_c: float = Field(default=1.0, gt=0)
    word_bits: int = Field(default=14, ge=0, le=20)  # 0: no word n-gram block
    #: share of documents whose title is faint or damaged; higher than in scans and the
    #: held-out sets (CorpusConfig's default) so that every type is also learnt from its body
    faint_rate: float = Field(default=0.3, ge=0.0, le=1.0)
    #: the share the separator assumes; faded first pages are down-weighted to it, so a
    #: page without a title is not taken for a new document more readily than scans warrant
    separator_faint_rate: float = Field(default=CorpusConfig().faint_rate, gt=0.0, lt=1.0)
    workers: int = Field(default=2, ge=1)
    fonts: tuple[str, ...] = TRAIN_FONTS
    styles: tuple[int, ...] = TRAIN_STYLES


@dataclass(frozen=True)
class TrainingPage:
    feats: PageFeatures
    doc_type: str
    starts: bool
    dossier: int
    faded: bool = False  # first page with a faint or damaged title


def _render_dossier(args: tuple[int, TrainConfig]) -> list[TrainingPage]:
    seed, cfg = args
    catalog = load_catalog()
    extractor = FeatureExtractor(catalog)
    corpus = CorpusConfig(fonts=cfg.fonts, styles=cfg.styles, faint_rate=cfg.faint_rate)
    plan = sample_dossier(catalog, seed, corpus)
    rng = random.Random(f"ocr:{seed}")
    out: list[TrainingPage] = []
    for doc in plan.documents:
        for k, spec in enumerate(doc.pages):
            page = render_page(spec.model_copy(update={"dpi": cfg.dpi}))
            img = degrade(
                page.image, DegradeSpec(noise=0.15, blur=0.4, jpeg_quality=75, seed=spec.seed)
            )
            lines = page.all_text.split("\n") if page.all_text else []
            title = (page.title or "").upper()
            ocr = simulate_ocr(
                lines,
                page.line_boxes,
                size=(img.shape[1], img.shape[0]),
                dpi=cfg.dpi,
                rng=rng,
                title_lines=[ln for ln in lines if title and ln in title],
                title_fade=spec.title_fade,
            )
            feats = extractor.extract(ocr, layout_features(img, cfg.dpi))
            faded = k == 0 and spec.title_fade > 0
            out.append(TrainingPage(feats, doc.doc_type, k == 0, seed, faded))
    return out


def training_set(
    cfg: TrainConfig, *, progress: Callable[[int], None] | None = None
) -> list[TrainingPage]:
    seeds = [cfg.seed * 1_000_003 + i for i in range(cfg.dossiers)]
    jobs = [(s, cfg) for s in seeds]
    pages: list[TrainingPage] = []
    if cfg.workers <= 1:
        results = map(_render_dossier, jobs)
        for i, r in enumerate(results):
            pages += r
            if progress:
                progress(i + 1)
        return pages
    with ProcessPoolExecutor(cfg.workers) as ex:
        for i, r in enumerate(ex.map(_render_dossier, jobs, chunksize=4)):
            pages += r
            if progress:
                progress(i + 1)
    return pages


def _fit_page_model(x, y: np.ndarray, c: float, n_types: int) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest linear SVM (liblinear: seconds, deterministic); scores become
    probabilities through the fitted temperature."""
    lr = LinearSVC(C=c, max_iter=3000, random_state=0)
    lr.fit(x, y)
    coef = np.zeros((n_types, x.shape[1]))
    intercept = np.full(n_types, -30.0)  # a class never seen in training is never predicted
    coef[lr.classes_] = lr.coef_
    intercept[lr.classes_] = lr.intercept_
    return coef, intercept


def _temperature(logits: np.ndarray, y: np.ndarray) -> float:
    def nll(log_t: float) -> float:
        p = softmax(logits / np.exp(log_t))
        return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0))))

    res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(res.x))


def fit(catalog: Catalog, pages: Sequence[TrainingPage], cfg: TrainConfig) -> ModelWeights:
    types = tuple(dt.id for dt in catalog.document_types)
    index = {t: i for i, t in enumerate(types)}
    space = FeatureSpace(n_types=len(types), word_bits=cfg.word_bits)
    x = space.matrix([p.feats for p in pages])
    y = np.array([index[p.doc_type] for p in pages])
    dossiers = np.array([p.dossier for p in pages])
    uniq = np.unique(dossiers)
    fold_of = {
        d: i % cfg.folds for i, d in enumerate(np.random.default_rng(cfg.seed).permutation(uniq))
    }
    folds = np.array([fold_of[d] for d in dossiers])
    oof = np.zeros((len(pages), len(types)))
    for k in range(cfg.folds):
        tr, te = folds != k, folds == k
        coef, intercept = _fit_page_model(x[tr], y[tr], cfg.c, len(types))
        oof[te] = np.asarray(x[te] @ coef.T) + intercept
    temperature = _temperature(oof, y)
    probs = softmax(oof / temperature)
    sep = _fit_separator(pages, probs, types, cfg)
    coef, intercept = _fit_page_model(x, y, cfg.c, len(types))
    acc = float(np.mean(np.argmax(oof, axis=1) == y))
    info = {
        "trained_on": {
            "dossiers": cfg.dossiers,
            "pages": len(pages),
            "seed": cfg.seed,
            "dpi": cfg.dpi,
            "fonts": list(cfg.fonts),
            "styles": list(cfg.styles),
            "faint_rate": cfg.faint_rate,
            "separator_faint_rate": cfg.separator_faint_rate,
            "word_bits": cfg.word_bits,
        },
        "out_of_fold": {"page_accuracy": round(acc, 4), "temperature": round(temperature, 4)},
        "sklearn": sklearn.__version__,
        "command": f"sohoa train --dossiers {cfg.dossiers} --seed {cfg.seed}",
    }
    return ModelWeights(
        types, coef.astype(np.float32), intercept, temperature, sep, space, catalog.version, info
    )


def _fit_separator(
    pages: Sequence[TrainingPage], probs: np.ndarray, types: tuple[str, ...], cfg: TrainConfig
) -> np.ndarray:
    from pipeline.classify.separation import N_SEP

    proto = Separator(np.zeros(N_SEP), types)
    rows, labels, weights = [], [], []
    faded_weight = _odds(cfg.separator_faint_rate) / _odds(cfg.faint_rate) if cfg.faint_rate else 1
    start = 0
    while start < len(pages):
        end = start
        while end < len(pages) and pages[end].dossier == pages[start].dossier:
            end += 1
        chunk = pages[start:end]
        starts = [p.starts for p in chunk]
        rows.append(proto.rows([p.feats for p in chunk], probs[start:end], starts))
        labels += starts[1:]
        weights += [faded_weight if p.faded else 1.0 for p in chunk[1:]]
        start = end
    xs, ys = np.vstack(rows), np.array(labels, dtype=int)
    lr = LogisticRegression(C=cfg.sep_c, fit_intercept=False, max_iter=1000)
    lr.fit(xs, ys, sample_weight=np.array(weights))
    return lr.coef_[0].astype(np.float64)


def _odds(rate: float) -> float:
    rate = min(max(rate, 1e-6), 1 - 1e-6)
    return rate / (1 - rate)


def train(
    catalog: Catalog, cfg: TrainConfig, *, progress: Callable[[int], None] | None = None
) -> ModelWeights:
    return fit(catalog, training_set(cfg, progress=progress), cfg)
