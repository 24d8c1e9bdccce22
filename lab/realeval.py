"""Evaluation on real files (``sohoa evaluate --real DIR LABELS.tsv``).

``LABELS.tsv`` has the columns of ``realdata-dev/labels.tsv``: ``path`` (a file,
or a folder holding one whole dossier: its files in name order, each file one
handed-in document), ``doc_type`` (a catalog id or ``unknown``) and optionally
``ground_truth`` (a text file: the exact text of the file's pages, compared
whitespace-normalised). Other columns are ignored.

Every file goes through the real stages: decode, clean, OCR, layout numbers
(``process_page``), ``plan_dossier`` with the classifier under test and, where
ground truth exists, the PDF/A bundle, whose text layer is extracted with
``pdftotext`` and compared with the ground truth, side by side with raw
Tesseract (``-l vie``, no cleaning) on the same decoded page images.

A page's type and confidence are its document's, as in the report. Nothing of
what the pages say is printed: only names, types, confidences and rates.
"""

from __future__ import annotations

import csv
import hashlib
import pickle
import subprocess
import tempfile
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from lab.metrics import cer
from models.schemas import UNKNOWN, Catalog
from pipeline.assemble import plan_dossier
from pipeline.classify.interfaces import PageClassifier
from pipeline.errors import SohoaError
from pipeline.fileio import write_atomic
from pipeline.imaging.ingest import count_pages, load_page, sniff_format
from pipeline.ocr.tesseract import OcrConfig, ocr_image
from pipeline.outcome import PageOutcome
from pipeline.page import PageConfig, process_page, stage_fingerprint
from pipeline.pdf.bundle import ArchiveMetadata, BundlePage, build_bundle
from pipeline.types import PageRef

RAW_BASELINE = OcrConfig(engine="program", langs="vie", variables=())  # `tesseract -l vie`
SUPPORTED = (".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class RealItem:
    path: str  # relative to the data folder
    doc_type: str
    ground_truth: str = ""
    #: for a dossier folder: the type of each of its files that has a row of its own
    file_types: tuple[tuple[str, str], ...] = ()

    def truth_of(self, source: str) -> str:
        return dict(self.file_types).get(source, self.doc_type)


@dataclass(frozen=True)
class PageResult:
    file: str
    page: int
    truth: str  # catalog id or unknown
    predicted: str  # unknown, blank, error or a catalog id
    confidence: float
    truth_start: bool  # the page opens a handed-in document
    pred_start: bool


@dataclass(frozen=True)
class FileResult:
    path: str
    status: str  # processed | refused | crashed
    pages: tuple[PageResult, ...] = ()
    error: str = ""
    cer_bundle: float | None = None
    cer_raw: float | None = None


@dataclass
class RealEvaluation:
    files: list[FileResult] = field(default_factory=list)
    threshold: float = 0.6

    def pages(self) -> list[PageResult]:
        return [p for f in self.files for p in f.pages]

    def figures(self) -> dict[str, object]:
        pages = self.pages()
        unknown = [p for p in pages if p.truth == UNKNOWN]
        typed = [p for p in unknown if _is_catalog(p.predicted) and p.confidence >= self.threshold]
        catalog = [p for p in pages if p.truth != UNKNOWN]
        right = [p for p in catalog if p.predicted == p.truth]
        wrong_sure = [
            p
            for p in catalog
            if p.predicted != p.truth
            and _is_catalog(p.predicted)
            and p.confidence >= self.threshold
        ]
        multi = [p for p in pages if p.predicted != "error"]
        bounds = [p for p in multi if p.truth_start == p.pred_start]
        return {
            "files": len(self.files),
            "processed": sum(f.status == "processed" for f in self.files),
            "refused": sum(f.status == "refused" for f in self.files),
            "crashed": sum(f.status == "crashed" for f in self.files),
            "pages": len(pages),
            "unknown_pages": len(unknown),
            "unknown_given_catalog_type": len(typed),
            "unknown_given_catalog_type_rate": _rate(len(typed), len(unknown)),
            "catalog_pages": len(catalog),
            "catalog_page_accuracy": _rate(len(right), len(catalog)),
            "catalog_wrong_at_or_above_threshold": len(wrong_sure),
            "boundary_agreement": _rate(len(bounds), len(multi)),
            "cer": {
                f.path: {"bundle": f.cer_bundle, "raw_tesseract": f.cer_raw}
                for f in self.files
                if f.cer_bundle is not None
            },
        }


def _is_catalog(doc_type: str) -> bool:
    return doc_type not in (UNKNOWN, "blank", "error")


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def read_labels(tsv: Path, root: Path) -> list[RealItem]:
    """Items of ``LABELS.tsv``; rows naming files inside a dossier folder that has a
    row of its own give those files' types and are evaluated within the dossier."""
    with tsv.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r.get("path")]

    folders = {r["path"].rstrip("/") for r in rows if (root / r["path"]).is_dir()}
    inside: dict[str, list[tuple[str, str]]] = {f: [] for f in folders}
    items: list[RealItem] = []
    for r in rows:
        path, kind = r["path"].rstrip("/"), (r.get("doc_type") or UNKNOWN).strip()
        parent = str(Path(path).parent)
        if parent in folders:
            inside[parent].append((Path(path).name, kind))
            continue
        items.append(RealItem(path, kind, (r.get("ground_truth") or "").strip()))
    return [
        replace(item, file_types=tuple(inside[item.path])) if item.path in folders else item
        for item in items
    ]


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED)
    return [path]


