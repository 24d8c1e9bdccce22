"""``sohoa evaluate``: classification figures on a folder of labelled dossiers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flows.cli_train import DEFAULT_DIR


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="classification figures on labelled dossiers")
    e.add_argument("folder", type=Path, help="folder of labelled dossiers (DOSSIER/labels.json)")
    e.add_argument(
        "--generate",
        type=int,
        metavar="N",
        default=0,
        help="first write N held-out synthetic dossiers into FOLDER",
    )
    e.add_argument("--seed", type=int, default=0, help="held-out set seed (with --generate)")
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
    e.add_argument("--json", action="store_true", help="print the figures as JSON")


def run_evaluate(args: argparse.Namespace) -> int:
    from models.catalog import load_catalog
    from pipeline.classify.evaluate import evaluate, format_report, labelled_dossiers
    from pipeline.classify.titles import PageClassifier, TitleClassifier
    from pipeline.classify.trained import TrainedClassifier
    from pipeline.synth.corpus import write_heldout

    catalog = load_catalog()
    if args.generate:
        args.folder.mkdir(parents=True, exist_ok=True)
        write_heldout(args.folder, catalog, args.generate, seed=args.seed, workers=args.workers)
    if not labelled_dossiers(args.folder):
        print(f"sohoa: no labelled dossiers (*/labels.json) in {args.folder}", file=sys.stderr)
        return 2
    classifier: PageClassifier = (
        TitleClassifier(catalog)
        if args.titles_only
        else TrainedClassifier.load(catalog, args.model)
    )

    def progress(done: int, total: int) -> None:
        if done % 25 == 0 or done == total:
            print(f"  read {done}/{total} pages", file=sys.stderr, flush=True)

    ev = evaluate(args.folder, classifier, catalog, workers=args.workers, progress=progress)
    if args.json:
        json.dump(ev.figures(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_report(ev))
    return 0
