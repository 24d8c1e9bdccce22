"""Storage on an S3-compatible server (MinIO, SeaweedFS, AWS) through the minio SDK.

Atomicity: objects up to ``part_size`` (16 MiB) go in one PUT, which S3 makes
visible all at once; larger ones use a multipart upload that becomes visible only
when CompleteMultipartUpload succeeds (the SDK aborts the upload on failure).

Credentials come from the caller (the pipeline never reads the environment) and
never appear in error messages or ``repr``. The HTTP pool has bounded timeouts
(connect 5 s, read 60 s) and few retries (2, on connection errors and 5xx), so an
unreachable server fails within seconds with ``StorageError(retryable=True)`` and
the flow's own retry policy decides what happens next.
"""

from __future__ import annotations

import contextlib
import io
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from pipeline.errors import InputError, ObjectNotFound, StorageError
from pipeline.fileio import CHUNK, atomic_write, file_sha256
from pipeline.storage.base import (
    DEFAULT_CONTENT_TYPE,
    SHA256_META,
    ObjectInfo,
    check_bucket,
    nfd_variant,
    normalize_key,
    normalize_prefix,
    sha256_bytes,
)
from pipeline.storage.local import os_errors

PART_SIZE = 16 * 1024 * 1024
_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NoSuchObject", "NotFound", "ResourceNotFound"}
_DENIED = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
    "AccountProblem", "InvalidToken", "ExpiredToken",
}
_TRANSIENT = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Busy"}
_META_HEADER = f"x-amz-meta-{SHA256_META}"


def _parse_endpoint(endpoint: str, secure: bool) -> str:
    """``host:port`` from ``host:port`` or ``http(s)://host:port`` (scheme must match)."""
    if "://" not in endpoint:
        return endpoint
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or not parts.netloc:
        raise InputError("S3 endpoint must be host:port or http(s)://host:port")
    if (parts.scheme == "https") != secure:
        raise InputError("S3 endpoint scheme does not match the 'secure' setting")
    return parts.netloc


