"""Behaviour shared by both storage backends: every test runs on local and on S3 (SeaweedFS)."""

from __future__ import annotations

import hashlib
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.errors import InputError, ObjectNotFound
from pipeline.storage import LocalStorage, S3Storage, Storage, verify_copy
from tests.s3server import S3Server

NAME_NFC = unicodedata.normalize("NFC", "Giấy khai sinh Nguyễn Văn Đức.tif")
NAME_NFD = unicodedata.normalize("NFD", NAME_NFC)


def _bucket() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Storage, str]]:
    """(storage, fresh bucket) for each backend."""
    storage: Storage
    if request.param == "local":
        storage = LocalStorage(tmp_path / "root")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        storage = S3Storage(server.endpoint, server.access_key, server.secret_key, secure=False)
    bucket = _bucket()
    storage.ensure_bucket(bucket)
    yield storage, bucket


def test_put_get_round_trip_records_sha256(store: tuple[Storage, str]) -> None:
    storage, bucket = store
    data = b"%PDF-1.7 fake\x00\xff" * 1000
    info = storage.put(bucket, "cau-giay/HN-1/001.tif", data, content_type="image/tiff")
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.get(bucket, "cau-giay/HN-1/001.tif") == data
    head = storage.head(bucket, "cau-giay/HN-1/001.tif")
    assert head is not None
    assert (head.size, head.sha256, head.key) == (len(data), info.sha256, "cau-giay/HN-1/001.tif")
    assert head.last_modified is not None
    storage.put(bucket, "cau-giay/HN-1/001.tif", b"v2")  # overwrite replaces
    assert storage.get(bucket, "cau-giay/HN-1/001.tif") == b"v2"
    assert storage.put(bucket, "empty", b"").size == 0
    assert storage.get(bucket, "empty") == b""


def test_put_file_and_get_file(store: tuple[Storage, str], tmp_path: Path) -> None:
    storage, bucket = store
    src = tmp_path / "src.bin"
    data = bytes(range(256)) * 5000
    src.write_bytes(data)
    info = storage.put_file(bucket, "x/src.bin", src)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    out = tmp_path / "out" / "copy.bin"
    out.parent.mkdir()
    got = storage.get_file(bucket, "x/src.bin", out)
    assert out.read_bytes() == data
    assert got.sha256 == info.sha256
    assert [p.name for p in out.parent.iterdir()] == ["copy.bin"]  # no temp file left
    with pytest.raises(InputError):
        storage.put_file(bucket, "x/missing", tmp_path / "does-not-exist")


def test_nfc_and_nfd_keys_name_the_same_object(store: tuple[Storage, str]) -> None:
    storage, bucket = store
    assert NAME_NFC != NAME_NFD
    storage.put(bucket, f"hs/{NAME_NFD}", b"first")
    assert storage.get(bucket, f"hs/{NAME_NFC}") == b"first"
    assert storage.get(bucket, f"hs/{NAME_NFD}") == b"first"
    storage.put(bucket, f"hs/{NAME_NFC}", b"second")
    keys = [o.key for o in storage.list(bucket, "hs/")]
    assert keys == [f"hs/{NAME_NFC}"]
    head = storage.head(bucket, f"hs/{NAME_NFD}")
    assert head is not None and head.key == f"hs/{NAME_NFC}"
    assert storage.get(bucket, f"hs/{NAME_NFD}") == b"second"
    # an NFD prefix lists the same object
    assert [o.key for o in storage.list(bucket, unicodedata.normalize("NFD", "hs/Giấy"))] == keys
    storage.delete(bucket, f"hs/{NAME_NFD}")
    assert storage.head(bucket, f"hs/{NAME_NFC}") is None


def test_list_prefix_sorted_and_non_recursive(store: tuple[Storage, str]) -> None:
    storage, bucket = store
    keys = ["b/2.png", "a/b/10", "a/c", "ab", "a/b/2", "a/b/x/deep", "a/bc", "Đà/1", "a/Ă"]
    for key in keys:
        storage.put(bucket, key, key.encode())
    everything = [o.key for o in storage.list(bucket)]
    assert everything == sorted(keys)
    assert [o.key for o in storage.list(bucket, "a/")] == sorted(k for k in keys if k[:2] == "a/")
    assert [o.key for o in storage.list(bucket, "a/b")] == [
        "a/b/10", "a/b/2", "a/b/x/deep", "a/bc"
    ]
    assert [o.key for o in storage.list(bucket, "a/", recursive=False)] == ["a/bc", "a/c", "a/Ă"]
    assert [o.key for o in storage.list(bucket, "", recursive=False)] == ["ab"]
    assert list(storage.list(bucket, "zzz/")) == []
    sizes = {o.key: o.size for o in storage.list(bucket, "a/b/")}
    assert sizes == {"a/b/10": 6, "a/b/2": 5, "a/b/x/deep": 10}
    assert all(o.sha256 is None for o in storage.list(bucket))


