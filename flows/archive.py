"""The flow's bucket side: read a dossier from intake, deliver it to archive and quarantine.

Order of delivery (CONTRACTS.md §2): bundle.pdf, the originals (manifest
included) under ``originals/``, unreadable inputs to quarantine with
``reason.json``, and report.json last, each written atomically and read back
(sha256); only then are the dossier's objects deleted from intake, its manifest
last. The delivery task retries storage errors with backoff (it is idempotent).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from flows.params import DossierRequest, PageJob
from flows.storage_io import (
    MANIFEST,
    IntakeDossier,
    clear_intake,
    copy_verified,
    dossier_prefix,
    json_bytes,
    presigned_link,
    put_verified,
    quarantine_objects,
    read_intake,
    storage_from_env,
)
from flows.tasks import STORAGE_RETRY_DELAYS_S, inventory_objects, retry_if_retryable
from models.schemas import parse_manifest
from pipeline.assemble import Plan
from pipeline.errors import InputError, SohoaError
from pipeline.outcome import PageOutcome
from pipeline.types import PageRef

WEBHOOK_TIMEOUT_S = 10.0


@task(name="read-intake", cache_policy=NO_CACHE, retries=len(STORAGE_RETRY_DELAYS_S),
      retry_delay_seconds=STORAGE_RETRY_DELAYS_S,
      retry_condition_fn=retry_if_retryable)
def read_intake_task(branch: str, dossier_id: str) -> IntakeDossier:
    config, storage = storage_from_env()
    return read_intake(storage, config.intake, dossier_prefix(branch, dossier_id))


def inventory_intake(
    request: DossierRequest, work_dir: str
) -> tuple[IntakeDossier, tuple[str, ...], list[PageJob], list[PageOutcome]]:
    """The dossier's page objects in order, their page jobs, and the unreadable ones."""
    config, _ = storage_from_env()
    intake = read_intake_task(request.branch, request.dossier_id)
    listed = None
    if intake.manifest is not None:
        try:
            listed = parse_manifest(intake.manifest).pages
        except SohoaError:  # the watcher quarantines bad manifests; an API run goes on
            listed = None
    names = intake.page_names(listed)
    if not names:
        raise InputError(f"no page files in {config.intake}/{intake.prefix}")
    present = set(intake.names)
    missing = [PageOutcome(ref=PageRef(n, 1), error="listed in the manifest but not in intake")
               for n in names if n not in present]
    found = tuple(n for n in names if n in present)
    jobs, failures = inventory_objects(config.intake, intake.prefix, found, work_dir)
    return intake, names, jobs, missing + failures


def bad_inputs(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """For each input that could not be read: its pages' errors."""
    bad: dict[str, list[dict[str, Any]]] = {}
    for o in plan.outcomes:
        if o.error is not None:
            bad.setdefault(o.ref.source, []).append(
                {"source_page": o.ref.source_page, "error": o.error})
    return bad


@task(name="deliver-to-archive", cache_policy=NO_CACHE, retries=len(STORAGE_RETRY_DELAYS_S),
      retry_delay_seconds=STORAGE_RETRY_DELAYS_S,
      retry_condition_fn=retry_if_retryable)
def deliver_to_archive(request: DossierRequest, intake: IntakeDossier, bundle: bytes | None,
                       report: dict[str, Any], bad: dict[str, list[dict[str, Any]]]
                       ) -> str | None:
    """Store results and originals, verified, then empty the dossier's intake folder."""
    config, storage = storage_from_env()
    prefix = intake.prefix
    if bundle is not None:
        put_verified(storage, config.archive, prefix + "bundle.pdf", bundle, "application/pdf")
    for name in intake.names:
        src, dst = (config.intake, prefix + name), (config.archive, f"{prefix}originals/{name}")
        if storage.head(*src) is None and storage.head(*dst) is not None:
            continue  # a retry after intake was partly cleared: already archived and verified
        copy_verified(storage, src, dst)
    if bad:
        reason = {"dossier_id": request.dossier_id, "branch": request.branch,
                  "files": [{"source": name, "reasons": reasons}
                            for name, reasons in bad.items()]}
        quarantine_objects(storage, config, prefix, [n for n in bad if n in intake.names],
                           reason)
    put_verified(storage, config.archive, prefix + "report.json", json_bytes(report),
                 "application/json")
    clear_intake(storage, config.intake, prefix, intake.names)
    get_run_logger().info("%s delivered to %s/%s (%d originals)", request.dossier_id,
                          config.archive, prefix, len(intake.names))
    if bundle is None:
        return None
    return presigned_link(storage, config.archive, prefix + "bundle.pdf")


def notify_webhook(request: DossierRequest, report: dict[str, Any]) -> None:
    """POST a short JSON note to ``request.callback_url``, signed with HMAC-SHA256.

    Header ``X-Sohoa-Signature: sha256=HEX`` over the exact body, keyed by
    ``SOHOA_WEBHOOK_SECRET``; with no secret configured the call is not made (an
    unsigned callback could be forged). Failures are logged, never fatal.
    """
    if not request.callback_url:
        return
    secret = os.environ.get("SOHOA_WEBHOOK_SECRET", "")
    logger = _logger()
    if not secret:
        logger.warning("callback_url given but SOHOA_WEBHOOK_SECRET is not set: not called")
        return
    body = json.dumps(webhook_body(request, report), ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(request.callback_url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "X-Sohoa-Signature": "sha256=" + sign_body(secret, body)})
    try:
        with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_S) as resp:
            logger.info("callback answered HTTP %s", resp.status)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("callback failed: %s", type(exc).__name__)


def _logger() -> Any:
    try:
        return get_run_logger()
    except MissingContextError:  # called outside a run (tools, tests)
        return logging.getLogger("sohoa.webhook")


def webhook_body(request: DossierRequest, report: dict[str, Any]) -> dict[str, Any]:
    prefix = dossier_prefix(request.branch, request.dossier_id)
    bundle = report.get("bundle") or {}
    return {"dossier_id": request.dossier_id, "branch": request.branch,
            "status": report["status"], "missing": report["missing"],
            "report_key": prefix + "report.json",
            "bundle_key": prefix + "bundle.pdf" if bundle else None,
            "bundle_sha256": bundle.get("sha256")}


def sign_body(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


__all__ = ["MANIFEST", "bad_inputs", "deliver_to_archive", "inventory_intake", "notify_webhook"]
