"""``sohoa retimestamp``: renew the archive's document timestamps that expire soon.

Each renewed bundle becomes a new version (the previous one is kept under
``versions/``). When a bundle due cannot be renewed (the authority did not answer,
validation data could not be fetched) the others are renewed all the same and the
command exits 4.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.errors import ExitCode

if TYPE_CHECKING:
    from flows.settings import Settings


def add(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("retimestamp", help="renew archived bundles' timestamps before they expire")
    r.add_argument("--within-days", type=int, default=None, metavar="N",
                   help="renew when the last timestamp expires within N days "
                        "(default: SOHOA_RETIMESTAMP_WITHIN_DAYS, 180)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.retimestamp import renew_archive
    from flows.signing import build_archival

    within = timedelta(days=args.within_days or settings.retimestamp_within_days)
    print(f"archive   {settings.storage.where()} bucket {settings.storage.archive}")
    results = renew_archive(settings.storage.open(), settings.storage.archive,
                            archival=build_archival(settings), within=within,
                            now=datetime.now(UTC))
    for r in results:
        print(f"{r.action:<13} {r.key}  {('expires ' + r.expires) if r.expires else ''}"
              f"{('  ' + r.detail) if r.detail else ''}".rstrip())
    counts = {a: sum(1 for r in results if r.action == a)
              for a in ("renewed", "not due", "not archival", "failed")}
    print(f"{len(results)} bundle(s): " + ", ".join(f"{n} {a}" for a, n in counts.items()))
    return ExitCode.ok if not counts["failed"] else ExitCode.output_error
