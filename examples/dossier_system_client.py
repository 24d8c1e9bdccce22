"""The dossier system's side of sohoa: start a run by deployment name, wait, fetch the results.

Needs the Prefect server's address and read access to the archive bucket:

    export PREFECT_API_URL=http://127.0.0.1:4200/api          # `sohoa stack` prints it
    export SOHOA_S3_ENDPOINT=http://127.0.0.1:8333 SOHOA_S3_ACCESS_KEY=... SOHOA_S3_SECRET_KEY=...
    .venv/bin/python examples/dossier_system_client.py --branch cau-giay \\
        --dossier-id HN-CG-2026-000200 --procedure birth_registration \\
        --pages samples/birth-complete --out out/client

The pages must be in ``intake/{branch}/{dossier_id}/``: a scanner puts them
there, or ``--pages FOLDER`` does it here (page files only: no manifest, since
the dossier system, not a sealed upload, starts the run; ``--no-start`` stops
after that). The same over plain HTTP is in docs/operations.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

from flows.settings import Settings
from pipeline.delivery import dossier_prefix
from pipeline.storage import open_storage
from pipeline.transfer import fetch_results, put_pages

DEPLOYMENT = "process-dossier/process-dossier"  # "{flow name}/{deployment name}"


def start_and_wait(request: dict[str, Any], *, timeout_s: float = 1800.0,
                   idempotency_key: str | None = None) -> FlowRun:
    """Start one run of the deployment and block until it ends (or ``timeout_s`` passes)."""
    run: Any = run_deployment(
        DEPLOYMENT, parameters={"request": request}, flow_run_name=request["dossier_id"],
        idempotency_key=idempotency_key, timeout=timeout_s, poll_interval=1,
        tags=[f"branch:{request['branch']}", "source:dossier-system"], as_subflow=False,
    )
    return run


def fetch(branch: str, dossier_id: str, out: Path) -> dict[str, Any] | None:
    """report.json and bundle.pdf from the archive bucket into ``out``."""
    config = Settings.from_env().storage  # SOHOA_S3_* from the environment
    return fetch_results(open_storage(config), config.archive,
                         dossier_prefix(branch, dossier_id), out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branch", required=True)
    parser.add_argument("--dossier-id", required=True)
    parser.add_argument("--procedure", required=True)
    parser.add_argument("--fact", action="append", default=[], metavar="NAME=true|false")
    parser.add_argument("--out", type=Path, default=Path("out/client"))
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--pages", type=Path, metavar="FOLDER",
                        help="first put FOLDER's page files into intake (as a scanner would)")
    parser.add_argument("--no-start", action="store_true", help="only put the pages")
    args = parser.parse_args(argv)
    if args.pages is not None:
        config = Settings.from_env().storage
        names = put_pages(open_storage(config), config.intake,
                          dossier_prefix(args.branch, args.dossier_id), args.pages)
        print(f"{len(names)} page files in {config.intake}/"
              f"{dossier_prefix(args.branch, args.dossier_id)}")
    if args.no_start:
        return 0
    facts = {n: v.lower() == "true" for n, _, v in (f.partition("=") for f in args.fact)}
    request = {"dossier_id": args.dossier_id, "procedure": args.procedure,
               "branch": args.branch, "facts": facts}
    run = start_and_wait(request, timeout_s=args.timeout)
    state = run.state
    print(f"flow run {run.id}: {state.name if state else '?'} ({state.message if state else ''})")
    if state is None or not state.is_completed():
        return 1
    report = fetch(args.branch, args.dossier_id, args.out)
    if report is None:
        print("no report in archive", file=sys.stderr)
        return 1
    print(json.dumps({k: report[k] for k in ("dossier_id", "status", "missing")},
                     ensure_ascii=False))
    print(f"bundle and report in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
