"""Storage in a local folder: ``root/<bucket>/<key>`` (the CLI's no-server default).

Atomic writes (:func:`pipeline.fileio.atomic_write`): the final path holds
either the previous object or the complete new one. Temp files are never listed.

Paths are confined to the root: keys are checked by ``normalize_key`` and every
resolved path (following symlinks) must stay inside the bucket folder.
``content_type`` is accepted and ignored; sha256 is computed from the file by
``head`` (``list`` leaves it None).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.errors import InputError, ObjectNotFound, StorageError
from pipeline.fileio import CHUNK, TMP_PREFIX, atomic_write, file_sha256
from pipeline.storage.base import (
    DEFAULT_CONTENT_TYPE,
    ObjectInfo,
    check_bucket,
    nfd_variant,
    normalize_key,
    normalize_prefix,
)

MAX_SEGMENT_BYTES = 255


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _storable(key: str | None) -> str | None:
    """``key`` if a file system could hold it (every segment within 255 bytes): the
    decomposed spelling of a long Vietnamese name may not fit where the composed did."""
    if key is None or any(len(s.encode("utf-8")) > MAX_SEGMENT_BYTES for s in key.split("/")):
        return None
    return key


@contextlib.contextmanager
def os_errors(op: str, where: str, *, missing: str = "not_found") -> Iterator[None]:
    """Map OSError to the pipeline's storage errors (``missing``: not_found | retry)."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        message = f"local storage {op} {where} failed: {reason}"
        if isinstance(exc, FileNotFoundError) and missing == "not_found":
            raise ObjectNotFound(f"object {where} does not exist") from exc
        if isinstance(exc, PermissionError):
            raise StorageError(message, retryable=False) from exc
        if isinstance(exc, NotADirectoryError | IsADirectoryError | FileExistsError):
            raise StorageError(
                f"local storage {op} {where}: key conflicts with an existing file or folder",
                retryable=False,
            ) from exc
        if exc.errno == errno.ENAMETOOLONG:
            raise InputError(f"storage key too long for the local file system: {where}") from exc
        raise StorageError(message, retryable=True) from exc