def test_missing_objects_and_buckets(store: tuple[Storage, str]) -> None:
    storage, bucket = store
    assert storage.head(bucket, "nope") is None
    with pytest.raises(ObjectNotFound) as info:
        storage.get(bucket, "nope")
    assert info.value.retryable is False
    missing_bucket = _bucket()
    with pytest.raises(ObjectNotFound):
        storage.get(missing_bucket, "x")
    with pytest.raises(ObjectNotFound):
        list(storage.list(missing_bucket))
    assert storage.head(missing_bucket, "x") is None
    storage.delete(missing_bucket, "x")  # nothing to delete is not an error
    with pytest.raises(ObjectNotFound):
        storage.copy(bucket, "nope", bucket, "dst")


def test_copy_and_verify_copy(store: tuple[Storage, str]) -> None:
    storage, bucket = store
    archive = _bucket()
    storage.ensure_bucket(archive)
    storage.ensure_bucket(archive)  # idempotent
    data = b"original page" * 3000
    src = storage.put(bucket, "cg/HN-1/001.tif", data)
    dst = storage.copy(bucket, "cg/HN-1/001.tif", archive, "cg/HN-1/originals/001.tif")
    assert dst.sha256 == src.sha256 and dst.size == len(data)
    assert storage.get(archive, "cg/HN-1/originals/001.tif") == data
    head = storage.head(archive, "cg/HN-1/originals/001.tif")
    assert head is not None and head.sha256 == src.sha256
    assert verify_copy(storage, bucket, "cg/HN-1/001.tif", archive, "cg/HN-1/originals/001.tif")
    storage.put(archive, "cg/HN-1/originals/001.tif", b"tampered")
    assert not verify_copy(storage, bucket, "cg/HN-1/001.tif", archive, "cg/HN-1/originals/001.tif")
    with pytest.raises(ObjectNotFound):
        verify_copy(storage, bucket, "cg/HN-1/001.tif", archive, "cg/none")


def test_delete(store: tuple[Storage, str]) -> None:
    storage, bucket = store
    storage.put(bucket, "d/1", b"1")
    storage.put(bucket, "d/sub/2", b"2")
    storage.delete(bucket, "d/sub/2")
    assert storage.head(bucket, "d/sub/2") is None
    storage.delete(bucket, "d/sub/2")  # idempotent
    assert [o.key for o in storage.list(bucket)] == ["d/1"]
    storage.put(bucket, "d/sub", b"a key where a folder used to be")
    assert storage.get(bucket, "d/sub") == b"a key where a folder used to be"


BAD_KEYS = [
    "", "../etc/passwd", "a/../../b", "..", "/abs/key", "a\\b", "a\x00b", "a\nb", "a//b",
    "a/./b", "a/", "x" * 1025, "ệ" * 342,
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_unsafe_keys_are_rejected(store: tuple[Storage, str], key: str) -> None:
    storage, bucket = store
    for call in (
        lambda: storage.put(bucket, key, b"x"),
        lambda: storage.get(bucket, key),
        lambda: storage.head(bucket, key),
        lambda: storage.delete(bucket, key),
        lambda: storage.copy(bucket, "ok", bucket, key),
    ):
        with pytest.raises(InputError):
            call()
    assert list(storage.list(bucket)) == []


@pytest.mark.parametrize("bucket", ["../x", "UPPER", "a", "a_b", "-ab", "a..b"])
def test_bad_bucket_names_are_rejected(store: tuple[Storage, str], bucket: str) -> None:
    storage, _ = store
    with pytest.raises(InputError):
        storage.ensure_bucket(bucket)
    with pytest.raises(InputError):
        storage.put(bucket, "k", b"x")


def test_key_of_1024_bytes_is_accepted_by_rules(store: tuple[Storage, str]) -> None:
    storage, bucket = store
    key = "/".join(["ệ" * 50] * 6) + "/" + "x" * 118  # 6 * (150 + 1) + 118 bytes
    assert len(key.encode()) == 1024
    storage.put(bucket, key, b"long")
    assert storage.get(bucket, key) == b"long"


def _race(storage: Storage, bucket: str, key: str, data: bytes, allowed: set[bytes]) -> int:
    """Put ``data`` while another thread reads; every read must be complete. Returns reads."""
    seen: list[bytes | None] = []
    errors: list[BaseException] = []
    done, reading = threading.Event(), threading.Event()

    def reader() -> None:
        try:
            while True:
                reading.set()
                finished = done.is_set()
                try:
                    seen.append(storage.get(bucket, key))
                except ObjectNotFound:
                    seen.append(None)
                if finished:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        reading.wait()
        storage.put(bucket, key, data)
    finally:
        done.set()
        thread.join()
    assert not errors, errors
    for got in seen:
        assert got is None or got in allowed, f"partial read of {0 if got is None else len(got)}"
    assert seen[-1] == data
    return len(seen)


def test_put_is_atomic_for_concurrent_readers(store: tuple[Storage, str]) -> None:
    storage, bucket = store
    v1 = b"\x01" * (20 * 1024 * 1024)  # > 16 MiB: a multipart upload on S3
    v2 = b"\x02" * (20 * 1024 * 1024 + 123)
    assert _race(storage, bucket, "big.pdf", v1, {v1}) >= 1
    assert _race(storage, bucket, "big.pdf", v2, {v1, v2}) >= 1

