"""Delivering a dossier (docs/contracts.md §2), over the storage interface only.

One path for the deployed system and the CLI: the same :func:`deliver` writes,
in this order, ``bundle.pdf``, the untouched originals under ``originals/``,
unreadable inputs to quarantine with one ``reason.json``, and ``report.json``
last, each atomically and read back (sha256); only then, when the dossier was
taken from intake, are its objects deleted there, the manifest last. Where
those places are (three buckets, or the CLI's input and output folders) is a
:class:`Places` value. Idempotent: a retry after a partial delivery finishes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from models.schemas import QuarantineEntry, QuarantineFile, QuarantineReason, Report
from pipeline.errors import ObjectNotFound, StorageError
from pipeline.fileio import file_sha256
from pipeline.storage.base import Storage, object_sha256, sha256_bytes, verify_copy
from pipeline.storage.config import StorageConfig

MANIFEST = "manifest.json"
REASON = "reason.json"
REPORT = "report.json"
ORIGINALS = "originals/"
VERSIONS = "versions/"
PRESIGN_TTL = timedelta(days=7)


def dossier_prefix(branch: str, dossier_id: str) -> str:
    return f"{branch}/{dossier_id}/"


@dataclass(frozen=True)
class Place:
    """A bucket and a key prefix ("" or ending in "/")."""

    bucket: str
    prefix: str = ""

    def key(self, name: str) -> str:
        return self.prefix + name


@dataclass(frozen=True)
class Places:
    """Where a dossier comes from and where its results go."""

    intake: Place
    archive: Place
    quarantine: Place
    dossier_id: str
    branch: str

    @property
    def originals(self) -> Place:
        """The untouched originals of the version in archive."""
        return Place(self.archive.bucket, self.archive.prefix + ORIGINALS)

    @property
    def versions(self) -> Place:
        """Earlier versions of the dossier, one folder each (``versions/{stamp}/``)."""
        return Place(self.archive.bucket, self.archive.prefix + VERSIONS)

    @classmethod
    def in_buckets(cls, config: StorageConfig, branch: str, dossier_id: str) -> Places:
        """The deployed layout: ``{bucket}/{branch}/{dossier_id}/`` in each bucket."""
        prefix = dossier_prefix(branch, dossier_id)
        return cls(Place(config.intake, prefix), Place(config.archive, prefix),
                   Place(config.quarantine, prefix), dossier_id=dossier_id, branch=branch)


# --- reading a dossier from intake ---------------------------------------------------
@dataclass(frozen=True)
class IntakeDossier:
    """What a dossier holds: its manifest and its objects (names, in name order)."""

    manifest: bytes | None
    names: tuple[str, ...]  # every object of the dossier, manifest included

    def page_names(self, listed: Iterable[str] | None) -> tuple[str, ...]:
        """Pages in processing order: the manifest's list, else every object but the
        manifest and hidden names (what is not a page is reported, not skipped)."""
        if listed:
            return tuple(listed)
        return tuple(n for n in self.names if n != MANIFEST and not n.startswith("."))


def read_intake(storage: Storage, place: Place) -> IntakeDossier:
    """The objects directly under ``place`` (not in sub-folders) and the manifest."""
    names = tuple(sorted(o.key[len(place.prefix):] for o in storage.list(place.bucket,
                                                                          place.prefix)
                         if "/" not in o.key[len(place.prefix):]))
    manifest = None
    if MANIFEST in names:
        try:
            manifest = storage.get(place.bucket, place.key(MANIFEST))
        except ObjectNotFound:
            manifest = None
    return IntakeDossier(manifest=manifest, names=names)


# --- verified writes -------------------------------------------------------------------
def json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def put_verified(storage: Storage, place: Place, name: str, data: bytes | Path,
                 content_type: str = "application/octet-stream", *,
                 sha256: str | None = None) -> str:
    """Store ``data`` (bytes, or a local file streamed, never whole in memory) atomically
    and read it back: its sha256, or StorageError (retryable). ``sha256``: the file's
    digest when the caller has it already (the stored object must read back as it)."""
    key = place.key(name)
    if isinstance(data, Path):
        expected = sha256 or file_sha256(data)
        storage.put_file(place.bucket, key, data, content_type=content_type)
    else:
        expected = sha256_bytes(data)
        storage.put(place.bucket, key, data, content_type=content_type)
    if object_sha256(storage, place.bucket, key, trust_metadata=False) != expected:
        raise StorageError(f"{place.bucket}/{key} does not read back as written",
                           retryable=True)
    return expected


def copy_verified(storage: Storage, src: tuple[str, str], dst: tuple[str, str]) -> None:
    storage.copy(src[0], src[1], dst[0], dst[1])
    if not verify_copy(storage, src[0], src[1], dst[0], dst[1]):
        raise StorageError(f"copy of {src[0]}/{src[1]} to {dst[0]} does not match its source",
                           retryable=True)


def presigned_link(storage: Storage, place: Place, name: str) -> str | None:
    try:
        return storage.presigned_get_url(place.bucket, place.key(name), expires=PRESIGN_TTL)
    except StorageError:
        return None


# --- quarantine ----------------------------------------------------------------------
def quarantine(storage: Storage, places: Places, names: Iterable[str],
               reason: QuarantineReason) -> None:
    """Copy ``names`` from intake to quarantine, verified, then write ``reason.json``."""
    for name in names:
        src = (places.intake.bucket, places.intake.key(name))
        if storage.head(*src) is None:
            continue  # listed but never handed in, or cleared by an earlier attempt
        copy_verified(storage, src, (places.quarantine.bucket, places.quarantine.key(name)))
    put_verified(storage, places.quarantine, REASON,
                 json_bytes(reason.model_dump(mode="json")), "application/json")


def refuse(storage: Storage, places: Places, intake: IntakeDossier, why: str, *,
           consume_intake: bool) -> None:
    """A dossier that cannot be processed at all (its manifest): all of it to quarantine."""
    files = tuple(QuarantineFile(source=n, reasons=(QuarantineEntry(error=why),))
                  for n in intake.names)
    quarantine(storage, places, intake.names, QuarantineReason(
        dossier_id=places.dossier_id, branch=places.branch, reason=why, files=files))
    if consume_intake:
        clear_intake(storage, places.intake, intake.names)


def clear_intake(storage: Storage, place: Place, names: Iterable[str]) -> None:
    """Delete a dossier's objects from intake, its manifest last."""
    for name in sorted(names, key=lambda n: n == MANIFEST):
        storage.delete(place.bucket, place.key(name))


