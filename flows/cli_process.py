"""``sohoa process``: resolve the input folder and manifest, run the flow, summarise.

What is the caller's mistake and what is the dossier's (CONTRACTS.md §1):
a missing INPUT, an empty folder or an unknown ``--procedure`` is a wrong call
(one line on stderr, exit 2, nothing written). A manifest that is not JSON,
has invalid fields or names an unknown procedure makes the *dossier* unusable:
a ``rejected`` report.json with the reason is written, the manifest is kept
untouched under ``quarantine/``, exit 2 with the reason on stderr. Pages the
manifest lists but the folder lacks are handed on as missing: the flow
processes the others and names the missing ones (``needs_review``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flows import embedded_api
from models.catalog import load_catalog
from models.schemas import Manifest, Report, parse_manifest
from pipeline.errors import InputError, ManifestError, UnknownProcedure
from pipeline.fileio import write_atomic

MAX_MANIFEST_BYTES = 1_000_000
VN_TZ = timezone(timedelta(hours=7))


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest.json, or None; ManifestError says what is wrong with it."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest.json is larger than {MAX_MANIFEST_BYTES} bytes")
    return parse_manifest(path.read_bytes())


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def page_files(input_path: Path, manifest: Manifest | None) -> tuple[str, ...]:
    """The page files in processing order (CONTRACTS.md §1).

    Names compare in Unicode NFC (a manifest written on one system matches files
    stored decomposed by another). A page the manifest lists but the folder
    lacks is returned as the path it would have: the flow reports it missing.
    """
    if not input_path.exists():
        raise InputError(f"input not found: {input_path}")
    if input_path.is_file():
        return (str(input_path.resolve()),)
    present: dict[str, Path] = {}
    for p in input_path.iterdir():
        if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json":
            if nfc(p.name) in present:
                raise InputError(f"two files named {nfc(p.name)!r} (in different Unicode forms)")
            present[nfc(p.name)] = p
    if manifest is not None and manifest.pages:
        return tuple(str(present.get(nfc(name), input_path / name).resolve())
                     for name in manifest.pages)
    if not present:
        raise InputError(f"no page files in {input_path}")
    return tuple(str(present[name].resolve()) for name in sorted(present))


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "dossier"


def run_process(args: argparse.Namespace) -> int:
    from flows.cli import prefect_defaults

    input_path: Path = args.input
    if not input_path.exists():
        raise InputError(f"input not found: {input_path}")
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
        rejected_dir = (args.out or Path("out") / _safe_id(fallback_id)).resolve()
        return reject_manifest(folder, rejected_dir, exc.message, dossier_id=fallback_id,
                               procedure=args.procedure or "")
    if not procedure:
        raise InputError("no procedure: pass --procedure ID (or put it in manifest.json)")
    facts = dict(manifest.facts) if manifest else {}
    facts.update(dict(args.fact))
    dossier_id = args.dossier_id or (manifest.dossier_id if manifest else None) or fallback_id
    files = page_files(input_path, manifest)
    out_dir: Path = (args.out or Path("out") / _safe_id(dossier_id)).resolve()

    prefect_defaults(args.verbose)
    api = embedded_api.start_if_needed()  # boots while the flow's imports load
    from flows.dossier import run_embedded

    if api is not None:
        api.wait_ready()
    started = time.monotonic()
    report = run_embedded(
        dossier_id=dossier_id, procedure=procedure, facts=facts,
        branch=(manifest.branch if manifest else None) or "local",
        submitted_at=str(manifest.submitted_at) if manifest and manifest.submitted_at else None,
        files=files, out_dir=out_dir,
    )
    if report["status"] == "rejected":  # stderr: the one-line reason only
        print_summary(report, out_dir, None)
        print(f"sohoa: rejected: {report.get('reason')}", file=sys.stderr)
        return 2
    print_summary(report, out_dir, time.monotonic() - started)
    return 0


def reject_manifest(folder: Path, out_dir: Path, reason: str, *, dossier_id: str,
                    procedure: str) -> int:
    """A dossier whose manifest is unusable: rejected report, manifest quarantined."""
    qdir = out_dir / "quarantine"
    qdir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(folder / "manifest.json", qdir / "manifest.json")
    write_atomic(qdir / "manifest.json.reason.json", json.dumps(
        {"source": "manifest.json", "reasons": [{"error": reason}]},
        ensure_ascii=False, indent=2).encode("utf-8"))
    report = Report(dossier_id=dossier_id, procedure=procedure, branch="local",
                    status="rejected", reason=reason,
                    generated_at=datetime.now(VN_TZ)).model_dump(mode="json")
    write_atomic(out_dir / "report.json",
                  json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"))
    print_summary(report, out_dir, None)
    print(f"sohoa: rejected: {reason}", file=sys.stderr)
    return 2


def print_summary(report: dict, out_dir: Path, seconds: float | None) -> None:
    pages = report["pages"]
    bundle = report.get("bundle") or {}
    print(f"dossier   {report['dossier_id']}  ({report['procedure']})")
    print(f"status    {report['status']}")
    if report.get("reason"):
        print(f"reason    {report['reason']}")
    if report["missing"]:
        print(f"missing   {', '.join(report['missing'])}")
    review = report.get("review") or []
    if review:
        print(f"review    {len(review)} item(s) below the confidence threshold")
    blank = sum(1 for p in pages if p["blank"])
    failed = sum(1 for p in pages if p.get("error"))
    print(f"pages     {len(pages)} in, {bundle.get('pages', 0)} in bundle, "
          f"{blank} blank, {failed} unreadable")
    for i, doc in enumerate(report["documents"]):
        print(f"  doc {i}: {doc['doc_type']:<28} pages {doc['bundle_pages']} "
              f"conf {doc['confidence']:.2f}")
    if bundle:
        print(f"bundle    {out_dir / 'bundle.pdf'}")
    print(f"report    {out_dir / 'report.json'}")
    if seconds is not None:
        print(f"time      {seconds:.1f} s", file=sys.stderr)
