"""``sohoa verify``: is the signature intact and valid, is the PDF/A-2b shape there?"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import InputError

if TYPE_CHECKING:
    from flows.settings import Settings


def add(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("verify", help="check a bundle's signature and PDF/A-2b properties")
    v.add_argument("bundle", type=Path)
    v.add_argument("--trust-root", action="append", type=Path, default=[],
                   help="PEM/DER CA certificate to trust (default: configured roots)")
    v.add_argument("--at", type=_when, metavar="DATE",
                   help="validate as of DATE (ISO 8601, e.g. 2031-06-01 or 2031-06-01T09:00+07:00)"
                        "; default now. Offline, from the data embedded in the bundle")
    v.add_argument("--json", action="store_true", help="print the result as JSON")


def _when(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--at takes an ISO 8601 date, got {text!r}") from None
    from flows.cli.process import VN_TZ

    return when if when.tzinfo is not None else when.replace(tzinfo=VN_TZ)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not args.bundle.is_file():
        raise InputError(f"no such file: {args.bundle}")
    from flows.signing import trust_roots
    from pipeline.pdf.conformance import check_pdfa
    from pipeline.sign.verify import verify_signatures

    data = args.bundle.read_bytes()
    sig = verify_signatures(data, trust_roots=trust_roots(settings, args.trust_root), at=args.at)
    pdfa = check_pdfa(data)
    ok = sig.ok and pdfa.ok
    if args.json:
        print_json({"ok": ok, "signature": _jsonable(asdict(sig)), "pdfa": _jsonable(asdict(pdfa))})
        return 0 if ok else 1
    mark = {True: "ok  ", False: "FAIL"}
    print(f"{mark[sig.ok]} signature: signer={sig.signer or '-'} time="
          f"{sig.signing_time.isoformat() if sig.signing_time else '-'}")
    print(f"     level      {sig.level or '-'}"
          + (" (no timestamp: valid only while the signer's certificate is)"
             if sig.level == "B-B" else ""))
    print(f"     checked at {(args.at.isoformat() if args.at else 'now')}, offline")
    for name in ("signed", "intact", "valid", "trusted"):
        print(f"     {name:<10} {getattr(sig, name)}")
    for stamp in sig.timestamps:
        until = f", authority certificate until {stamp.expires.date()}" if stamp.expires else ""
        print(f"     timestamp  {stamp.kind:<9} {stamp.time.isoformat()} by {stamp.authority}"
              f"{until}")
    if sig.long_term is not None:
        print(f"     long-term  {sig.long_term.indication}")
    for problem in sig.problems:
        print(f"     problem: {problem}")
    print(f"{mark[pdfa.ok]} PDF/A-2b")
    for check in pdfa.checks:
        print(f"     {mark[check.ok]} {check.name}: {check.detail}")
    print("VALID" if ok else "INVALID")
    return 0 if ok else 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
