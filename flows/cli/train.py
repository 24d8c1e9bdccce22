"""``sohoa train``: build the page classifier artifact (models/classifier/ by default)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from models import CLASSIFIER_DIR as DEFAULT_DIR

if TYPE_CHECKING:
    from flows.settings import Settings

DEFAULT_DOSSIERS = 600


def add(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train the page classifier on synthetic dossiers")
    t.add_argument(
        "--out", type=Path, default=DEFAULT_DIR, help=f"artifact folder (default: {DEFAULT_DIR})"
    )
    t.add_argument(
        "--dossiers",
        type=int,
        default=DEFAULT_DOSSIERS,
        help="synthetic training dossiers (default: %(default)s)",
    )
    t.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    t.add_argument("--workers", type=int, default=2, help="rendering processes (default: 2)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from lab.training import TrainConfig, train
    from models.catalog import load_catalog
    from pipeline.classify.trained import save_model

    cfg = TrainConfig(dossiers=args.dossiers, seed=args.seed, workers=args.workers)
    start = time.monotonic()

    def progress(done: int) -> None:
        if done % 50 == 0 or done == cfg.dossiers:
            print(f"  rendered {done}/{cfg.dossiers} dossiers", file=sys.stderr, flush=True)

    weights = train(load_catalog(), cfg, progress=progress)
    path = save_model(weights, args.out)
    oof = weights.info["out_of_fold"]
    print(
        f"model     {path.parent}  ({weights.info['trained_on']['pages']} pages, "
        f"{time.monotonic() - start:.0f} s)"
    )
    print(f"out-of-fold page accuracy {oof['page_accuracy']:.2%}, temperature {oof['temperature']}")
    return 0
