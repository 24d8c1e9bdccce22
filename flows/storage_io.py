"""The deployed system's buckets (CONTRACTS.md §2) as seen by the flows.

Where storage is (a local folder, or an S3 server with its credentials) comes
from the environment of the worker only, never from a flow parameter:

| variable | meaning |
|---|---|
| ``SOHOA_S3_ENDPOINT`` | ``http(s)://host:port`` or ``host:port``: use S3 (else the local folder) |
| ``SOHOA_S3_ACCESS_KEY``, ``SOHOA_S3_SECRET_KEY`` | S3 credentials |
| ``SOHOA_S3_SECURE`` | ``true``/``false`` for a bare ``host:port`` (default true) |
| ``SOHOA_S3_REGION`` | region (default ``us-east-1``) |
| ``SOHOA_STORAGE_ROOT`` | local-folder storage root (default ``$SOHOA_STATE_DIR/storage``) |
| ``SOHOA_BUCKET_INTAKE``, ``..._ARCHIVE``, ``..._QUARANTINE`` | bucket names |

Keys: ``intake/{branch}/{dossier_id}/{page files}`` sealed by ``manifest.json``;
results under ``archive/{branch}/{dossier_id}/`` (``bundle.pdf``, ``report.json``,
``originals/``); unreadable inputs under ``quarantine/{branch}/{dossier_id}/``
with ``reason.json`` beside them. Every write is atomic (one PUT or a completed
multipart upload; rename on the local folder), and every copy is verified by
sha256 before anything is deleted from intake.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from flows.settings import Settings
from pipeline.errors import ObjectNotFound, StorageError
from pipeline.storage import LocalStorage, S3Storage, Storage, verify_copy
from pipeline.storage.base import object_sha256

MANIFEST = "manifest.json"
PAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".pdf")
PRESIGN_TTL = timedelta(days=7)


class StorageConfig(BaseModel):
    """Where the buckets are. Secrets are SecretStr: never printed, never a parameter."""

    model_config = ConfigDict(frozen=True)

    endpoint: str | None = None  # None: local folder at ``root``
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    secure: bool = True
    region: str = "us-east-1"
    root: Path | None = None
    intake: str = "intake"
    archive: str = "archive"
    quarantine: str = "quarantine"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageConfig:
        env = os.environ if environ is None else environ
        endpoint = env.get("SOHOA_S3_ENDPOINT") or None
        secure = env.get("SOHOA_S3_SECURE", "true").strip().lower() not in ("0", "false", "no")
        if endpoint and "://" in endpoint:
            secure = endpoint.startswith("https://")
        root = env.get("SOHOA_STORAGE_ROOT")
        return cls(
            endpoint=endpoint,
            access_key=SecretStr(env.get("SOHOA_S3_ACCESS_KEY", "")),
            secret_key=SecretStr(env.get("SOHOA_S3_SECRET_KEY", "")),
            secure=secure,
            region=env.get("SOHOA_S3_REGION", "us-east-1"),
            root=Path(root) if root else Settings.from_env(env).state_dir / "storage",
            intake=env.get("SOHOA_BUCKET_INTAKE", "intake"),
            archive=env.get("SOHOA_BUCKET_ARCHIVE", "archive"),
            quarantine=env.get("SOHOA_BUCKET_QUARANTINE", "quarantine"),
        )

    def open(self) -> Storage:
        if self.endpoint:
            assert self.access_key is not None and self.secret_key is not None
            return S3Storage(self.endpoint, self.access_key.get_secret_value(),
                             self.secret_key.get_secret_value(), secure=self.secure,
                             region=self.region)
        assert self.root is not None
        return LocalStorage(self.root)

    def buckets(self) -> tuple[str, str, str]:
        return self.intake, self.archive, self.quarantine


@functools.lru_cache(maxsize=4)
def _open_cached(config: StorageConfig) -> Storage:
    return config.open()


def storage_from_env() -> tuple[StorageConfig, Storage]:
    """The configured storage (one client per configuration and process)."""
    config = StorageConfig.from_env()
    return config, _open_cached(config)


def ensure_buckets(config: StorageConfig, storage: Storage) -> None:
    for bucket in config.buckets():
        storage.ensure_bucket(bucket)


def dossier_prefix(branch: str, dossier_id: str) -> str:
    return f"{branch}/{dossier_id}/"


def is_page_name(name: str) -> bool:
    return name.lower().endswith(PAGE_SUFFIXES) and not name.startswith(".")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- reading a dossier from intake -------------------------------------------------------
@dataclass(frozen=True)
class IntakeDossier:
    """What a sealed dossier holds in intake: its manifest and its objects (names)."""

    prefix: str
    manifest: bytes | None
    names: tuple[str, ...]  # every object under the prefix, manifest included, in name order

    def page_names(self, listed: Iterable[str] | None) -> tuple[str, ...]:
        """Pages in processing order: the manifest's list, else page files by name."""
        if listed:
            return tuple(listed)
        return tuple(n for n in self.names if n != MANIFEST and is_page_name(n))


