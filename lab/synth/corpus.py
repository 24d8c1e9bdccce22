"""Labelled synthetic dossiers: what to render for training and evaluation sets.

``sample_dossier`` draws a procedure, its facts, the documents a citizen brings
(usually everything required, sometimes one item left out, sometimes an ID
card or an extra document nobody asked for), every document's pages (titled
first page, continuation pages, "Trang k/n", drawing sheets, card pages, faint
titles) and a scan degradation per page. Everything is a pure function of the
seed and the :class:`CorpusConfig` (fonts, styles): the training and held-out
sets use disjoint seed ranges, fonts and styles.

``write_labelled`` writes a dossier as a folder a scanner station would send
(page files + manifest.json) plus ``labels.json`` with the truth.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from lab.synth import outside
from lab.synth.degrade import DegradeSpec, arrival, moderate
from lab.synth.doctypes import BY_TYPE, Profile
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec
from models.schemas import Catalog

LABELS_FILE = "labels.json"
#: fonts and styles of the training set; the held-out set uses the others
TRAIN_FONTS = ("DejaVu Sans", "DejaVu Serif", "Liberation Sans", "Noto Serif")
HELDOUT_FONTS = ("Noto Sans", "Liberation Serif")
TRAIN_STYLES = (0, 1, 2)
HELDOUT_STYLES = (3,)


class CorpusConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    fonts: tuple[str, ...] = TRAIN_FONTS
    styles: tuple[int, ...] = TRAIN_STYLES
    missing_rate: float = 0.2  # a required item left out
    extra_rate: float = 0.3  # a document the procedure does not ask for
    faint_rate: float = 0.12  # faint / damaged title
    blank_rate: float = 0.08  # a blank back side after a document
    dpi: int = 300
    # papers outside the catalog (decisions, letters, contracts...), as most real
    # dossiers hold: the chance that a dossier has 1-3 of them (labelled unknown)
    outside_rate: float = 0.0
    arrival: bool = False  # pages as branches receive them (degrade.arrival), not only scans


@dataclass(frozen=True)
class DocPlan:
    doc_type: str
    pages: tuple[PageSpec, ...]


@dataclass(frozen=True)
class DossierPlan:
    dossier_id: str
    procedure: str
    facts: dict[str, bool]
    documents: tuple[DocPlan, ...]
    blank_after: tuple[int, ...]  # indices of documents followed by a blank page
    missing: tuple[str, ...]  # requirement ids the checklist must report missing
    seed: int
    arrival: bool = False  # degrade pages with ``degrade.arrival`` instead of ``degradation``


def profile(doc_type: str) -> Profile:
    """The look of a catalog type or of a paper outside the catalog (``other:...``)."""
    return BY_TYPE.get(doc_type) or outside.BY_KIND[doc_type]


def _n_pages(doc_type: str, rng: random.Random) -> int:
    layout = profile(doc_type).layout
    if doc_type == "passport":
        return 1
    if layout == "card":
        return 2 if rng.random() < 0.2 else 1
    if layout == "drawing":
        return rng.choice((1, 2, 2, 3))
    return rng.choices((1, 2, 3), weights=(0.55, 0.33, 0.12))[0]


def _doc_pages(doc_type: str, rng: random.Random, cfg: CorpusConfig) -> tuple[PageSpec, ...]:
    n = _n_pages(doc_type, rng)
    numbered = n > 1 and rng.random() < 0.5
    font = rng.choice(cfg.fonts)  # one document, one font and style
    style = rng.choice(cfg.styles)
    fade = rng.uniform(0.25, 0.65) if rng.random() < cfg.faint_rate else 0.0
    card = profile(doc_type).layout == "card"
    pages = []
    for k in range(n):
        cont = k > 0
        pages.append(
            PageSpec(
                doc_type=doc_type,
                typed=True,
                seed=rng.randrange(2**31),
                dpi=cfg.dpi,
                font=font,
                style=style,
                continuation=cont,
                title_fade=0.0 if cont else fade,
                fields=rng.randint(0, 6) if cont else rng.randint(4, 12),
                body_paragraphs=rng.randint(2, 5) if cont else rng.randint(0, 3),
                page_number=(k + 1, n) if numbered else None,
                card_part=("back" if cont else "front") if card and n == 2 else "both",
            )
        )
    return tuple(pages)


def sample_dossier(catalog: Catalog, seed: int, cfg: CorpusConfig) -> DossierPlan:
    """One labelled dossier, deterministic in ``seed`` and ``cfg``."""
    rng = random.Random(f"dossier:{seed}")
    proc = rng.choice(catalog.procedures)
    facts = {r.if_fact: rng.random() < 0.4 for r in proc.requirements if r.if_fact}
    types: list[str] = []
    missing: list[str] = []
    for req in proc.requirements:
        applicable = req.if_fact is None or facts[req.if_fact]
        if req.kind == "optional":
            if rng.random() < 0.5:
                types += [rng.choice(req.any_of)] * rng.choice((1, 1, 2))
            continue
        if not applicable:
            if rng.random() < 0.1:  # brought anyway
                types.append(rng.choice(req.any_of))
            continue
        if rng.random() < cfg.missing_rate / max(1, len(proc.requirements) - 1):
            missing.append(req.id)
            continue
        types.append(rng.choice(req.any_of))
    if rng.random() < cfg.extra_rate:
        named = {t for r in proc.requirements for t in r.any_of}
        others = sorted(t for t in BY_TYPE if t not in named)
        types.append(rng.choice(others))
    if cfg.outside_rate and rng.random() < cfg.outside_rate:
        types += [rng.choice(sorted(outside.BY_KIND)) for _ in range(rng.randint(1, 3))]
    if not types:  # a dossier has at least one document
        types.append(proc.requirements[0].any_of[0])
        missing = [m for m in missing if m != proc.requirements[0].id]
    first, rest = types[:1], types[1:]
    rng.shuffle(rest)
    if rng.random() < 0.3:
        rng.shuffle(types)
    else:
        types = first + rest
    docs = tuple(DocPlan(t, _doc_pages(t, rng, cfg)) for t in types)
    blanks = tuple(i for i in range(len(docs)) if rng.random() < cfg.blank_rate)
    return DossierPlan(
        dossier_id=f"SYN-{seed:07d}",
        procedure=proc.id,
        facts=facts,
        documents=docs,
        blank_after=blanks,
        missing=tuple(missing),
        seed=seed,
        arrival=cfg.arrival,
    )


def degradation(seed: int) -> DegradeSpec:
    """Scanner degradation of one page: moderate, sometimes light (always upright or 180°)."""
    rng = random.Random(f"scan:{seed}")
    spec = moderate(seed)
    if rng.random() < 0.4:
        spec = spec.model_copy(update={"noise": spec.noise / 3, "blur": 0.5, "border_px": 20})
    return spec


def page_truth(plan: DossierPlan) -> list[dict[str, object]]:
    """Per page in order: doc_type ("blank" for blank pages) and whether it starts a document."""
    out: list[dict[str, object]] = []
    for i, doc in enumerate(plan.documents):
        for k, _ in enumerate(doc.pages):
            out.append({"doc_type": outside.truth(doc.doc_type), "starts": k == 0, "document": i})
        if i in plan.blank_after:
            out.append({"doc_type": "blank", "starts": False, "document": None})
    return out


def write_labelled(folder: Path, plan: DossierPlan) -> Path:
    """Write ``plan`` as page files + manifest.json + labels.json under ``folder/dossier_id``."""
    target = folder / plan.dossier_id
    files: list[SynthFile] = []
    n = 0
    for i, doc in enumerate(plan.documents):
        specs = list(doc.pages)
        if i in plan.blank_after:
            specs.append(PageSpec(blank=True, seed=doc.pages[0].seed + 1, dpi=doc.pages[0].dpi))
        for spec in specs:
            n += 1
            suffix = (".jpg", ".png", ".tif", ".pdf")[spec.seed % 4]
            deg = (
                arrival(spec.seed, card=profile(doc.doc_type).layout == "card")
                if plan.arrival
                else degradation(spec.seed)
            )
            dpi = round(spec.dpi * deg.scale)
            files.append(SynthFile(f"{n:03d}{suffix}", ((spec, deg),), dpi=dpi))
    write_dossier(
        target,
        files,
        manifest={
            "dossier_id": plan.dossier_id,
            "procedure": plan.procedure,
            "branch": "synthetic",
            "facts": plan.facts,
            "pages": [f.name for f in files],
        },
    )
    labels = {
        "dossier_id": plan.dossier_id,
        "procedure": plan.procedure,
        "facts": plan.facts,
        "missing": list(plan.missing),
        "pages": page_truth(plan),
    }
    (target / LABELS_FILE).write_text(
        json.dumps(labels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return target


def sample_dossiers(catalog: Catalog, seeds: Sequence[int], cfg: CorpusConfig) -> list[DossierPlan]:
    return [sample_dossier(catalog, s, cfg) for s in seeds]


#: held-out dossier seeds start here (training seeds are far below: seed * 1_000_003 + i)
HELDOUT_SEED_BASE = 900_000_000


def heldout_config(*, realistic: bool = False) -> CorpusConfig:
    """Held-out fonts and styles; ``realistic``: also papers outside the catalog in
    most dossiers and pages as they really arrive (photos, cards filling the frame,
    low resolution, bilevel, yellowed)."""
    if realistic:
        return CorpusConfig(
            fonts=HELDOUT_FONTS, styles=HELDOUT_STYLES, outside_rate=0.7, arrival=True
        )
    return CorpusConfig(fonts=HELDOUT_FONTS, styles=HELDOUT_STYLES)


def _write_one(args: tuple[Path, Catalog, int, CorpusConfig]) -> Path:
    folder, catalog, dossier_seed, cfg = args
    return write_labelled(folder, sample_dossier(catalog, dossier_seed, cfg))


def write_heldout(
    folder: Path,
    catalog: Catalog,
    n: int,
    *,
    seed: int = 0,
    cfg: CorpusConfig | None = None,
    workers: int = 1,
) -> list[Path]:
    """``n`` labelled dossiers with the held-out fonts, styles and seeds.

    Each dossier is a pure function of its seed, so ``workers`` processes write
    the same files as one.
    """
    cfg = cfg or heldout_config()
    base = HELDOUT_SEED_BASE + seed * 10_000
    jobs = [(folder, catalog, base + i, cfg) for i in range(n)]
    if workers <= 1:
        return [_write_one(j) for j in jobs]
    with ProcessPoolExecutor(workers) as ex:
        return list(ex.map(_write_one, jobs))