class LocalStorage:
    """:class:`~pipeline.storage.base.Storage` over a folder; bucket = subfolder of ``root``.

    ``LocalStorage.of_folders({"in": a, "out": b})`` instead maps each bucket to
    a folder of its own: how the CLI reads a dossier folder and writes its output
    folder through the same delivery as the deployed system.
    """

    def __init__(self, root: Path, *, folders: Mapping[str, Path] | None = None) -> None:
        self._root = Path(root).resolve()
        self._folders = {check_bucket(b): Path(f).resolve() for b, f in (folders or {}).items()}

    @classmethod
    def of_folders(cls, folders: Mapping[str, Path]) -> LocalStorage:
        """Buckets that are the given folders (and nothing else)."""
        return cls(Path(os.devnull), folders=folders)

    @property
    def root(self) -> Path:
        return self._root

    def __repr__(self) -> str:
        return f"LocalStorage({str(self._root)!r})"

    # --- paths --------------------------------------------------------------------
    def _bucket_dir(self, bucket: str) -> Path:
        if bucket in self._folders:
            return self._folders[bucket]
        folder = self._root / check_bucket(bucket)
        if folder.exists() and not folder.resolve().is_relative_to(self._root):
            raise InputError(f"bucket {bucket} resolves outside the storage root")
        return folder

    def _require_bucket(self, bucket: str) -> Path:
        folder = self._bucket_dir(bucket)
        if not folder.is_dir():
            raise ObjectNotFound(f"bucket {bucket} does not exist")
        return folder

    def _confined(self, bucket_dir: Path, key: str) -> Path:
        for segment in key.split("/"):
            if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
                raise InputError("storage key has a path segment over 255 bytes")
            if segment.startswith(TMP_PREFIX):
                raise InputError(f"storage key segments must not start with {TMP_PREFIX!r}")
        path = bucket_dir / key
        if not path.resolve().is_relative_to(bucket_dir.resolve()):
            raise InputError("storage key resolves outside its bucket")
        return path

    def _path(self, bucket: str, key: str) -> tuple[Path, str]:
        nfc = normalize_key(key)
        return self._confined(self._require_bucket(bucket), nfc), nfc

    def _existing(self, bucket: str, key: str) -> tuple[Path | None, str]:
        """Path of the stored object (NFC name, else an NFD name written by others)."""
        nfc = normalize_key(key)
        folder = self._bucket_dir(bucket)
        if not folder.is_dir():
            return None, nfc
        for spelling in (nfc, _storable(nfd_variant(nfc))):
            if spelling is not None:
                path = self._confined(folder, spelling)
                if path.is_file():
                    return path, nfc
        return None, nfc

    def _info(self, bucket: str, key: str, path: Path, sha256: str | None) -> ObjectInfo:
        st = path.stat()
        return ObjectInfo(
            bucket=bucket, key=key, size=st.st_size, sha256=sha256,
            etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        )

    def _drop_nfd_twin(self, final: Path, bucket: str, key: str) -> None:
        nfd = _storable(nfd_variant(key))
        if nfd is not None:
            twin = self._confined(self._bucket_dir(bucket), nfd)
            # on normalising file systems (macOS) the "twin" is the file itself
            if twin != final and twin.is_file() and not os.path.samefile(twin, final):
                twin.unlink(missing_ok=True)

    # --- Storage ------------------------------------------------------------------
    def get(self, bucket: str, key: str) -> bytes:
        path, nfc = self._existing(bucket, key)
        where = f"{bucket}/{nfc}"
        if path is None:
            raise ObjectNotFound(f"object {where} does not exist")
        with os_errors("get", where):
            return path.read_bytes()

    def get_file(self, bucket: str, key: str, path: Path) -> ObjectInfo:
        src, nfc = self._existing(bucket, key)
        where = f"{bucket}/{nfc}"
        if src is None:
            raise ObjectNotFound(f"object {where} does not exist")
        with os_errors("get_file", where):
            size, sha = atomic_write(Path(path), file_chunks(src))
            info = self._info(bucket, nfc, src, sha)
        return ObjectInfo(info.bucket, info.key, size, sha, info.etag, info.last_modified)

    def put(
        self, bucket: str, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        return self._write(bucket, key, [data], "put")

    def put_file(
        self, bucket: str, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        source = Path(path)
        if not source.is_file():
            raise InputError(f"put_file: {source.name} is not a readable file")
        return self._write(bucket, key, file_chunks(source), "put_file")

    def _write(self, bucket: str, key: str, chunks: Iterable[bytes], op: str) -> ObjectInfo:
        final, nfc = self._path(bucket, key)
        with os_errors(op, f"{bucket}/{nfc}", missing="retry"):
            size, sha = atomic_write(final, chunks)
            self._drop_nfd_twin(final, bucket, nfc)
            info = self._info(bucket, nfc, final, sha)
        return ObjectInfo(bucket, nfc, size, sha, info.etag, info.last_modified)

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        path, nfc = self._existing(bucket, key)
        if path is None:
            return None
        try:
            with os_errors("head", f"{bucket}/{nfc}"):
                return self._info(bucket, nfc, path, file_sha256(path))
        except ObjectNotFound:  # deleted between the lookup and the read
            return None

    def list(
        self, bucket: str, prefix: str = "", *, recursive: bool = True
    ) -> Iterator[ObjectInfo]:
        folder = self._require_bucket(bucket)
        norm = normalize_prefix(prefix)
        base = norm.rpartition("/")[0]
        start = self._confined(folder, base) if base else folder
        found: builtins.list[ObjectInfo] = []
        with os_errors("list", f"{bucket}/{norm}", missing="retry"):
            if start.is_dir() and not start.is_symlink():
                self._scan(bucket, start, base, norm, recursive, found)
        found.sort(key=lambda info: info.key)
        return iter(found)

    def _scan(
        self, bucket: str, folder: Path, rel: str, prefix: str, recursive: bool,
        out: builtins.list[ObjectInfo],
    ) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(TMP_PREFIX):
                    continue
                key = f"{rel}/{entry.name}" if rel else entry.name
                key = unicodedata.normalize("NFC", key)  # odd on-disk names are listed too
                if entry.is_file(follow_symlinks=False):
                    if key.startswith(prefix):
                        out.append(self._info(bucket, key, Path(entry.path), None))
                elif recursive and entry.is_dir(follow_symlinks=False):
                    sub = key + "/"
                    if sub.startswith(prefix) or prefix.startswith(sub):
                        self._scan(bucket, Path(entry.path), key, prefix, recursive, out)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        normalize_key(dst_key)  # reject bad input before any I/O
        check_bucket(dst_bucket)
        src, src_nfc = self._existing(src_bucket, src_key)
        if src is None:
            raise ObjectNotFound(f"object {src_bucket}/{src_nfc} does not exist")
        return self._write(dst_bucket, dst_key, file_chunks(src), "copy")

    def delete(self, bucket: str, key: str) -> None:
        nfc = normalize_key(key)
        folder = self._bucket_dir(bucket)
        if not folder.is_dir():
            return
        with os_errors("delete", f"{bucket}/{nfc}", missing="retry"):
            for spelling in (nfc, _storable(nfd_variant(nfc))):
                if spelling is None:
                    continue
                path = self._confined(folder, spelling)
                if path.is_file() or path.is_symlink():
                    path.unlink(missing_ok=True)
                    self._prune(path.parent, folder)

    @staticmethod
    def _prune(parent: Path, bucket_dir: Path) -> None:
        """Remove now-empty folders between ``parent`` and the bucket folder."""
        while parent != bucket_dir and parent.is_relative_to(bucket_dir):
            try:
                parent.rmdir()
            except OSError:
                return
            parent = parent.parent

    def ensure_bucket(self, bucket: str) -> None:
        folder = self._bucket_dir(bucket)
        with os_errors("ensure_bucket", bucket, missing="retry"):
            folder.mkdir(parents=True, exist_ok=True)
        if bucket not in self._folders and not folder.resolve().is_relative_to(self._root):
            raise InputError(f"bucket {bucket} resolves outside the storage root")

    def presigned_get_url(self, bucket: str, key: str, *, expires: timedelta) -> str | None:
        """A ``file://`` URL of the object (``expires`` does not apply locally)."""
        path, nfc = self._existing(bucket, key)
        if path is None:
            raise ObjectNotFound(f"object {bucket}/{nfc} does not exist")
        return path.as_uri()

