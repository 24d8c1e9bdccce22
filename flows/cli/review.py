"""``sohoa review OUT_DIR``: a supervisor's decisions on a dossier the CLI processed.

Without ``--decisions`` it prints a decisions file to fill in (the report's open
questions, the best guesses filled in, models.review.ReviewAnswer). With
``--decisions FILE`` it processes the dossier again from ``OUT_DIR/originals/``
(the page results come from the cache: nothing is read again), applies the
decisions and writes the new bundle and report to ``OUT_DIR``; the previous
version is kept under ``OUT_DIR/versions/``. The deployed system asks the same
questions inside the run (flows.review).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import ExitCode, InputError

if TYPE_CHECKING:
    from flows.settings import Settings
    from models.schemas import Report


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="apply a supervisor's decisions to a processed dossier")
    p.add_argument("out_dir", type=Path, help="the output folder of `sohoa process`")
    p.add_argument("--decisions", type=Path,
                   help="decisions file (JSON); without it, print one to fill in")
    p.add_argument("-v", "--verbose", action="store_true", help="show Prefect's run log")


def template(report: Report) -> dict[str, Any]:
    """A decisions file for ``report``'s open questions, best guesses filled in."""
    from pipeline.review import prefilled

    documents = ((i.index, i.doc_type, [c.doc_type for c in i.candidates])
                 for i in report.review if i.kind == "document")
    pages = (i.index for i in report.review if i.kind == "page")
    return {"reviewer": "", "note": "", **prefilled(documents, pages)}


def read_report(out_dir: Path) -> Report:
    from models.schemas import Report

    path = out_dir / "report.json"
    if not path.is_file() or not (out_dir / "originals").is_dir():
        raise InputError(f"{out_dir} is not the output folder of `sohoa process` "
                         "(report.json and originals/ expected)")
    return Report.model_validate_json(path.read_bytes())


def run(args: argparse.Namespace, settings: Settings) -> int:
    out_dir: Path = args.out_dir.resolve()
    report = read_report(out_dir)
    if args.decisions is None:
        print(json.dumps(template(report), ensure_ascii=False, indent=2))
        return ExitCode.ok
    from pydantic import ValidationError

    from models.review import ReviewAnswer

    try:
        answer = ReviewAnswer.model_validate_json(args.decisions.read_bytes())
    except (OSError, ValidationError) as exc:
        raise InputError(f"{args.decisions}: not a decisions file ({_first(exc)})") from exc
    from flows import embedded_api

    # the server main() started first (started here when run() is called on its own)
    api = embedded_api.start_if_needed(verbose=args.verbose)
    from flows.cli.process import print_summary
    from flows.dossier import load_ahead, run_folder
    from flows.params import DossierRequest

    request = DossierRequest(dossier_id=report.dossier_id, procedure=report.procedure,
                             branch=report.branch, facts=dict(report.facts))
    load_ahead(settings, pages=0)  # pages read before come from the result store: no reader first
    if api is not None:
        api.wait_ready()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sohoa-review-") as tmp:
        # the originals are read from a copy: the delivery writes OUT_DIR/originals/ again
        folder = Path(tmp) / "originals"
        shutil.copytree(out_dir / "originals", folder)
        new = run_folder(request, folder=folder, out_dir=out_dir, decisions=answer)
    print_summary(new, out_dir, time.monotonic() - started)
    print(f"decisions {len(new.decisions)} applied; previous version kept in "
          f"{out_dir / 'versions'}")
    return ExitCode.ok


def _first(exc: Exception) -> str:
    text = str(exc).splitlines()
    return " ".join(text[:3]) if text else type(exc).__name__