# --- the delivery ------------------------------------------------------------------------
def deliver(storage: Storage, places: Places, intake: IntakeDossier, *, bundle: Path | None,
            report: Report, consume_intake: bool) -> str | None:
    """Store the results and originals, verified; a link to the bundle if there is one.

    A version delivered before is kept first (:func:`keep_previous_version`), never
    overwritten."""
    report_bytes = json_bytes(report.model_dump(mode="json"))
    keep_previous_version(storage, places, report_bytes)
    if bundle is not None:
        put_verified(storage, places.archive, "bundle.pdf", bundle, "application/pdf",
                     sha256=report.bundle.sha256 if report.bundle else None)
    elif storage.head(places.archive.bucket, places.archive.key("bundle.pdf")) is not None:
        storage.delete(places.archive.bucket, places.archive.key("bundle.pdf"))  # kept above
    if places.intake != places.originals:  # not re-opened from the archive's own originals
        for name in intake.names:
            src = (places.intake.bucket, places.intake.key(name))
            dst = (places.archive.bucket, places.originals.key(name))
            if storage.head(*src) is None and storage.head(*dst) is not None:
                continue  # a retry after intake was partly cleared: archived and verified before
            copy_verified(storage, src, dst)
        for name in set(list_names(storage, places.originals)) - set(intake.names):
            storage.delete(places.archive.bucket, places.originals.key(name))  # kept above
    bad = bad_inputs(report)
    if bad:
        quarantine(storage, places, [f.source for f in bad if f.source in intake.names],
                   QuarantineReason(dossier_id=places.dossier_id, branch=places.branch,
                                    files=bad))
    put_verified(storage, places.archive, REPORT, report_bytes, "application/json")
    if consume_intake:
        clear_intake(storage, places.intake, intake.names)
    return None if bundle is None else presigned_link(storage, places.archive, "bundle.pdf")


def list_names(storage: Storage, place: Place) -> list[str]:
    """Names of the objects under ``place`` (sub-folders included, relative)."""
    return [o.key[len(place.prefix):] for o in storage.list(place.bucket, place.prefix)]


def delivered_report(storage: Storage, places: Places) -> Report | None:
    """The report of the version in archive, if the dossier was delivered before."""
    try:
        return Report.model_validate_json(storage.get(places.archive.bucket,
                                                      places.archive.key(REPORT)))
    except ObjectNotFound:
        return None


def keep_previous_version(storage: Storage, places: Places, new: bytes) -> str | None:
    """Copy the version in archive (report, bundle, originals) to ``versions/{stamp}/``,
    verified, before a new one replaces it; its folder name, or None if there is none.

    The stamp is the old report's own time and digest, so a retried delivery finds the
    copy it made before and adds nothing; the report is copied last (it completes the
    copy). ``new``: the report about to be stored."""
    try:
        old = storage.get(places.archive.bucket, places.archive.key(REPORT))
    except ObjectNotFound:
        return None
    if old == new:
        return None  # a retry after this very report was stored: nothing to keep
    generated = Report.model_validate_json(old).generated_at
    when = generated.strftime("%Y%m%dT%H%M%S") if generated else "undated"
    folder = Place(places.archive.bucket,
                   f"{places.versions.prefix}{when}-{sha256_bytes(old)[:8]}/")
    names = ["bundle.pdf", *(ORIGINALS + n for n in list_names(storage, places.originals))]
    for name in names:
        src = (places.archive.bucket, places.archive.key(name))
        dst = (folder.bucket, folder.key(name))
        if storage.head(*dst) is None and storage.head(*src) is not None:
            copy_verified(storage, src, dst)
    if storage.head(folder.bucket, folder.key(REPORT)) is None:
        put_verified(storage, folder, REPORT, old, "application/json")
    return folder.prefix


def bad_inputs(report: Report) -> tuple[QuarantineFile, ...]:
    """The report's unreadable pages, grouped by input (the quarantine's reasons)."""
    bad: dict[str, list[QuarantineEntry]] = {}
    for p in report.pages:
        if p.error is not None:
            bad.setdefault(p.source, []).append(
                QuarantineEntry(source_page=p.source_page, error=p.error))
    return tuple(QuarantineFile(source=s, reasons=tuple(r)) for s, r in bad.items())
