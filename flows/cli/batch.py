"""``sohoa batch ROOT [--out DIR]``: every dossier folder under ROOT (docs/contracts.md §1b).

Each folder holding a ``manifest.json`` is one dossier, written to
``DIR/{dossier_id}/`` exactly as ``sohoa process`` writes it. A progress bar on
a terminal; at the end one line per dossier (id, status, missing) and totals.
Exit 0 when every dossier has a report (rejected ones included); otherwise the
exit code of the first dossier that could not be given one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ExitCode, InputError

if TYPE_CHECKING:
    from flows.batch import Done
    from flows.settings import Settings


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="process every dossier folder (with manifest.json) "
                                     "under ROOT")
    p.add_argument("root", type=Path, help="a folder of dossier folders")
    p.add_argument("--out", type=Path, default=Path("out"),
                   help="output folder: one DIR/DOSSIER_ID per dossier (default: out)")
    p.add_argument("-v", "--verbose", action="store_true", help="show Prefect's run log")


def run(args: argparse.Namespace, settings: Settings) -> int:
    root: Path = args.root
    if not root.is_dir():
        raise InputError(f"not a folder: {root}")
    from flows import embedded_api

    # the server main() started first (started here when run() is called on its own)
    api = embedded_api.start_if_needed(verbose=args.verbose)
    from flows.batch import find_dossiers, run_batch
    from flows.dossier import load_ahead

    dossiers = find_dossiers(root, args.out.resolve())
    load_ahead(settings, pages=settings.workers if dossiers else 0)
    if api is not None:
        api.wait_ready()
    started = time.monotonic()
    done = with_progress(lambda tick: run_batch(dossiers, workers=settings.workers,
                                                on_done=tick), len(dossiers))
    print_results(done, time.monotonic() - started)
    failed = [d for d in done if d.report is None]
    return ExitCode.other_error if failed else ExitCode.ok


def with_progress(work, total: int):  # type: ignore[no-untyped-def]
    """Run ``work(tick)``; on a terminal a progress bar advances with each dossier done."""
    if not sys.stderr.isatty():
        return work(lambda done: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("dossiers", total=total)

        def tick(done: Done) -> None:
            status = done.report.status if done.report else "no report"
            bar.update(task, advance=1, description=f"{done.dossier.folder.name}: {status}")

        return work(tick)


def print_results(done: list[Done], seconds: float) -> None:
    counts: dict[str, int] = {}
    pages = 0
    for d in done:
        if d.report is None:
            counts["no report"] = counts.get("no report", 0) + 1
            print(f"{d.dossier.folder.name:<28} NO REPORT  {d.error}")
            continue
        r = d.report
        counts[r.status] = counts.get(r.status, 0) + 1
        pages += len(r.pages)
        missing = f"  missing {', '.join(r.missing)}" if r.missing else ""
        reason = f"  {r.reason}" if r.reason else ""
        print(f"{r.dossier_id:<28} {r.status:<13}{missing}{reason}")
    totals = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{len(done)} dossiers, {pages} pages in {seconds:.1f} s: {totals}")