class S3Storage:
    """:class:`~pipeline.storage.base.Storage` over an S3 endpoint."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        secure: bool,
        region: str | None = None,
        ca_certs: Path | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 2,
    ) -> None:
        self._endpoint = _parse_endpoint(endpoint, secure)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=str(ca_certs) if ca_certs is not None else certifi.where(),
            retries=urllib3.Retry(
                total=retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        try:
            self._client = Minio(
                self._endpoint, access_key=access_key, secret_key=secret_key,
                secure=secure, region=region, http_client=http,
            )
        except ValueError as exc:
            raise InputError(f"invalid S3 endpoint {self._endpoint!r}") from exc

    def __repr__(self) -> str:
        return f"S3Storage({self._endpoint!r})"

    # --- error mapping ------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, op: str, where: str) -> Iterator[None]:
        try:
            yield
        except S3Error as exc:
            raise self._s3_error(op, where, exc) from exc
        except ServerError as exc:
            raise StorageError(
                f"S3 {op} {where}: server error (HTTP {exc.status_code})",
                retryable=exc.status_code >= 500 or exc.status_code == 429,
            ) from exc
        except (InvalidResponseError, MinioException) as exc:
            raise StorageError(f"S3 {op} {where}: invalid response from server") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(
                f"S3 {op} {where}: endpoint {self._endpoint} unreachable or timed out "
                f"({type(exc).__name__})",
                retryable=True,
            ) from exc

    @staticmethod
    def _s3_error(op: str, where: str, exc: S3Error) -> StorageError:
        code = exc.code or "unknown"
        status = exc.response.status if exc.response is not None else 0
        if code in _NOT_FOUND:
            what = "bucket" if code == "NoSuchBucket" else "object"
            return ObjectNotFound(f"S3 {op} {where}: {what} does not exist ({code})")
        if code in _DENIED or status in (401, 403):
            return StorageError(f"S3 {op} {where}: access denied ({code})", retryable=False)
        retryable = status >= 500 or status == 429 or code in _TRANSIENT
        return StorageError(f"S3 {op} {where}: {code} (HTTP {status})", retryable=retryable)

    # --- reads --------------------------------------------------------------------
    def _stat(self, bucket: str, key: str) -> tuple[ObjectInfo | None, str]:
        """(info, stored key) trying the NFC key, then its NFD spelling."""
        nfc = normalize_key(key)
        check_bucket(bucket)
        for spelling in (nfc, nfd_variant(nfc)):
            if spelling is None:
                continue
            try:
                with self._errors("head", f"{bucket}/{nfc}"):
                    stat = self._client.stat_object(bucket, spelling)
            except ObjectNotFound:
                continue
            sha = stat.metadata.get(_META_HEADER) if stat.metadata is not None else None
            info = ObjectInfo(
                bucket=bucket, key=nfc, size=stat.size or 0, sha256=sha,
                etag=(stat.etag or "").strip('"') or None, last_modified=stat.last_modified,
            )
            return info, spelling
        return None, nfc

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        return self._stat(bucket, key)[0]

    def _open(self, bucket: str, key: str) -> tuple[urllib3.BaseHTTPResponse, str]:
        nfc = normalize_key(key)
        check_bucket(bucket)
        spellings = [s for s in (nfc, nfd_variant(nfc)) if s is not None]
        for index, spelling in enumerate(spellings):
            try:
                with self._errors("get", f"{bucket}/{nfc}"):
                    return self._client.get_object(bucket, spelling), nfc
            except ObjectNotFound:
                if index == len(spellings) - 1:
                    raise
        raise AssertionError("unreachable")

    def get(self, bucket: str, key: str) -> bytes:
        response, nfc = self._open(bucket, key)
        try:
            with self._errors("get", f"{bucket}/{nfc}"):
                data = response.read()
            _check_sha(response.headers.get(_META_HEADER), sha256_bytes(data), f"{bucket}/{nfc}")
            return data
        finally:
            response.close()
            response.release_conn()

    def get_file(self, bucket: str, key: str, path: Path) -> ObjectInfo:
        response, nfc = self._open(bucket, key)
        where = f"{bucket}/{nfc}"
        try:
            with self._errors("get_file", where), os_errors("get_file", str(path), missing="retry"):
                size, sha = atomic_write(Path(path), response.stream(CHUNK))
            _check_sha(response.headers.get(_META_HEADER), sha, where)
            etag = (response.headers.get("ETag") or "").strip('"') or None
            return ObjectInfo(bucket, nfc, size, sha, etag, None)
        finally:
            response.close()
            response.release_conn()

    def list(
        self, bucket: str, prefix: str = "", *, recursive: bool = True
    ) -> Iterator[ObjectInfo]:
        """Sorted NFC keys; objects stored under NFD names by others are found too.

        If both spellings of one key exist (an outside writer's NFD object and
        ours), it is listed once and ``get`` returns the NFC one.
        """
        check_bucket(bucket)
        norm = normalize_prefix(prefix)
        found: dict[str, ObjectInfo] = {}
        for spelling in (norm, nfd_variant(norm) if norm else None):
            if spelling is None:
                continue
            with self._errors("list", f"{bucket}/{norm}"):
                for obj in self._client.list_objects(
                    bucket, prefix=spelling or None, recursive=recursive
                ):
                    if obj.is_dir or obj.object_name is None:
                        continue
                    key = unicodedata.normalize("NFC", obj.object_name)
                    found.setdefault(key, ObjectInfo(
                        bucket=bucket, key=key, size=obj.size or 0, sha256=None,
                        etag=(obj.etag or "").strip('"') or None,
                        last_modified=obj.last_modified,
                    ))
        return iter([found[k] for k in sorted(found)])

    # --- writes -------------------------------------------------------------------
    def put(
        self, bucket: str, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        nfc = normalize_key(key)
        check_bucket(bucket)
        data = bytes(data)
        sha = sha256_bytes(data)
        with self._errors("put", f"{bucket}/{nfc}"):
            result = self._client.put_object(
                bucket, nfc, io.BytesIO(data), len(data), content_type=content_type,
                metadata={SHA256_META: sha}, part_size=PART_SIZE, num_parallel_uploads=1,
            )
        return _written(bucket, nfc, len(data), sha, result.etag, result.last_modified)

    def put_file(
        self, bucket: str, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        nfc = normalize_key(key)
        check_bucket(bucket)
        source = Path(path)
        if not source.is_file():
            raise InputError(f"put_file: {source.name} is not a readable file")
        sha = file_sha256(source)
        size = source.stat().st_size
        with self._errors("put_file", f"{bucket}/{nfc}"), source.open("rb") as fh:
            result = self._client.put_object(
                bucket, nfc, fh, size, content_type=content_type,
                metadata={SHA256_META: sha}, part_size=PART_SIZE, num_parallel_uploads=1,
            )
        return _written(bucket, nfc, size, sha, result.etag, result.last_modified)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        dst = normalize_key(dst_key)
        check_bucket(dst_bucket)
        info, stored = self._stat(src_bucket, src_key)
        if info is None:
            where = f"{src_bucket}/{normalize_key(src_key)}"
            raise ObjectNotFound(f"S3 copy: object {where} does not exist")
        with self._errors("copy", f"{src_bucket}/{info.key} -> {dst_bucket}/{dst}"):
            result = self._client.copy_object(dst_bucket, dst, CopySource(src_bucket, stored))
        return _written(dst_bucket, dst, info.size, info.sha256, result.etag, result.last_modified)

    def delete(self, bucket: str, key: str) -> None:
        nfc = normalize_key(key)
        check_bucket(bucket)
        for spelling in (nfc, nfd_variant(nfc)):
            if spelling is None:
                continue
            try:
                with self._errors("delete", f"{bucket}/{nfc}"):
                    self._client.remove_object(bucket, spelling)
            except ObjectNotFound:  # missing bucket: nothing to delete
                return

    def ensure_bucket(self, bucket: str) -> None:
        check_bucket(bucket)
        with self._errors("ensure_bucket", bucket):
            if self._client.bucket_exists(bucket):
                return
            try:
                self._client.make_bucket(bucket)
            except S3Error as exc:
                if exc.code != "BucketAlreadyOwnedByYou":  # lost a creation race: fine
                    raise

    def presigned_get_url(self, bucket: str, key: str, *, expires: timedelta) -> str | None:
        """A URL fetchable without credentials for ``expires`` (1 s to 7 days)."""
        if not timedelta(seconds=1) <= expires <= timedelta(days=7):
            raise InputError("presigned URL expiry must be between 1 second and 7 days")
        info, stored = self._stat(bucket, key)
        if info is None:
            raise ObjectNotFound(f"S3 presign: object {bucket}/{normalize_key(key)} does not exist")
        with self._errors("presign", f"{bucket}/{info.key}"):
            return self._client.presigned_get_object(bucket, stored, expires=expires)


def _written(
    bucket: str, key: str, size: int, sha: str | None, etag: str | None,
    last_modified: datetime | None,
) -> ObjectInfo:
    return ObjectInfo(bucket, key, size, sha, (etag or "").strip('"') or None, last_modified)


def _check_sha(recorded: str | None, actual: str, where: str) -> None:
    if recorded is not None and recorded.lower() != actual:
        raise StorageError(f"S3 get {where}: content does not match its recorded sha256")