def read_intake(storage: Storage, bucket: str, prefix: str) -> IntakeDossier:
    names = tuple(sorted(o.key[len(prefix):] for o in storage.list(bucket, prefix)
                         if "/" not in o.key[len(prefix):]))
    manifest = None
    if MANIFEST in names:
        try:
            manifest = storage.get(bucket, prefix + MANIFEST)
        except ObjectNotFound:
            manifest = None
    return IntakeDossier(prefix=prefix, manifest=manifest, names=names)


def cached_object(work_dir: str, sha256: str) -> Path:
    return Path(work_dir) / "objects" / sha256


def read_object_cached(bucket: str, key: str, sha256: str, work_dir: str) -> bytes:
    """An intake object's bytes: from this machine's work area if there, else from storage."""
    path = cached_object(work_dir, sha256)
    if path.is_file():
        return path.read_bytes()
    _, storage = storage_from_env()
    data = storage.get(bucket, key)
    if sha256_hex(data) != sha256:
        raise StorageError(f"{bucket}/{key} changed while its dossier was processed",
                           retryable=False)
    keep_object(work_dir, sha256, data)
    return data


def forget_objects(work_dir: str, sha256s: Iterable[str]) -> None:
    """Drop a delivered dossier's objects from this machine's work area."""
    for sha in sha256s:
        cached_object(work_dir, sha).unlink(missing_ok=True)


def keep_object(work_dir: str, sha256: str, data: bytes) -> None:
    path = cached_object(work_dir, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{sha256}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# --- writing results ---------------------------------------------------------------------------
def put_verified(storage: Storage, bucket: str, key: str, data: bytes,
                 content_type: str = "application/octet-stream") -> str:
    """Store ``data`` atomically and read it back: its sha256, or StorageError (retryable)."""
    expected = sha256_hex(data)
    storage.put(bucket, key, data, content_type=content_type)
    if object_sha256(storage, bucket, key, trust_metadata=False) != expected:
        raise StorageError(f"{bucket}/{key} does not read back as written", retryable=True)
    return expected


def copy_verified(storage: Storage, src: tuple[str, str], dst: tuple[str, str]) -> None:
    storage.copy(src[0], src[1], dst[0], dst[1])
    if not verify_copy(storage, src[0], src[1], dst[0], dst[1]):
        raise StorageError(f"copy of {src[0]}/{src[1]} to {dst[0]} does not match its source",
                           retryable=True)


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def quarantine_objects(storage: Storage, config: StorageConfig, prefix: str,
                       names: Iterable[str], reason: dict[str, Any]) -> None:
    """Copy ``names`` (under ``prefix`` in intake) to quarantine, verified, with reason.json."""
    for name in names:
        key = prefix + name
        if storage.head(config.intake, key) is None:
            continue
        copy_verified(storage, (config.intake, key), (config.quarantine, key))
    put_verified(storage, config.quarantine, prefix + "reason.json", json_bytes(reason),
                 "application/json")


def clear_intake(storage: Storage, bucket: str, prefix: str, names: Iterable[str]) -> None:
    """Delete a dossier's objects from intake, its manifest last."""
    ordered = sorted(names, key=lambda n: n == MANIFEST)
    for name in ordered:
        storage.delete(bucket, prefix + name)


def presigned_link(storage: Storage, bucket: str, key: str) -> str | None:
    try:
        return storage.presigned_get_url(bucket, key, expires=PRESIGN_TTL)
    except StorageError:
        return None


# --- both ends of the system: a scanner station and the dossier system -------------------
def upload_dossier(storage: Storage, intake: str, folder: Path,
                   manifest: bytes | None = None) -> str:
    """What a scanner station does: every page file, then manifest.json (which seals it).

    Returns the dossier's prefix ``{branch}/{dossier_id}/``.
    """
    from models.schemas import parse_manifest

    data = manifest if manifest is not None else (folder / MANIFEST).read_bytes()
    parsed = parse_manifest(data)
    prefix = dossier_prefix(parsed.branch, parsed.dossier_id)
    pages = sorted(p for p in folder.iterdir() if p.is_file() and is_page_name(p.name))
    for page in pages:
        storage.put_file(intake, prefix + page.name, page)
    storage.put(intake, prefix + MANIFEST, data, content_type="application/json")
    return prefix


def fetch_results(storage: Storage, archive: str, prefix: str, out: Path, *,
                  wait_s: float = 0.0, poll_s: float = 1.0) -> dict[str, Any] | None:
    """What the dossier system does: wait for report.json, then fetch it and the bundle."""
    import time

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
