"""Both ends of the deployed system, over the storage interface: a scanner station
uploading a dossier, and the dossier system fetching its results."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from models.schemas import parse_manifest
from pipeline.delivery import MANIFEST, dossier_prefix, json_bytes
from pipeline.storage.base import Storage

PAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".pdf")


def is_page_name(name: str) -> bool:
    return name.lower().endswith(PAGE_SUFFIXES) and not name.startswith(".")


def put_pages(storage: Storage, intake: str, prefix: str, folder: Path) -> list[str]:
    """Every page file of ``folder`` into ``intake`` under ``prefix``, in name order (no
    manifest: the dossier's run is started by whoever sends the request)."""
    pages = sorted(p for p in folder.iterdir() if p.is_file() and is_page_name(p.name))
    for page in pages:
        storage.put_file(intake, prefix + page.name, page)
    return [p.name for p in pages]


def upload_dossier(storage: Storage, intake: str, folder: Path,
                   manifest: bytes | None = None) -> str:
    """What a scanner station does: every page file, then manifest.json (which seals it).

    Returns the dossier's prefix ``{branch}/{dossier_id}/``.
    """
    data = manifest if manifest is not None else (folder / MANIFEST).read_bytes()
    parsed = parse_manifest(data)
    prefix = dossier_prefix(parsed.branch, parsed.dossier_id)
    put_pages(storage, intake, prefix, folder)
    storage.put(intake, prefix + MANIFEST, data, content_type="application/json")
    return prefix


def fetch_results(storage: Storage, archive: str, prefix: str, out: Path, *,
                  wait_s: float = 0.0, poll_s: float = 1.0) -> dict[str, Any] | None:
    """What the dossier system does: wait for report.json, then fetch it and the bundle."""
    deadline = time.monotonic() + wait_s
    while storage.head(archive, prefix + "report.json") is None:
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_s)
    report: dict[str, Any] = json.loads(storage.get(archive, prefix + "report.json"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_bytes(json_bytes(report))
    if report.get("bundle"):
        storage.get_file(archive, prefix + "bundle.pdf", out / "bundle.pdf")
    return report