def _page_refs(files: Sequence[Path]) -> list[tuple[Path, int, str]]:
    """(file, page, "") for every page of the files in order; (file, 0, reason) for a
    file that cannot be read."""
    out: list[tuple[Path, int, str]] = []
    for path in files:
        data = path.read_bytes()
        try:
            sniff_format(path.name, data)
            n = count_pages(path.name, data)
        except SohoaError as exc:
            out.append((path, 0, exc.message))
            continue
        out += [(path, k, "") for k in range(1, n + 1)]
    return out


@dataclass(frozen=True)
class _Read:
    """One page read by the page stage (and by raw Tesseract when asked)."""

    outcome: PageOutcome
    raw_text: str | None = None


def _read_page(args: tuple[Path, int, PageConfig, bool]) -> _Read:
    path, number, config, raw_too = args
    ref = PageRef(path.name, number)
    try:
        raw = load_page(ref, path.read_bytes())
        done = process_page(raw, config=config)
    except SohoaError as exc:
        return _Read(PageOutcome(ref=ref, error=exc.message))
    outcome = PageOutcome.of(ref, done)  # the image stays in memory (bundle text layer)
    raw_text = ocr_image(raw.image, dpi=raw.dpi, config=RAW_BASELINE).text if raw_too else None
    return _Read(outcome, raw_text)


def _text_layer(outcomes: Sequence[PageOutcome]) -> str:
    """pdftotext of the bundle the pages make (the searchable layer a user gets)."""
    pages = [
        BundlePage(image=o.image, words=o.ocr.words, ocr_width=o.ocr.width, ocr_height=o.ocr.height)
        for o in outcomes
        if o.image is not None and o.ocr is not None
    ]
    if not pages:
        return ""
    meta = ArchiveMetadata(
        dossier_code="EVAL",
        title="evaluation",
        retention_period="-",
        access_level="-",
        document_count=1,
        sheet_count=len(pages),
        page_count=len(pages),
    )
    pdf = build_bundle(pages, outline=(), meta=meta, created=datetime(2026, 1, 1, tzinfo=UTC))
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        run = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", fh.name, "-"],
            capture_output=True,
            timeout=120,
            check=True,
        )
    return run.stdout.decode("utf-8", "replace")


def _read_cached(args: tuple[Path, int, PageConfig, bool, str]) -> _Read:
    path, number, config, raw_too, cache = args
    if not cache:
        return _read_page((path, number, config, raw_too))
    key = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    file = Path(cache) / f"{key}-{number}-{int(raw_too)}-{stage_fingerprint(config)}.pickle"
    if file.is_file():  # written by this function only, in the user's own cache folder
        return pickle.loads(file.read_bytes())  # type: ignore[no-any-return]  # noqa: S301
    read = _read_page((path, number, config, raw_too))
    file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(file, pickle.dumps(read))
    return read


