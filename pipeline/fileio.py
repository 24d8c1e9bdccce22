"""Small file helpers shared by the pipeline, the storage backends and the flows.

Atomic writes: content goes to a temp file (``.sohoa-tmp-*``) in the target's
own folder, is fsynced, then ``os.replace``-d over the final name and the
folder is fsynced; on any failure the temp file is removed, so the final path
holds either the previous file or the complete new one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

CHUNK = 1024 * 1024
TMP_PREFIX = ".sohoa-tmp-"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` to ``fd`` (handles short writes)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view[:CHUNK])
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(final: Path, chunks: Iterable[bytes]) -> tuple[int, str]:
    """Write ``chunks`` to ``final`` atomically; return (size, sha256)."""
    for attempt in range(3):  # a concurrent delete may prune the empty parent folder
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, dir=final.parent)
            break
        except FileNotFoundError:
            if attempt == 2:
                raise
    tmp = Path(tmp_name)
    digest, size = hashlib.sha256(), 0
    try:
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
                digest.update(chunk)
                size += len(chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)
    return size, digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never half of it; a failed
    write leaves the old file and no temporary file."""
    atomic_write(path, [data])


def nfc(name: str) -> str:
    """File names are compared and reported in Unicode NFC (a Vietnamese name may
    arrive decomposed, NFD, from some systems)."""
    return unicodedata.normalize("NFC", name)
