"""Evaluation on labelled dossiers through the real page stage (``sohoa evaluate``).

A labelled dossier is a folder with page files, ``manifest.json`` and
``labels.json`` (:mod:`lab.synth.corpus`). Every page goes through the
real stages -- decode, clean, Tesseract, layout numbers (``process_page``) --
and the dossier through ``plan_dossier`` with the classifier under test.
Page readings are cached beside the pages (``.cache/``, keyed by file
content and page configuration), so evaluating another model is fast.

Figures: page accuracy (a page's type is its document's type; blank pages
must come out blank), per-class precision / recall / F1 and the confusion
matrix, separation accuracy (each page's starts/continues decision) and the
share of documents recovered exactly, document confidence against accuracy
(calibration), the share of dossiers whose ``missing``
list is exactly right (the report's list: a requirement that an unsure
document might satisfy is routed to review, not listed), how many were routed
to review, how many were wrong *without* being routed to review, and
classification time per page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.synth.corpus import LABELS_FILE
from models.schemas import BLANK, Catalog
from pipeline.assemble import plan_dossier
from pipeline.classify.interfaces import PageClassifier
from pipeline.classify.layout import LayoutFeatures
from pipeline.errors import SohoaError
from pipeline.fileio import write_atomic
from pipeline.imaging.ingest import count_pages, load_page
from pipeline.outcome import PageOutcome
from pipeline.page import PageConfig, ProcessedPage, process_page, stage_fingerprint
from pipeline.types import OcrResult, PageRef, Word

CACHE_DIR = ".cache"


def _read_one(args: tuple[str, int, PageConfig, str]) -> dict[str, Any]:
    """One page through the real page stage, as JSON-ready data (the image left out),
    cached under a key of the file, the page and what reads it (code, Tesseract, config)."""
    location, number, config, cache = args
    path = Path(location)
    data = path.read_bytes()
    key = f"{hashlib.sha256(data).hexdigest()[:20]}-{number}-{stage_fingerprint(config)}"
    cached = Path(cache) / f"{key}.json"
    if cached.is_file():
        return dict(json.loads(cached.read_text(encoding="utf-8")))
    try:
        done = process_page(load_page(PageRef(path.name, number), data), config=config)
        out: dict[str, Any] = {"page": _page_data(done), "error": None}
    except SohoaError as exc:
        out = {"page": None, "error": exc.message}
    write_atomic(cached, json.dumps(out, ensure_ascii=False).encode("utf-8"))
    return out


def _page_data(done: ProcessedPage) -> dict[str, Any]:
    fields = {f.name: getattr(done, f.name) for f in dataclasses.fields(done)
              if f.name not in ("ocr", "image", "layout")}
    fields["ocr"] = None if done.ocr is None else {
        "words": [asdict(w) for w in done.ocr.words], "width": done.ocr.width,
        "height": done.ocr.height, "dpi": done.ocr.dpi, "mean_conf": done.ocr.mean_conf}
    fields["layout"] = None if done.layout is None else asdict(done.layout)
    return fields


def _outcome(name: str, number: int, d: dict[str, Any]) -> PageOutcome:
    """The reading as the flow would hand it on (the one conversion, image left out)."""
    ref = PageRef(name, number)
    if d["page"] is None:
        return PageOutcome(ref=ref, error=d["error"])
    p = dict(d["page"])
    o = p.pop("ocr")
    ocr = None if o is None else OcrResult(
        tuple(Word(**w) for w in o["words"]), o["width"], o["height"], o["dpi"], o["mean_conf"])
    lay = p.pop("layout")
    layout = None if lay is None else LayoutFeatures(**lay)
    p["quality_flags"] = tuple(p["quality_flags"])
    return PageOutcome.of(ref, ProcessedPage(**p, ocr=ocr, image=None, layout=layout))


@dataclass(frozen=True)
class DossierResult:
    dossier_id: str
    truth_types: tuple[str, ...]  # per input page
    pred_types: tuple[str, ...]
    truth_starts: tuple[bool, ...]  # per truly non-blank page
    pred_starts: tuple[bool, ...]
    docs_total: int
    docs_exact: int
    missing_truth: tuple[str, ...]
    missing_pred: tuple[str, ...]
    status: str
    classify_ms: float
    pages_classified: int
    #: per predicted document: its confidence, and whether all its pages truly are its type
    documents: tuple[tuple[float, bool], ...] = ()


@dataclass
class Evaluation:
    dossiers: list[DossierResult] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        pages = [
            (t, p) for d in self.dossiers for t, p in zip(d.truth_types, d.pred_types, strict=True)
        ]
        seps = [
            (t, p)
            for d in self.dossiers
            for t, p in zip(d.truth_starts, d.pred_starts, strict=True)
        ]
        n_pages = sum(d.pages_classified for d in self.dossiers)
        exact = [set(d.missing_truth) == set(d.missing_pred) for d in self.dossiers]
        review = [d.status == "needs_review" for d in self.dossiers]
        return {
            "dossiers": len(self.dossiers),
            "pages": len(pages),
            "page_accuracy": _ratio(sum(t == p for t, p in pages), len(pages)),
            "separation_accuracy": _ratio(sum(t == p for t, p in seps), len(seps)),
            "documents_exact": _ratio(
                sum(d.docs_exact for d in self.dossiers), sum(d.docs_total for d in self.dossiers)
            ),
            "missing_exact": _ratio(sum(exact), len(exact)),
            "needs_review": _ratio(sum(review), len(review)),
            "wrong_not_reviewed": sum(
                1 for e, r in zip(exact, review, strict=True) if not e and not r
            ),
            "classify_ms_per_page": round(
                sum(d.classify_ms for d in self.dossiers) / max(1, n_pages), 2
            ),
            "calibration": calibration([c for d in self.dossiers for c in d.documents]),
            "per_class": per_class(pages),
        }


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def per_class(pairs: Sequence[tuple[str, str]]) -> dict[str, dict[str, float]]:
    labels = sorted({t for t, _ in pairs} | {p for _, p in pairs})
    out = {}
    for c in labels:
        tp = sum(1 for t, p in pairs if t == c and p == c)
        fp = sum(1 for t, p in pairs if t != c and p == c)
        fn = sum(1 for t, p in pairs if t == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[c] = {
            "precision": round(prec, 4),
            "recall": round(rec, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
        }
    return out


def confusion(ev: Evaluation) -> tuple[list[str], list[list[int]]]:
    pairs = [(t, p) for d in ev.dossiers for t, p in zip(d.truth_types, d.pred_types, strict=True)]
    labels = sorted({t for t, _ in pairs} | {p for _, p in pairs})
    counts = Counter(pairs)
    return labels, [[counts[(t, p)] for p in labels] for t in labels]


#: document-confidence bins of the calibration table (the first ends at the review threshold)
CALIBRATION_BINS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99, 1.0)


def calibration(docs: Sequence[tuple[float, bool]]) -> dict[str, Any]:
    """Do confidences mean what they say? Per bin: documents, accuracy, mean confidence;
    ``ece``: the document-weighted mean gap between the two (0 = perfectly calibrated)."""
    bins = []
    gap = 0.0
    edges = CALIBRATION_BINS
    for k, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False)):
        last = k == len(edges) - 2
        inside = [(c, ok) for c, ok in docs if lo <= c < hi or (last and c == hi)]
        if not inside:
            continue
        acc = sum(ok for _, ok in inside) / len(inside)
        conf = sum(c for c, _ in inside) / len(inside)
        gap += len(inside) * abs(acc - conf)
        bins.append(
            {
                "from": lo,
                "to": hi,
                "documents": len(inside),
                "accuracy": round(acc, 4),
                "mean_confidence": round(conf, 4),
            }
        )
    return {"bins": bins, "ece": round(gap / len(docs), 4) if docs else 0.0}


def labelled_dossiers(folder: Path) -> list[Path]:
    return sorted(p.parent for p in folder.glob(f"*/{LABELS_FILE}"))


def read_dossier_pages(
    folders: Sequence[Path],
    config: PageConfig,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> dict[Path, list[PageOutcome]]:
    jobs: list[tuple[Path, str, int]] = []
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        for name in manifest["pages"]:
            n = count_pages(name, (folder / name).read_bytes())
            jobs += [(folder, name, k) for k in range(1, n + 1)]
    args = [(str(f / name), k, config, str(f / CACHE_DIR)) for f, name, k in jobs]
    results: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max(1, workers)) as ex:
        for i, r in enumerate(ex.map(_read_one, args)):
            results.append(r)
            if progress:
                progress(i + 1, len(args))
    out: dict[Path, list[PageOutcome]] = {f: [] for f in folders}
    for (folder, name, k), r in zip(jobs, results, strict=True):
        out[folder].append(_outcome(name, k, r))
    return out


def evaluate_dossier(
    folder: Path,
    outcomes: Sequence[PageOutcome],
    classifier: PageClassifier,
    catalog: Catalog,
    *,
    review_threshold: float,
) -> DossierResult:
    labels = json.loads((folder / LABELS_FILE).read_text(encoding="utf-8"))
    truth = labels["pages"]
    t0 = time.perf_counter()
    plan = plan_dossier(
        outcomes,
        classifier=classifier,
        procedure=catalog.procedure(labels["procedure"]),
        facts=labels["facts"],
        review_threshold=review_threshold,
    )
    ms = (time.perf_counter() - t0) * 1000
    page_doc: dict[int, int] = {}
    for di, d in enumerate(plan.documents):
        for bi in d.page_indices:
            page_doc[bi] = di
    pred_types, pred_starts, truth_starts = [], [], []
    pred_groups: dict[int, list[int]] = {}
    for i, (o, b) in enumerate(zip(outcomes, plan.bundle_index, strict=True)):
        if o.blank:
            pred_types.append(BLANK)
        elif b is None:
            pred_types.append("unreadable")
        else:
            di = page_doc[b]
            pred_types.append(plan.documents[di].doc_type)
            pred_groups.setdefault(di, []).append(i)
        if truth[i]["doc_type"] != BLANK:
            truth_starts.append(bool(truth[i]["starts"]))
            pred_starts.append(b is not None and plan.documents[page_doc[b]].page_indices[0] == b)
    true_groups: dict[int, list[int]] = {}
    for i, t in enumerate(truth):
        if t["document"] is not None:
            true_groups.setdefault(int(t["document"]), []).append(i)
    pred_sets = {tuple(v) for v in pred_groups.values()}
    outcome_of = {b: i for i, b in enumerate(plan.bundle_index) if b is not None}
    doc_checks = tuple(
        (d.confidence, all(truth[outcome_of[b]]["doc_type"] == d.doc_type for b in d.page_indices))
        for d in plan.documents
    )
    exact = sum(1 for v in true_groups.values() if tuple(v) in pred_sets)
    return DossierResult(
        dossier_id=labels["dossier_id"],
        truth_types=tuple(t["doc_type"] for t in truth),
        pred_types=tuple(pred_types),
        truth_starts=tuple(truth_starts),
        pred_starts=tuple(pred_starts),
        docs_total=len(true_groups),
        docs_exact=exact,
        missing_truth=tuple(labels["missing"]),
        missing_pred=tuple(plan.checklist.provably_missing),  # what the report says
        status=plan.status,
        classify_ms=ms,
        pages_classified=sum(1 for b in plan.bundle_index if b is not None),
        documents=doc_checks,
    )


def evaluate(
    folder: Path,
    classifier: PageClassifier,
    catalog: Catalog,
    *,
    config: PageConfig | None = None,
    workers: int = 2,
    review_threshold: float = 0.6,
    progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    folders = labelled_dossiers(folder)
    pages = read_dossier_pages(folders, config or PageConfig(), workers, progress)
    ev = Evaluation()
    for f in folders:
        ev.dossiers.append(
            evaluate_dossier(f, pages[f], classifier, catalog, review_threshold=review_threshold)
        )
    return ev


def format_report(ev: Evaluation) -> str:
    fig = ev.figures()
    lines = [
        f"dossiers {fig['dossiers']}   pages {fig['pages']}",
        f"page accuracy          {fig['page_accuracy']:.2%}",
        f"separation accuracy    {fig['separation_accuracy']:.2%}   "
        f"(documents recovered exactly {fig['documents_exact']:.2%})",
        f"missing list exact     {fig['missing_exact']:.2%}   "
        f"(needs_review {fig['needs_review']:.2%}; wrong and not routed to review: "
        f"{fig['wrong_not_reviewed']})",
        f"classification         {fig['classify_ms_per_page']:.1f} ms per page (after OCR)",
        "",
        f"{'class':30s} {'prec':>6s} {'recall':>6s} {'f1':>6s} {'n':>5s}",
    ]
    for c, m in fig["per_class"].items():
        lines.append(
            f"{c:30s} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} "
            f"{int(m['support']):5d}"
        )
    labels, matrix = confusion(ev)
    short = [c[:6] for c in labels]
    lines += [
        "",
        "confusion (rows: truth, columns: predicted; abbreviated)",
        " " * 30 + " ".join(f"{s:>6s}" for s in short),
    ]
    for c, row in zip(labels, matrix, strict=True):
        lines.append(f"{c:30s} " + " ".join(f"{v:6d}" if v else "     ." for v in row))
    cal = fig["calibration"]
    lines += [
        "",
        f"document confidence vs accuracy (calibration error {cal['ece']:.4f})",
        f"{'confidence':>16s} {'documents':>9s} {'accuracy':>9s} {'mean conf':>9s}",
    ]
    lines += [
        f"{b['from']:7.2f} - {b['to']:4.2f}  {b['documents']:9d} {b['accuracy']:9.3f} "
        f"{b['mean_confidence']:9.3f}"
        for b in cal["bins"]
    ]
    wrong = [d for d in ev.dossiers if set(d.missing_truth) != set(d.missing_pred)]
    if wrong:
        lines += ["", "dossiers with a wrong missing list:"]
        lines += [
            f"  {d.dossier_id}: truth {list(d.missing_truth)} got {list(d.missing_pred)} "
            f"({d.status})"
            for d in wrong
        ]
    return "\n".join(lines)