def evaluate_real(
    root: Path,
    items: Sequence[RealItem],
    classifier: PageClassifier,
    catalog: Catalog,
    *,
    config: PageConfig | None = None,
    threshold: float = 0.6,
    workers: int = 2,
    cache: Path | None = None,
    progress: Callable[[FileResult], None] | None = None,
) -> RealEvaluation:
    """Read every page (in ``workers`` processes), then judge each item in turn."""
    config = config or PageConfig()
    refs = {item.path: _page_refs(_files_of(root / item.path)) for item in items}
    jobs = [
        (path, k, config, bool(item.ground_truth), str(cache or ""))
        for item in items
        for path, k, _ in refs[item.path]
        if k
    ]
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        reads = dict(zip(((j[0], j[1]) for j in jobs), pool.map(_read_cached, jobs), strict=True))
    ev = RealEvaluation(threshold=threshold)
    for item in items:
        try:
            result = _judge(root, item, refs[item.path], reads, classifier, catalog, threshold)
        except Exception as exc:  # noqa: BLE001 - a crash is a figure here, not a stop
            last = traceback.format_exception_only(exc)[-1].strip()
            result = FileResult(item.path, "crashed", error=last[:300])
        ev.files.append(result)
        if progress:
            progress(result)
    return ev


def _judge(
    root: Path,
    item: RealItem,
    refs: Sequence[tuple[Path, int, str]],
    reads: dict[tuple[Path, int], _Read],
    classifier: PageClassifier,
    catalog: Catalog,
    threshold: float,
) -> FileResult:
    outcomes = [
        reads[(p, k)].outcome if k else PageOutcome(ref=PageRef(p.name, 1), error=why)
        for p, k, why in refs
    ]
    if not any(o.usable for o in outcomes):
        errors = "; ".join(o.error for o in outcomes if o.error)
        return FileResult(item.path, "refused", error=(errors or "every page blank")[:300])
    plan = plan_dossier(
        outcomes,
        classifier=classifier,
        procedure=catalog.procedures[0],
        facts={},
        review_threshold=threshold,
    )
    starts = {d.page_indices[0] for d in plan.documents}
    results: list[PageResult] = []
    previous = ""
    for o, b in zip(outcomes, plan.bundle_index, strict=True):
        doc = next((d for d in plan.documents if b is not None and b in d.page_indices), None)
        predicted = (
            "error" if o.error else "blank" if o.blank else (doc.doc_type if doc else UNKNOWN)
        )
        results.append(
            PageResult(
                file=o.ref.source,
                page=o.ref.source_page,
                truth=item.truth_of(o.ref.source),
                predicted=predicted,
                confidence=doc.confidence if doc else 0.0,
                truth_start=o.ref.source != previous,
                pred_start=b is not None and b in starts,
            )
        )
        previous = o.ref.source
    cer_bundle = cer_raw = None
    if item.ground_truth:
        truth = (root / item.ground_truth).read_text(encoding="utf-8")
        cer_bundle = round(cer(truth, _text_layer(plan.bundle_outcomes)), 4)
        raw = "\n".join(reads[(p, k)].raw_text or "" for p, k, _ in refs if k)
        cer_raw = round(cer(truth, raw), 4)
    return FileResult(
        item.path, "processed", tuple(results), cer_bundle=cer_bundle, cer_raw=cer_raw
    )


def format_real(ev: RealEvaluation) -> str:
    f = ev.figures()
    lines = [
        f"files {f['files']}: processed {f['processed']}, refused {f['refused']}, "
        f"crashed {f['crashed']}; pages {f['pages']}",
        f"unknown pages given a catalog type at >= {ev.threshold}: "
        f"{f['unknown_given_catalog_type']} of {f['unknown_pages']} "
        f"({_pct(f['unknown_given_catalog_type_rate'])})",
        f"catalog pages right: {_pct(f['catalog_page_accuracy'])} of {f['catalog_pages']}; "
        f"wrong at >= threshold: {f['catalog_wrong_at_or_above_threshold']}",
        f"document boundaries agreeing with the handed-in files: {_pct(f['boundary_agreement'])}",
        "",
        f"{'file':60} {'pages':>5}  {'types (confidence)':40}",
    ]
    for r in ev.files:
        kinds = ", ".join(
            f"{p.predicted}({p.confidence:.2f})" if _is_catalog(p.predicted) else p.predicted
            for p in r.pages
        )
        lines.append(
            f"{r.path[:60]:60} {len(r.pages):>5}  {r.status if r.status != 'processed' else kinds}"
        )
    cers = [r for r in ev.files if r.cer_bundle is not None]
    if cers:
        lines += ["", f"{'CER (ground truth)':60} {'bundle':>8} {'raw tess':>8}"]
        for r in cers:
            lines.append(f"{r.path[:60]:60} {_pct(r.cer_bundle):>8} {_pct(r.cer_raw):>8}")
    return "\n".join(lines)


def _pct(v: object) -> str:
    return "-" if v is None else f"{100 * float(v):.2f} %"  # type: ignore[arg-type]
