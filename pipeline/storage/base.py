"""The storage interface shared by the local-folder and S3 backends.

Objects live in *buckets* under *keys* (docs/contracts.md §2: ``intake``, ``archive``,
``quarantine``). Both backends implement :class:`Storage` with the same behaviour:

* **Keys** are checked and normalised by :func:`normalize_key` before any use:
  Unicode NFC (scanner stations send Vietnamese file names in NFC or NFD; both
  name the same object, and keys are always *stored and reported* in NFC). An
  object that an outside writer stored under the NFD form is still found by its
  NFC key (get/head/copy/delete fall back to the NFD spelling). Rejected with
  :class:`~pipeline.errors.InputError`: empty keys, keys over 1024 UTF-8 bytes,
  a leading ``/``, backslashes, NUL or other control characters, and empty,
  ``.`` or ``..`` path segments (so a key always maps to one local file path).
* **Bucket** names follow the S3 rules (3-63 of ``a-z 0-9 . -``).
* **put is atomic**: a reader sees the old object, nothing, or the whole new one,
  never a partial write (local: temp file in the same folder, fsync, rename; S3:
  one PUT, or for large objects a multipart upload that becomes visible only when
  completed, and is aborted on failure).
* **sha256**: ``put`` records the content's sha256 (S3 user metadata
  ``x-amz-meta-sha256``; local: computed from the file on ``head``). ``list``
  never fills it in (``sha256=None``); ``head`` does when it can.
* **Errors**: missing object or bucket -> :class:`ObjectNotFound`; connection
  problems, timeouts, 5xx -> ``StorageError(retryable=True)``; access denied and
  other refusals -> ``StorageError(retryable=False)``. Messages never carry
  credentials.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from pipeline.errors import InputError, ObjectNotFound

MAX_KEY_BYTES = 1024
SHA256_META = "sha256"  # S3 user metadata name (header x-amz-meta-sha256)
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ObjectInfo:
    """What storage knows about one object (``sha256`` None when not known)."""

    bucket: str
    key: str
    size: int
    sha256: str | None
    etag: str | None
    last_modified: datetime | None


@runtime_checkable
class Storage(Protocol):
    """Buckets of objects under keys; see the module docstring for the shared rules."""

    def get(self, bucket: str, key: str) -> bytes:
        """The whole object. ObjectNotFound if it (or the bucket) does not exist."""
        ...

    def get_file(self, bucket: str, key: str, path: Path) -> ObjectInfo:
        """Stream the object into ``path`` (written atomically)."""
        ...

    def put(
        self, bucket: str, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store ``data`` atomically (replacing any object under ``key``)."""
        ...

    def put_file(
        self, bucket: str, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store the content of the local file ``path`` atomically."""
        ...

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """Object info with sha256 when known, or None if there is no such object."""
        ...

    def list(
        self, bucket: str, prefix: str = "", *, recursive: bool = True
    ) -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, sorted by key.

        Not recursive: only keys with no ``/`` after the prefix (no folder entries).
        """
        ...

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        """Copy one object (server-side on S3; sha256 metadata travels with it)."""
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...

    def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket unless it exists."""
        ...

    def presigned_get_url(self, bucket: str, key: str, *, expires: timedelta) -> str | None:
        """A URL to fetch the object without credentials (S3), a file:// URL (local)."""
        ...


# --- key and bucket rules --------------------------------------------------------
def normalize_key(key: str) -> str:
    """Check ``key`` and return its NFC form; InputError if it is unsafe (see module doc)."""
    if not isinstance(key, str) or not key:
        raise InputError("storage key is empty")
    nfc = unicodedata.normalize("NFC", key)
    _check_path_like(nfc, what="key")
    if nfc.endswith("/"):
        raise InputError("storage key must not end with '/'")
    if len(nfc.encode("utf-8")) > MAX_KEY_BYTES:
        raise InputError(f"storage key is longer than {MAX_KEY_BYTES} bytes")
    return nfc


def normalize_prefix(prefix: str) -> str:
    """Like :func:`normalize_key` but allows ``""`` and a trailing ``/``."""
    if prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise InputError("storage prefix is not text")
    nfc = unicodedata.normalize("NFC", prefix)
    if nfc.startswith("/"):
        raise InputError("storage prefix must not start with '/'")
    _check_path_like(nfc.removesuffix("/"), what="prefix")
    if len(nfc.encode("utf-8")) > MAX_KEY_BYTES:
        raise InputError(f"storage prefix is longer than {MAX_KEY_BYTES} bytes")
    return nfc


def _check_path_like(value: str, *, what: str) -> None:
    if _CONTROL_RE.search(value):
        raise InputError(f"storage {what} contains NUL or control characters")
    if "\\" in value:
        raise InputError(f"storage {what} contains a backslash")
    if value.startswith("/"):
        raise InputError(f"storage {what} must not start with '/'")
    for segment in value.split("/"):
        if segment in ("", ".", ".."):
            raise InputError(f"storage {what} has an empty, '.' or '..' segment")


def nfd_variant(key: str) -> str | None:
    """The NFD spelling of an NFC key when it differs (for objects written by others)."""
    nfd = unicodedata.normalize("NFD", key)
    return nfd if nfd != key else None


def check_bucket(bucket: str) -> str:
    """Return ``bucket`` if it is a valid S3 bucket name, else raise InputError."""
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise InputError("invalid bucket name (3-63 characters of a-z, 0-9, '.', '-')")
    return bucket


# --- helpers over any Storage ---------------------------------------------------------
def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def object_sha256(storage: Storage, bucket: str, key: str, *, trust_metadata: bool = True) -> str:
    """sha256 of an object: from its metadata if recorded (and trusted), else by reading it."""
    if trust_metadata:
        info = storage.head(bucket, key)
        if info is None:
            raise ObjectNotFound(f"object {bucket}/{normalize_key(key)} does not exist")
        if info.sha256 is not None:
            return info.sha256
    return sha256_bytes(storage.get(bucket, key))


def verify_copy(
    storage: Storage,
    src_bucket: str,
    src_key: str,
    dst_bucket: str,
    dst_key: str,
    *,
    dst_storage: Storage | None = None,
) -> bool:
    """True if the destination's *content* hashes to the source's sha256.

    The source hash comes from its metadata when recorded (else it is read);
    the destination is always read in full, because a server-side copy carries
    the source's metadata and would otherwise prove nothing. A missing object
    raises ObjectNotFound.
    """
    expected = object_sha256(storage, src_bucket, src_key)
    actual = object_sha256(dst_storage or storage, dst_bucket, dst_key, trust_metadata=False)
    return expected == actual
