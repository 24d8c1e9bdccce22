"""The optional callback to the dossier system when a run ends (HMAC-signed)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from typing import Any

from pydantic import SecretStr

from flows.params import DossierRequest
from models.schemas import Report
from pipeline.delivery import dossier_prefix

WEBHOOK_TIMEOUT_S = 10.0


def notify_webhook(request: DossierRequest, report: Report, *, secret: SecretStr | None) -> None:
    """POST a short JSON note to ``request.callback_url``, signed with HMAC-SHA256.

    Header ``X-Sohoa-Signature: sha256=HEX`` over the exact body, keyed by
    ``SOHOA_WEBHOOK_SECRET``; with no secret configured the call is not made (an
    unsigned callback could be forged). Failures are logged, never fatal.
    """
    if not request.callback_url:
        return
    logger = _logger()
    key = secret.get_secret_value() if secret is not None else ""
    if not key:
        logger.warning("callback_url given but SOHOA_WEBHOOK_SECRET is not set: not called")
        return
    body = json.dumps(webhook_body(request, report), ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(request.callback_url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "X-Sohoa-Signature": "sha256=" + sign_body(key, body)})
    try:
        with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_S) as resp:
            logger.info("callback answered HTTP %s", resp.status)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("callback failed: %s", type(exc).__name__)


def _logger() -> Any:
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:  # called outside a run (tools, tests)
        return logging.getLogger("sohoa.webhook")


def webhook_body(request: DossierRequest, report: Report) -> dict[str, Any]:
    prefix = dossier_prefix(request.branch, request.dossier_id)
    return {"dossier_id": request.dossier_id, "branch": request.branch,
            "status": report.status, "missing": list(report.missing),
            "report_key": prefix + "report.json",
            "bundle_key": prefix + "bundle.pdf" if report.bundle else None,
            "bundle_sha256": report.bundle.sha256 if report.bundle else None}


def sign_body(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
