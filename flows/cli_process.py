"""``sohoa process``: resolve the input folder and manifest, run the flow, summarise."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from flows import embedded_api
from models.catalog import load_catalog
from models.schemas import Manifest
from pipeline.errors import InputError, ManifestError


def read_manifest(folder: Path) -> Manifest | None:
    path = folder / "manifest.json"
    if not path.exists():
        return None
    try:
        return Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from None
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        raise ManifestError(f"{path} has invalid or missing fields: {fields}") from None


def page_files(input_path: Path, manifest: Manifest | None) -> tuple[str, ...]:
    """The page files in processing order (CONTRACTS.md §1)."""
    if not input_path.exists():
        raise InputError(f"input not found: {input_path}")
    if input_path.is_file():
        return (str(input_path.resolve()),)
    if manifest is not None and manifest.pages:
        missing = [p for p in manifest.pages if not (input_path / p).is_file()]
        if missing:
            raise ManifestError(f"manifest lists pages that are not there: {', '.join(missing)}")
        return tuple(str((input_path / p).resolve()) for p in manifest.pages)
    files = sorted(
        p for p in input_path.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json"
    )
    if not files:
        raise InputError(f"no page files in {input_path}")
    return tuple(str(p.resolve()) for p in files)


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "dossier"


def run_process(args: argparse.Namespace) -> int:
    from flows.cli import prefect_defaults

    input_path: Path = args.input
    folder = input_path if input_path.is_dir() else input_path.parent
    manifest = read_manifest(folder) if input_path.is_dir() else None
    procedure = args.procedure or (manifest.procedure if manifest else None)
    if not procedure:
        raise InputError("no procedure: pass --procedure ID (or put it in manifest.json)")
    load_catalog().procedure(procedure)  # unknown ids fail here, with the known ones listed
    facts = dict(manifest.facts) if manifest else {}
    facts.update(dict(args.fact))
    dossier_id = args.dossier_id or (manifest.dossier_id if manifest else None) or _safe_id(
        folder.name if input_path.is_dir() else input_path.stem
    )
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
    print_summary(report, out_dir, time.monotonic() - started)
    return 2 if report["status"] == "rejected" else 0


def print_summary(report: dict, out_dir: Path, seconds: float) -> None:
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
    print(f"time      {seconds:.1f} s", file=sys.stderr)
