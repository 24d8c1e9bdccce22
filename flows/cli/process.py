"""``sohoa process``: check the call, run the ``process-folder`` flow, summarise.

What is the caller's mistake and what is the dossier's (docs/contracts.md §1):
a missing INPUT, an empty folder or an unknown ``--procedure`` is a wrong call
(one line on stderr, exit 2, nothing written). A manifest that is not JSON,
has invalid fields or names an unknown procedure makes the *dossier* unusable:
the dossier goes to ``OUT/quarantine/`` with ``reason.json`` (the deployed
system's layout), a ``rejected`` report.json is written, exit 2 with the reason
on stderr. Pages the manifest lists but the folder lacks are handed on as
missing: the flow processes the others and names the missing ones.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ExitCode, InputError, ManifestError, UnknownProcedure
from pipeline.fileio import nfc

if TYPE_CHECKING:  # the rest loads in run(), while Prefect's embedded API boots
    from flows.settings import Settings
    from models.schemas import Manifest, Report

MAX_MANIFEST_BYTES = 1_000_000
VN_TZ = timezone(timedelta(hours=7))


def _parse_fact(text: str) -> tuple[str, bool]:
    name, sep, value = text.partition("=")
    value = value.strip().lower()
    if not sep or not name or value not in {"true", "false"}:
        raise argparse.ArgumentTypeError(f"--fact takes NAME=true|false, got {text!r}")
    return name.strip(), value == "true"


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("process", help="turn a scanned dossier into a signed PDF/A-2b bundle")
    p.add_argument("input", type=Path, help="a folder of page files, or one page file")
    p.add_argument("--procedure", help="procedure id from the catalog (overrides the manifest)")
    p.add_argument("--fact", action="append", type=_parse_fact, default=[],
                   metavar="NAME=true|false", help="a condition fact (overrides the manifest)")
    p.add_argument("--out", type=Path, help="output folder (default: ./out/DOSSIER_ID)")
    p.add_argument("--dossier-id", help="dossier code (default: manifest, else folder name)")
    p.add_argument("-v", "--verbose", action="store_true", help="show Prefect's run log")


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest.json, or None; ManifestError says what is wrong with it."""
    from models.schemas import parse_manifest

    path = folder / "manifest.json"
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest.json is larger than {MAX_MANIFEST_BYTES} bytes")
    return parse_manifest(path.read_bytes())


def page_files(folder: Path, manifest: Manifest | None) -> tuple[str, ...]:
    """The folder's page files in processing order, or why the call is wrong.

    Names compare in Unicode NFC (a manifest written on one system matches files
    stored decomposed by another); two files whose names differ only in form are
    refused. A page the manifest lists but the folder lacks is kept: the flow
    reports it missing.
    """
    present: dict[str, str] = {}
    for p in folder.iterdir():
        if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json":
            if nfc(p.name) in present:
                raise InputError(f"two files named {nfc(p.name)!r} (in different Unicode forms)")
            present[nfc(p.name)] = p.name
    if manifest is not None and manifest.pages:
        return tuple(present.get(nfc(name), name) for name in manifest.pages)
    if not present:
        raise InputError(f"no page files in {folder}")
    return tuple(present[name] for name in sorted(present))


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "dossier"


