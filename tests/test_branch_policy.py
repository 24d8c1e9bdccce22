"""The MinIO policies of docker/minio/policies/, enforced by a real S3 server.

SeaweedFS evaluates AWS-style IAM policy documents attached to identities
(``policies`` + ``policyNames`` in its S3 config), including the
``${aws:username}`` variable. The policy files are loaded verbatim, as the
``minio-init`` job loads them into MinIO, and every branch identity is named
after its branch with the branch as access key, as init.sh creates them.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from minio import Minio
from minio.error import S3Error

from tests.s3server import S3Server, seaweedfs_s3

POLICY_DIR = Path(__file__).resolve().parents[1] / "docker" / "minio" / "policies"
BRANCHES = ("cau-giay", "ba-dinh")
PIPELINE_USER = "sohoa-pipeline"
BUCKETS = ("intake", "archive", "quarantine")
PART = 5 * 1024 * 1024  # the smallest multipart part size


def _identity(name: str, secret: str, policy: str) -> dict[str, Any]:
    return {"name": name, "credentials": [{"accessKey": name, "secretKey": secret}],
            "policyNames": [policy]}


class Stack:
    def __init__(self, server: S3Server, keys: dict[str, str]) -> None:
        self.server = server
        self.keys = keys

    def client(self, user: str | None = None) -> Minio:
        if user is None:
            access, secret = self.server.access_key, self.server.secret_key
        else:
            access, secret = user, self.keys[user]
        # region given: no GetBucketLocation call (a branch may not make it)
        return Minio(self.server.endpoint, access_key=access, secret_key=secret,
                     secure=False, region="us-east-1")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    keys = {name: secrets.token_urlsafe(24) for name in (*BRANCHES, PIPELINE_USER)}
    extra = {
        "policies": [
            {"name": "sohoa-branch-intake-writer",
             "content": (POLICY_DIR / "branch-intake-writer.json").read_text(encoding="utf-8")},
            {"name": "sohoa-pipeline",
             "content": (POLICY_DIR / "pipeline.json").read_text(encoding="utf-8")},
        ],
        "identities": [
            *(_identity(b, keys[b], "sohoa-branch-intake-writer") for b in BRANCHES),
            _identity(PIPELINE_USER, keys[PIPELINE_USER], "sohoa-pipeline"),
        ],
    }
    with seaweedfs_s3(extra) as server:
        result = Stack(server, keys)
        admin = result.client()
        for bucket in BUCKETS:
            admin.make_bucket(bucket)
        admin.put_object("intake", "ba-dinh/HN-BD-1/001.png", io.BytesIO(b"page"), 4)
        admin.put_object("archive", "cau-giay/HN-CG-1/report.json", io.BytesIO(b"{}"), 2)
        admin.put_object("quarantine", "cau-giay/HN-CG-1/reason.json", io.BytesIO(b"{}"), 2)
        yield result


def _put(client: Minio, bucket: str, key: str, data: bytes = b"scan") -> None:
    client.put_object(bucket, key, io.BytesIO(data), len(data),
                      part_size=PART if len(data) > PART else 0)


def _read(client: Minio, bucket: str, key: str) -> bytes:
    response = client.get_object(bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def _denied(action: Callable[[], object]) -> None:
    with pytest.raises(S3Error) as info:
        action()
    assert info.value.code == "AccessDenied"


def _keys(client: Minio, bucket: str) -> set[str]:
    return {o.object_name or "" for o in client.list_objects(bucket, recursive=True)}


def test_branch_uploads_under_its_own_prefix(stack: Stack) -> None:
    branch = stack.client("cau-giay")
    _put(branch, "intake", "cau-giay/HN-CG-2/001.tif")
    big = secrets.token_bytes(PART + 1024)  # a multipart upload (two parts)
    _put(branch, "intake", "cau-giay/HN-CG-2/002.pdf", big)
    _put(branch, "intake", "cau-giay/HN-CG-2/manifest.json", json.dumps({"x": 1}).encode())
    admin = stack.client()
    assert {"cau-giay/HN-CG-2/001.tif", "cau-giay/HN-CG-2/002.pdf",
            "cau-giay/HN-CG-2/manifest.json"} <= _keys(admin, "intake")
    assert _read(admin, "intake", "cau-giay/HN-CG-2/002.pdf") == big
    # the other branch's user, with the same policy document, writes its own
    _put(stack.client("ba-dinh"), "intake", "ba-dinh/HN-BD-2/001.png")


@pytest.mark.parametrize("key", [
    "ba-dinh/HN-BD-9/001.tif",     # another branch
    "cau-giay-x/HN-CG-9/001.tif",  # a prefix that only starts like the branch
    "HN-CG-9/001.tif",             # outside any branch
    "cau-giay",                    # the folder name itself
])
def test_branch_cannot_upload_elsewhere_in_intake(stack: Stack, key: str) -> None:
    _denied(lambda: _put(stack.client("cau-giay"), "intake", key))
    assert key not in _keys(stack.client(), "intake")


def test_branch_multipart_upload_to_another_branch_is_refused(stack: Stack) -> None:
    big = secrets.token_bytes(PART + 1)
    _denied(lambda: _put(stack.client("cau-giay"), "intake", "ba-dinh/HN-BD-9/big.pdf", big))
    assert "ba-dinh/HN-BD-9/big.pdf" not in _keys(stack.client(), "intake")


def test_branch_cannot_read_list_or_delete_anything(stack: Stack) -> None:
    branch = stack.client("cau-giay")
    _put(branch, "intake", "cau-giay/HN-CG-3/001.tif")
    _denied(lambda: _read(branch, "intake", "cau-giay/HN-CG-3/001.tif"))
    _denied(lambda: _read(branch, "intake", "ba-dinh/HN-BD-1/001.png"))
    _denied(lambda: _keys(branch, "intake"))
    _denied(lambda: branch.remove_object("intake", "cau-giay/HN-CG-3/001.tif"))
    for bucket, key in (("archive", "cau-giay/HN-CG-1/report.json"),
                        ("quarantine", "cau-giay/HN-CG-1/reason.json")):
        _denied(lambda b=bucket, k=key: _read(branch, b, k))  # type: ignore[misc]
        _denied(lambda b=bucket: _keys(branch, b))  # type: ignore[misc]
        _denied(lambda b=bucket, k=key: _put(branch, b, k))  # type: ignore[misc]
    _denied(lambda: branch.make_bucket("cau-giay"))
    admin = stack.client()
    assert "cau-giay/HN-CG-3/001.tif" in _keys(admin, "intake")
    assert _read(admin, "archive", "cau-giay/HN-CG-1/report.json") == b"{}"


def test_pipeline_user_reads_writes_lists_and_deletes_the_three_buckets(stack: Stack) -> None:
    pipeline = stack.client(PIPELINE_USER)
    for bucket in BUCKETS:
        key = f"cau-giay/HN-CG-4/{bucket}.bin"
        _put(pipeline, bucket, key, b"result")
        assert _read(pipeline, bucket, key) == b"result"
        assert key in _keys(pipeline, bucket)
        pipeline.remove_object(bucket, key)
        assert key not in _keys(stack.client(), bucket)
    assert _read(pipeline, "intake", "ba-dinh/HN-BD-1/001.png") == b"page"
    # it is not an administrator: no new buckets
    _denied(lambda: pipeline.make_bucket("elsewhere"))
