"""``sohoa evaluate``: classification figures on a folder of labelled dossiers."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from models import CLASSIFIER_DIR as DEFAULT_DIR

if TYPE_CHECKING:
    from flows.settings import Settings
    from lab.realeval import FileResult
    from models.schemas import Catalog
    from pipeline.classify.interfaces import PageClassifier


def add(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="classification figures on labelled dossiers")
    e.add_argument(
        "folder",
        type=Path,
        help="folder of labelled dossiers (DOSSIER/labels.json); with --real, the data folder",
    )
    e.add_argument(
        "--real",
        type=Path,
        metavar="LABELS.tsv",
        help="evaluate on real files listed in LABELS.tsv (paths relative to FOLDER)",
    )
    e.add_argument(
        "--generate",
        type=int,
        metavar="N",
        default=0,
        help="first write N held-out synthetic dossiers into FOLDER",
    )
    e.add_argument("--seed", type=int, default=0, help="held-out set seed (with --generate)")
    e.add_argument(
        "--realistic",
        action="store_true",
        help="with --generate: papers outside the catalog in most dossiers, and pages as "
        "they really arrive (phone photos, cards filling the frame, 100-150 dpi, bilevel, "
        "yellowed)",
    )
    e.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_DIR,
        help=f"classifier artifact (default: {DEFAULT_DIR})",
    )
    e.add_argument(
        "--titles-only",
        action="store_true",
        help="evaluate the rule-based title classifier instead",
    )
    e.add_argument(
        "--workers", type=int, default=2, help="dossiers written and pages read in parallel"
    )
    e.add_argument(
        "--cache",
        type=Path,
        help="with --real: keep page readings here (keyed by file, page-stage code and config)",
    )
    e.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from lab.evaluate import evaluate, format_report, labelled_dossiers
    from lab.synth.corpus import heldout_config, write_heldout
    from models.catalog import load_catalog

    catalog = load_catalog()
    if args.real is not None:
        return _run_real(args, catalog)
    if args.generate:
        args.folder.mkdir(parents=True, exist_ok=True)
        write_heldout(
            args.folder, catalog, args.generate, seed=args.seed, workers=args.workers,
            cfg=heldout_config(realistic=args.realistic),
        )
    if not labelled_dossiers(args.folder):
        print(f"sohoa: no labelled dossiers (*/labels.json) in {args.folder}", file=sys.stderr)
        return 2

    def progress(done: int, total: int) -> None:
        if done % 25 == 0 or done == total:
            print(f"  read {done}/{total} pages", file=sys.stderr, flush=True)

    ev = evaluate(
        args.folder, _classifier(args, catalog), catalog, workers=args.workers, progress=progress
    )
    return _print(args, ev.figures(), lambda: format_report(ev))


def _run_real(args: argparse.Namespace, catalog: Catalog) -> int:
    from lab.realeval import evaluate_real, format_real, read_labels

    if not args.real.is_file() or not args.folder.is_dir():
        print(f"sohoa: {args.real} or {args.folder} does not exist", file=sys.stderr)
        return 2
    items = read_labels(args.real, args.folder)

    def progress(r: FileResult) -> None:
        print(f"  {r.status:9} {len(r.pages):3} pages  {r.path}", file=sys.stderr, flush=True)

    ev = evaluate_real(
        args.folder,
        items,
        _classifier(args, catalog),
        catalog,
        workers=args.workers,
        cache=args.cache,
        progress=progress,
    )
    return _print(args, ev.figures(), lambda: format_real(ev))


def _classifier(args: argparse.Namespace, catalog: Catalog) -> PageClassifier:
    """The model under test: the trained artifact, or the title rules alone."""
    from pipeline.classify.titles import TitleClassifier
    from pipeline.classify.trained import TrainedClassifier

    if args.titles_only:
        return TitleClassifier(catalog)
    return TrainedClassifier.load(catalog, args.model)


def _print(args: argparse.Namespace, figures: object, table: Callable[[], str]) -> int:
    if args.json:
        json.dump(figures, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(table())
    return 0
