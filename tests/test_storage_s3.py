"""S3Storage specifics against a real SeaweedFS server: errors, metadata, presigned URLs."""

from __future__ import annotations

import io
import socket
import threading
import unicodedata
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
import urllib3
from minio import Minio
from minio.error import S3Error

from pipeline.errors import InputError, ObjectNotFound, StorageError
from pipeline.storage import S3Storage
from tests.s3server import S3Server


@pytest.fixture
def s3(s3_server: S3Server) -> S3Storage:
    return S3Storage(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)


@pytest.fixture
def raw(s3_server: S3Server) -> Minio:
    """A plain minio client, playing an outside writer (a scanner station)."""
    return Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)


@pytest.fixture
def bucket(s3: S3Storage) -> str:
    name = f"t-{uuid.uuid4().hex[:16]}"
    s3.ensure_bucket(name)
    return name


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_a_retryable_storage_error() -> None:
    storage = S3Storage(f"127.0.0.1:{_closed_port()}", "AK", "SECRET-xyz", secure=False)
    for call in (
        lambda: storage.get("intake", "k"),
        lambda: storage.put("intake", "k", b"x"),
        lambda: storage.head("intake", "k"),
        lambda: list(storage.list("intake")),
        lambda: storage.ensure_bucket("intake"),
    ):
        with pytest.raises(StorageError) as info:
            call()
        assert info.value.retryable is True
        assert not isinstance(info.value, ObjectNotFound)
        assert "SECRET-xyz" not in str(info.value)


def test_silent_server_times_out_as_retryable() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # accepts connections, never answers
        port = listener.getsockname()[1]
        storage = S3Storage(
            f"127.0.0.1:{port}", "AK", "SK", secure=False, region="us-east-1",
            read_timeout=0.5, retries=0,
        )
        with pytest.raises(StorageError) as info:
            storage.get("intake", "k")
    assert info.value.retryable is True


def test_wrong_secret_is_access_denied_not_retryable(s3_server: S3Server, bucket: str) -> None:
    storage = S3Storage(s3_server.endpoint, s3_server.access_key, "wrong-secret-123",
                        secure=False, region="us-east-1")
    with pytest.raises(StorageError) as info:
        storage.put(bucket, "k", b"x")
    assert info.value.retryable is False
    assert not isinstance(info.value, ObjectNotFound)
    assert "wrong-secret-123" not in str(info.value)
    assert "wrong-secret-123" not in repr(storage)


def test_sha256_is_user_metadata_and_survives_copy(s3: S3Storage, raw: Minio, bucket: str) -> None:
    info = s3.put(bucket, "p/1.tif", b"tiff", content_type="image/tiff")
    stat = raw.stat_object(bucket, "p/1.tif")
    assert stat.metadata is not None
    assert stat.metadata["x-amz-meta-sha256"] == info.sha256
    assert stat.content_type == "image/tiff"
    s3.copy(bucket, "p/1.tif", bucket, "archive/1.tif")
    head = s3.head(bucket, "archive/1.tif")
    assert head is not None and head.sha256 == info.sha256


def test_get_detects_content_not_matching_recorded_sha256(
    s3: S3Storage, raw: Minio, bucket: str
) -> None:
    raw.put_object(bucket, "bad", io.BytesIO(b"abc"), 3, metadata={"sha256": "0" * 64})
    with pytest.raises(StorageError):
        s3.get(bucket, "bad")


def test_objects_written_by_others_under_nfd_names(s3: S3Storage, raw: Minio, bucket: str) -> None:
    nfc = unicodedata.normalize("NFC", "cg/HN-2/Chứng minh thư.jpg")
    nfd = unicodedata.normalize("NFD", nfc)
    raw.put_object(bucket, nfd, io.BytesIO(b"jpeg"), 4)  # no sha256 metadata
    assert [o.key for o in s3.list(bucket, "cg/")] == [nfc]
    assert s3.get(bucket, nfc) == b"jpeg"
    head = s3.head(bucket, nfc)
    assert head is not None and head.sha256 is None and head.key == nfc
    copied = s3.copy(bucket, nfc, bucket, "archive/x.jpg")
    assert copied.size == 4
    s3.delete(bucket, nfc)
    assert list(s3.list(bucket, "cg/")) == []


def test_presigned_url_is_fetchable_without_credentials(s3: S3Storage, bucket: str) -> None:
    s3.put(bucket, "Hồ sơ/bundle.pdf", b"%PDF-1.7 signed", content_type="application/pdf")
    url = s3.presigned_get_url(bucket, "Hồ sơ/bundle.pdf", expires=timedelta(minutes=5))
    assert url is not None and url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our test server
        assert response.read() == b"%PDF-1.7 signed"
    tampered = url.replace("bundle.pdf", "other.pdf")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(tampered, timeout=10)  # noqa: S310
    with pytest.raises(InputError):
        s3.presigned_get_url(bucket, "Hồ sơ/bundle.pdf", expires=timedelta(days=8))
    with pytest.raises(ObjectNotFound):
        s3.presigned_get_url(bucket, "none.pdf", expires=timedelta(minutes=5))


def test_endpoint_forms() -> None:
    S3Storage("http://127.0.0.1:9000", "a", "b", secure=False)
    with pytest.raises(InputError):
        S3Storage("https://127.0.0.1:9000", "a", "b", secure=False)
    with pytest.raises(InputError):
        S3Storage("http://127.0.0.1:9000/path", "a", "b", secure=False)


def _s3_error(code: str, status: int) -> S3Error:
    response = urllib3.HTTPResponse(body=b"", status=status)
    return S3Error(response, code, "msg", "/r", "req", "host")


@pytest.mark.parametrize(
    ("code", "status", "kind", "retryable"),
    [
        ("NoSuchKey", 404, ObjectNotFound, False),
        ("AccessDenied", 403, StorageError, False),
        ("SlowDown", 503, StorageError, True),
        ("InternalError", 500, StorageError, True),
        ("InvalidArgument", 400, StorageError, False),
    ],
)
def test_server_error_codes_are_mapped(
    s3: S3Storage, bucket: str, monkeypatch: pytest.MonkeyPatch,
    code: str, status: int, kind: type[StorageError], retryable: bool,
) -> None:
    def failing(*args: object, **kwargs: object) -> None:
        raise _s3_error(code, status)

    monkeypatch.setattr(s3._client, "get_object", failing)
    with pytest.raises(kind) as info:
        s3.get(bucket, "k")
    assert info.value.retryable is retryable


def test_concurrent_writers_to_distinct_keys(s3: S3Storage, bucket: str) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            s3.put(bucket, f"c/{i:03d}", bytes([i]) * 1000)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert [o.key for o in s3.list(bucket, "c/")] == [f"c/{i:03d}" for i in range(8)]