def run(args: argparse.Namespace, settings: Settings) -> int:
    input_path: Path = args.input
    if not input_path.exists():
        raise InputError(f"input not found: {input_path}")
    from flows import embedded_api

    # the server main() started first (started here when run() is called on its own)
    api = embedded_api.start_if_needed(verbose=args.verbose)
    from flows.params import DossierRequest
    from models.catalog import load_catalog

    folder = input_path if input_path.is_dir() else input_path.parent
    fallback_id = args.dossier_id or _safe_id(folder.name if input_path.is_dir()
                                              else input_path.stem)
    if args.procedure:
        load_catalog().procedure(args.procedure)  # a wrong call: one line, known ids listed
    try:
        manifest = read_manifest(folder) if input_path.is_dir() else None
        procedure = args.procedure or (manifest.procedure if manifest else None)
        if procedure and not args.procedure:
            load_catalog().procedure(procedure)
    except (ManifestError, UnknownProcedure) as exc:
        out = (args.out or Path("out") / _safe_id(fallback_id)).resolve()
        return reject(folder, out, exc.message, dossier_id=fallback_id,
                      procedure=args.procedure or "")
    if not procedure:
        raise InputError("no procedure: pass --procedure ID (or put it in manifest.json)")
    # a wrong call is refused before anything starts
    pages = len(page_files(folder, manifest)) if input_path.is_dir() else 1
    facts = dict(manifest.facts) if manifest else {}
    facts.update(dict(args.fact))
    dossier_id = args.dossier_id or (manifest.dossier_id if manifest else None) or fallback_id
    request = DossierRequest(
        dossier_id=dossier_id, procedure=procedure, facts=facts,
        branch=(manifest.branch if manifest else None) or "local",
        submitted_at=str(manifest.submitted_at) if manifest and manifest.submitted_at else None)
    out_dir: Path = (args.out or Path("out") / _safe_id(dossier_id)).resolve()
    from flows.dossier import load_ahead, run_folder

    # the machine and the signing key are checked before the run starts (one line, no
    # run); what the run loads once is loaded while the API boots
    load_ahead(settings, pages=pages)
    if api is not None:
        api.wait_ready()
    started = time.monotonic()
    report = run_folder(request, folder=folder.resolve(), out_dir=out_dir,
                        only=None if input_path.is_dir() else input_path.name)
    print_summary(report, out_dir, None if report.status == "rejected"
                  else time.monotonic() - started)
    if report.status == "rejected":  # stderr: the one-line reason only
        print(f"sohoa: rejected: {report.reason}", file=sys.stderr)
        return ExitCode.input_error
    return ExitCode.ok


def reject(folder: Path, out_dir: Path, reason: str, *, dossier_id: str, procedure: str) -> int:
    """A dossier whose manifest is unusable: quarantined whole, with a rejected report."""
    report = write_rejected(folder, out_dir, reason, dossier_id=dossier_id, procedure=procedure)
    print_summary(report, out_dir, None)
    print(f"sohoa: rejected: {reason}", file=sys.stderr)
    return ExitCode.input_error


def write_rejected(folder: Path, out_dir: Path, reason: str, *, dossier_id: str,
                   procedure: str) -> Report:
    """The whole dossier to ``out_dir/quarantine/`` and a ``rejected`` report."""
    from flows.dossier import in_folders
    from models.schemas import Report
    from pipeline.delivery import json_bytes, put_verified, read_intake, refuse

    storage, places = in_folders(folder, out_dir, dossier_id=dossier_id, branch="local")
    refuse(storage, places, read_intake(storage, places.intake), reason, consume_intake=False)
    report = Report(dossier_id=dossier_id, procedure=procedure, branch="local",
                    status="rejected", reason=reason, generated_at=datetime.now(VN_TZ))
    put_verified(storage, places.archive, "report.json",
                 json_bytes(report.model_dump(mode="json")), "application/json")
    return report


def signature_line(level: str | None) -> str:
    from flows.signing import DEV_NOTE

    return f"{level} ({DEV_NOTE})" if level in (None, "B-B") else f"{level} (archival)"


def print_summary(report: Report, out_dir: Path, seconds: float | None) -> None:
    print(f"dossier   {report.dossier_id}  ({report.procedure})")
    print(f"status    {report.status}")
    if report.reason:
        print(f"reason    {report.reason}")
    if report.missing:
        print(f"missing   {', '.join(report.missing)}")
    if report.review:
        print(f"review    {len(report.review)} item(s) below the confidence threshold")
    pages = report.pages
    blank = sum(1 for p in pages if p.blank)
    failed = sum(1 for p in pages if p.error)
    in_bundle = report.bundle.pages if report.bundle else 0
    print(f"pages     {len(pages)} in, {in_bundle} in bundle, {blank} blank, {failed} unreadable")
    for i, doc in enumerate(report.documents):
        print(f"  doc {i}: {doc.doc_type:<28} pages {list(doc.bundle_pages)} "
              f"conf {doc.confidence:.2f}")
    if report.bundle:
        print(f"bundle    {out_dir / 'bundle.pdf'}")
        print(f"signature {signature_line(report.bundle.signature)}")
    print(f"report    {out_dir / 'report.json'}")
    if seconds is not None:
        print(f"time      {seconds:.1f} s", file=sys.stderr)
