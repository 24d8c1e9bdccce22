"""LocalStorage specifics: atomic writes under injected faults, root confinement, odd file names."""

from __future__ import annotations

import errno
import os
import unicodedata
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

import pipeline.fileio as fileio_mod
from pipeline.errors import InputError, ObjectNotFound, StorageError
from pipeline.fileio import TMP_PREFIX
from pipeline.storage import LocalStorage, verify_copy


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    store = LocalStorage(tmp_path / "root")
    store.ensure_bucket("intake")
    return store


def _disk_full_midway(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    os.write(fd, view[: len(view) // 2])
    raise OSError(errno.ENOSPC, "No space left on device")


def test_failed_put_leaves_no_partial_file(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileio_mod, "_write_all", _disk_full_midway)
    with pytest.raises(StorageError) as info:
        storage.put("intake", "cg/HN-1/001.tif", b"x" * 100_000)
    assert info.value.retryable is True
    folder = storage.root / "intake" / "cg" / "HN-1"
    assert not (folder / "001.tif").exists()
    assert list(folder.iterdir()) == []  # the temp file is gone too
    assert storage.head("intake", "cg/HN-1/001.tif") is None


def test_failed_overwrite_keeps_previous_version(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    storage.put("intake", "a.pdf", b"version 1")
    monkeypatch.setattr(fileio_mod, "_write_all", _disk_full_midway)
    with pytest.raises(StorageError):
        storage.put("intake", "a.pdf", b"version 2" * 1000)
    src = tmp_path / "src"
    src.write_bytes(b"from file" * 1000)
    with pytest.raises(StorageError):
        storage.put_file("intake", "a.pdf", src)
    with pytest.raises(StorageError):
        storage.copy("intake", "a.pdf", "intake", "a.pdf")
    assert storage.get("intake", "a.pdf") == b"version 1"
    assert sorted(p.name for p in (storage.root / "intake").iterdir()) == ["a.pdf"]


def test_failed_fsync_leaves_no_partial_file(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(fileio_mod.os, "fsync", broken_fsync)
    with pytest.raises(StorageError) as info:
        storage.put("intake", "b.pdf", b"data")
    monkeypatch.undo()
    assert info.value.retryable is True
    assert list((storage.root / "intake").iterdir()) == []


def test_symlinks_cannot_escape_the_root(storage: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (storage.root / "intake" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError):
        storage.get("intake", "link/secret.txt")
    with pytest.raises(InputError):
        storage.put("intake", "link/new.txt", b"x")
    assert not (outside / "new.txt").exists()
    assert [o.key for o in storage.list("intake")] == []  # symlinks are not followed
    (storage.root / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError):
        storage.get("evil", "secret.txt")
    with pytest.raises(InputError):
        storage.ensure_bucket("evil")


def test_nfd_file_names_written_by_others_are_found(storage: LocalStorage) -> None:
    nfc = unicodedata.normalize("NFC", "Sổ hộ khẩu.jpg")
    nfd = unicodedata.normalize("NFD", nfc)
    folder = storage.root / "intake" / "cg"
    folder.mkdir()
    (folder / nfd).write_bytes(b"scan")
    assert [o.key for o in storage.list("intake")] == [f"cg/{nfc}"]
    assert storage.get("intake", f"cg/{nfc}") == b"scan"
    info = storage.head("intake", f"cg/{nfc}")
    assert info is not None and info.key == f"cg/{nfc}"
    storage.put("intake", f"cg/{nfc}", b"rescanned")  # replaces the NFD twin
    assert [p.name for p in folder.iterdir()] == [nfc]
    storage.delete("intake", f"cg/{nfd}")
    assert not (storage.root / "intake" / "cg").exists()  # empty folders are pruned


def test_temp_files_are_hidden_and_reserved(storage: LocalStorage) -> None:
    (storage.root / "intake" / f"{TMP_PREFIX}abc").write_bytes(b"half")
    storage.put("intake", "real", b"x")
    assert [o.key for o in storage.list("intake")] == ["real"]
    with pytest.raises(InputError):
        storage.put("intake", f"x/{TMP_PREFIX}1", b"x")


def test_key_conflicting_with_a_folder(storage: LocalStorage) -> None:
    storage.put("intake", "a/b", b"file")
    with pytest.raises(StorageError) as info:
        storage.put("intake", "a/b/c", b"under a file")
    assert info.value.retryable is False
    storage.put("intake", "x/y/z", b"deep")
    with pytest.raises(StorageError):
        storage.put("intake", "x/y", b"over a folder")
    assert storage.head("intake", "x/y") is None
    with pytest.raises(InputError):
        storage.put("intake", "s" * 256, b"segment too long for the file system")


def test_put_into_missing_bucket(storage: LocalStorage) -> None:
    with pytest.raises(ObjectNotFound):
        storage.put("archive", "k", b"x")


def test_file_url_and_cross_storage_verify(storage: LocalStorage, tmp_path: Path) -> None:
    storage.put("intake", "Hồ sơ/1.png", b"png bytes")
    url = storage.presigned_get_url("intake", "Hồ sơ/1.png", expires=timedelta(minutes=5))
    assert url is not None and url.startswith("file://")
    with urllib.request.urlopen(url) as response:  # noqa: S310 - a file:// URL we made
        assert response.read() == b"png bytes"
    with pytest.raises(ObjectNotFound):
        storage.presigned_get_url("intake", "none", expires=timedelta(minutes=5))
    other = LocalStorage(tmp_path / "other")
    other.ensure_bucket("archive")
    other.put("archive", "1.png", b"png bytes")
    assert verify_copy(storage, "intake", "Hồ sơ/1.png", "archive", "1.png", dst_storage=other)


def test_written_files_are_readable_by_others(storage: LocalStorage) -> None:
    storage.put("intake", "perm", b"x")
    assert (storage.root / "intake" / "perm").stat().st_mode & 0o777 == 0o644


def test_long_vietnamese_name_whose_decomposed_form_would_not_fit(storage: LocalStorage) -> None:
    name = ("hồ sơ công dân rất dài " * 8).strip() + ".jpg"  # 251 bytes composed
    assert len(unicodedata.normalize("NFD", name).encode()) > 255
    storage.put("intake", name, b"x")
    storage.copy("intake", name, "intake", "originals/" + name)
    assert storage.get("intake", "originals/" + name) == b"x"
    storage.delete("intake", name)
    assert storage.head("intake", name) is None
    with pytest.raises(ObjectNotFound):
        storage.get("intake", name)


def test_buckets_can_be_folders_of_their_own(tmp_path: Path) -> None:
    """How ``sohoa process`` reads its input folder and writes its output folder."""
    src, out = tmp_path / "a dossier", tmp_path / "elsewhere" / "out"
    src.mkdir()
    (src / "001.png").write_bytes(b"page")
    storage = LocalStorage.of_folders({"input": src, "output": out})
    storage.ensure_bucket("output")
    storage.copy("input", "001.png", "output", "originals/001.png")
    assert (out / "originals" / "001.png").read_bytes() == b"page"
    assert [o.key for o in storage.list("input")] == ["001.png"]
    with pytest.raises(ObjectNotFound):
        storage.get("archive", "001.png")  # no other bucket exists
