"""Renewal of archival signatures: a new document timestamp on every bundle in archive
whose last timestamp's certificate expires within ``within`` (default 180 days).

The renewed bundle is a new version: the one in archive (bundle, report, originals)
is first copied to ``versions/{time}-{digest}/`` (:func:`pipeline.delivery.
keep_previous_version`), then the new bundle and a report naming its digest replace
it. Bundles without a timestamp (B-B, the development default) are reported as not
archival and left alone. ``sohoa retimestamp`` runs it once; the deployment
``renew-timestamps/renew-timestamps`` runs it on a schedule (daily).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from prefect import flow

from flows.settings import Settings
from flows.signing import build_archival
from models.schemas import Report
from pipeline.delivery import (
    REPORT,
    Place,
    Places,
    json_bytes,
    keep_previous_version,
    put_verified,
)
from pipeline.errors import ObjectNotFound, SigningError, SohoaError
from pipeline.sign.archival import Archival, renew
from pipeline.sign.levels import last_stamp
from pipeline.storage import Storage

log = logging.getLogger(__name__)
BUNDLE = "bundle.pdf"


@dataclass(frozen=True)
class Renewal:
    """What happened to one bundle in archive."""

    key: str
    action: str  # renewed | not due | not archival | failed
    expires: str = ""  # the last timestamp's certificate expiry (before renewal)
    detail: str = ""


def bundles_in(storage: Storage, bucket: str) -> list[str]:
    """Keys of the current bundles in archive (kept versions excluded); none when the
    archive was never written (a machine that has delivered nothing yet)."""
    try:
        found = storage.list(bucket, "")
        return sorted(o.key for o in found
                      if o.key.endswith("/" + BUNDLE) and "/versions/" not in o.key)
    except ObjectNotFound:
        return []


def renew_archive(storage: Storage, bucket: str, *, archival: Archival | None,
                  within: timedelta, now: datetime) -> list[Renewal]:
    """Renew every bundle due; one bundle's failure never stops the others."""
    return [_renew_one(storage, bucket, key, archival=archival, within=within, now=now)
            for key in bundles_in(storage, bucket)]


def _renew_one(storage: Storage, bucket: str, key: str, *, archival: Archival | None,
               within: timedelta, now: datetime) -> Renewal:
    try:
        pdf = storage.get(bucket, key)
        stamp = last_stamp(pdf)
        if stamp is None or stamp.expires is None:
            return Renewal(key, "not archival", detail="no timestamp (B-B)")
        expires = stamp.expires.isoformat()
        if stamp.expires - now > within:
            return Renewal(key, "not due", expires)
        if archival is None:
            raise SigningError("no timestamp authority configured (SOHOA_TSA_URL)")
        renewed = renew(pdf, archival=archival)
        version = _store(storage, bucket, key, renewed)
        log.info("renewed %s (kept %s)", key, version)
        return Renewal(key, "renewed", expires, f"previous version: {version}")
    except SohoaError as exc:
        log.warning("renewal of %s failed: %s", key, exc.message)
        return Renewal(key, "failed", detail=exc.message)


def _store(storage: Storage, bucket: str, key: str, renewed: bytes) -> str | None:
    """Keep the version in archive, then store the renewed bundle and its report."""
    folder = key[: -len(BUNDLE)]
    places = Places(Place(bucket, folder), Place(bucket, folder), Place(bucket, folder),
                    dossier_id="", branch="")
    report = Report.model_validate_json(storage.get(bucket, folder + REPORT))
    if report.bundle is None:
        raise SigningError(f"{folder}{REPORT} names no bundle: left as it is")
    bundle = report.bundle.model_copy(update={
        "sha256": hashlib.sha256(renewed).hexdigest(), "signature": "B-LTA"})
    new = json_bytes(report.model_copy(update={"bundle": bundle}).model_dump(mode="json"))
    version = keep_previous_version(storage, places, new)
    put_verified(storage, Place(bucket, folder), BUNDLE, renewed, "application/pdf")
    put_verified(storage, Place(bucket, folder), REPORT, new, "application/json")
    return version


@flow(name="renew-timestamps", log_prints=False)
def renew_timestamps(within_days: int | None = None) -> list[dict[str, str]]:
    """Renew the archive's timestamps that expire within ``within_days`` (default:
    SOHOA_RETIMESTAMP_WITHIN_DAYS); a table artifact lists every bundle."""
    from prefect.artifacts import create_table_artifact

    settings = Settings.from_env()
    storage = settings.storage.open()
    within = timedelta(days=within_days or settings.retimestamp_within_days)
    results = renew_archive(storage, settings.storage.archive,
                            archival=build_archival(settings), within=within,
                            now=datetime.now(UTC))
    rows = [asdict(r) for r in results]
    create_table_artifact(rows or [{"key": "-", "action": "no bundles in archive"}],
                          key="renew-timestamps",
                          description="Document timestamps renewed in archive")
    failed = [r for r in results if r.action == "failed"]
    if failed:
        raise SigningError(f"{len(failed)} of {len(results)} bundle(s) could not be renewed; "
                           "see the renew-timestamps table", retryable=True)
    return rows
