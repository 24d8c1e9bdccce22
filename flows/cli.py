"""The ``sohoa`` command line (CONTRACTS.md §1).

Reads the environment (via Settings) and arguments, runs the Prefect flow in
this process, prints a short summary. Prefect is imported lazily so that
``sohoa verify`` and argument errors stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from pipeline.errors import SohoaError


def _parse_fact(text: str) -> tuple[str, bool]:
    name, sep, value = text.partition("=")
    value = value.strip().lower()
    if not sep or not name or value not in {"true", "false"}:
        raise argparse.ArgumentTypeError(f"--fact takes NAME=true|false, got {text!r}")
    return name.strip(), value == "true"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sohoa", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("process", help="turn a scanned dossier into a signed PDF/A-2b bundle")
    p.add_argument("input", type=Path, help="a folder of page files, or one page file")
    p.add_argument("--procedure", help="procedure id from the catalog (overrides the manifest)")
    p.add_argument("--fact", action="append", type=_parse_fact, default=[],
                   metavar="NAME=true|false", help="a condition fact (overrides the manifest)")
    p.add_argument("--out", type=Path, help="output folder (default: ./out/DOSSIER_ID)")
    p.add_argument("--dossier-id", help="dossier code (default: manifest, else folder name)")
    p.add_argument("-v", "--verbose", action="store_true", help="show Prefect's run log")
    v = sub.add_parser("verify", help="check a bundle's signature and PDF/A-2b properties")
    v.add_argument("bundle", type=Path)
    v.add_argument("--trust-root", action="append", type=Path, default=[],
                   help="PEM/DER CA certificate to trust (default: configured roots)")
    v.add_argument("--json", action="store_true", help="print the result as JSON")
    from flows.cli_serve import add_subcommands

    add_subcommands(sub)  # serve, watch, stack: the deployed system
    from flows.cli_evaluate import add_evaluate
    from flows.cli_train import add_train

    add_train(sub)
    add_evaluate(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "process":
            from flows.cli_process import run_process

            return run_process(args)
        if args.command == "train":
            from flows.cli_train import run_train

            return run_train(args)
        if args.command == "evaluate":
            from flows.cli_evaluate import run_evaluate

            return run_evaluate(args)
        from flows.cli_serve import COMMANDS, run_command

        if args.command in COMMANDS:
            return run_command(args)
        from flows.cli_verify import run_verify

        return run_verify(args)
    except SohoaError as exc:
        print(f"sohoa: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sohoa: interrupted", file=sys.stderr)
        return 130


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def prefect_defaults(verbose: bool) -> None:
    """Quiet, lean defaults for the in-process (ephemeral) Prefect API.

    Only defaults: anything the operator set in the environment wins. This is
    the one place the CLI writes to ``os.environ``, before Prefect is imported.
    """
    defaults = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO" if verbose else "WARNING",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
    }
    if not os.environ.get("PREFECT_API_URL"):
        for service in ("SCHEDULER", "LATE_RUNS", "FOREMAN", "CANCELLATION_CLEANUP",
                        "PAUSE_EXPIRATIONS", "TRIGGERS", "REPOSSESSOR"):
            defaults[f"PREFECT_SERVER_SERVICES_{service}_ENABLED"] = "false"
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


if __name__ == "__main__":
    raise SystemExit(main())
