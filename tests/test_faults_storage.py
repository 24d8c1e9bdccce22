"""Faults of the storage-driven flow: a worker killed mid-delivery, S3 unreachable for 30 s.

Real SeaweedFS (``s3_server``), real Tesseract and signing, Prefect's embedded
API (one per session). Faults only are injected: a SIGKILL in a child process
right after the first original is copied to archive, and a TCP relay in front
of SeaweedFS that refuses every connection (and resets the open ones) for
``SOHOA_TEST_OUTAGE_S`` seconds (30) just before delivery.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.settings import Settings
from flows.stack import free_port, storage_env
from lab.synth.degrade import DegradeSpec
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec
from pipeline.storage import Storage, StorageConfig
from pipeline.storage.base import sha256_bytes as sha256_hex
from pipeline.transfer import upload_dossier
from tests.s3server import S3Server
from tests.test_flows_storage import embedded_prefect  # noqa: F401 - a fixture

OUTAGE_S = float(os.environ.get("SOHOA_TEST_OUTAGE_S", "30"))
CHILD_TIMEOUT_S = 300.0
BUCKETS = {"SOHOA_BUCKET_INTAKE": "faults-intake", "SOHOA_BUCKET_ARCHIVE": "faults-archive",
           "SOHOA_BUCKET_QUARANTINE": "faults-quarantine"}

# The flow in a child process; with SOHOA_TEST_KILL_AFTER_COPIES=N it SIGKILLs
# itself right after the N-th verified copy of an original to archive (the bundle
# is already there, report.json is not, intake is untouched).
CHILD = """
import os, signal, sys
import pipeline.delivery as delivery
from flows.dossier import process_dossier
from flows.params import DossierRequest

kill_after = int(os.environ.get("SOHOA_TEST_KILL_AFTER_COPIES", "0"))
real_copy = delivery.copy_verified
copies = []

def copy_then_die(*args, **kwargs):
    real_copy(*args, **kwargs)
    copies.append(args)
    if len(copies) >= kill_after:
        os.kill(os.getpid(), signal.SIGKILL)

if kill_after:
    delivery.copy_verified = copy_then_die
request = DossierRequest(dossier_id=sys.argv[1], branch="dong-da",
                         procedure="birth_registration")
state = process_dossier(request, return_state=True)
print(state.name)
sys.exit(0 if state.is_completed() else 1)
"""


def two_page_dossier(folder: Path, dossier_id: str) -> dict[str, str]:
    """A form and a birth certificate, sealed by manifest.json: {name: sha256}."""
    specs = [("001.png", "birth_reg_form", "TỜ KHAI ĐĂNG KÝ KHAI SINH", 41),
             ("002.png", "birth_certificate_medical", "GIẤY CHỨNG SINH", 42)]
    write_dossier(folder, [
        SynthFile(name, ((PageSpec(doc_type=doc, title=title, seed=seed, body_paragraphs=1,
                                   fields=3), DegradeSpec(seed=seed)),))
        for name, doc, title, seed in specs],
        manifest={"dossier_id": dossier_id, "branch": "dong-da",
                  "procedure": "birth_registration"})
    return {p.name: sha256_hex(p.read_bytes()) for p in folder.iterdir()}


def keys(storage: Storage, bucket: str, prefix: str) -> list[str]:
    return [o.key[len(prefix):] for o in storage.list(bucket, prefix)]


def assert_delivered(storage: Storage, config: StorageConfig, prefix: str,
                     originals: dict[str, str]) -> dict[str, Any]:
    """Archive holds bundle, report and each original exactly once, byte-identical;
    intake is empty."""
    archived = keys(storage, config.archive, prefix)
    assert sorted(archived) == sorted(
        ["bundle.pdf", "report.json", *(f"originals/{n}" for n in originals)])
    for name, sha in originals.items():
        assert sha256_hex(storage.get(config.archive, f"{prefix}originals/{name}")) == sha
    report: dict[str, Any] = json.loads(storage.get(config.archive, prefix + "report.json"))
    bundle = storage.get(config.archive, prefix + "bundle.pdf")
    assert bundle.startswith(b"%PDF") and sha256_hex(bundle) == report["bundle"]["sha256"]
    assert [p["source"] for p in report["pages"]] == ["001.png", "002.png"]
    assert report["status"] in ("complete", "incomplete", "needs_review")
    assert keys(storage, config.intake, prefix) == []
    assert keys(storage, config.quarantine, prefix) == []
    return report


@pytest.fixture()
def s3_env(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[dict[str, str], StorageConfig, Storage]:
    env = {**storage_env(s3_server.endpoint, s3_server.access_key, s3_server.secret_key),
           **BUCKETS, "SOHOA_STATE_DIR": str(tmp_path_factory.getbasetemp() / "state")}
    config = Settings.from_env(env).storage
    storage = config.open()
    for bucket in config.buckets():
        storage.ensure_bucket(bucket)
    return env, config, storage


def run_child(env: dict[str, str], dossier_id: str, **extra: str) -> subprocess.CompletedProcess:
    child_env = {**os.environ, **env, **extra}  # PREFECT_API_URL: the session's embedded API
    return subprocess.run([sys.executable, "-c", CHILD, dossier_id], env=child_env,
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT_S,
                          cwd=Path(__file__).resolve().parents[1])


def test_worker_killed_mid_delivery_rerun_completes(
    embedded_prefect: None,  # noqa: F811 - the fixture imported above
    s3_env: tuple[dict[str, str], StorageConfig, Storage], tmp_path: Path,
) -> None:
    env, config, storage = s3_env
    originals = two_page_dossier(tmp_path / "d", "DD-KILL-1")
    prefix = upload_dossier(storage, config.intake, tmp_path / "d")

    killed = run_child(env, "DD-KILL-1", SOHOA_TEST_KILL_AFTER_COPIES="1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # intake still holds every original and the manifest, untouched
    assert sorted(keys(storage, config.intake, prefix)) == sorted(originals)
    for name, sha in originals.items():
        assert sha256_hex(storage.get(config.intake, prefix + name)) == sha
    # archive: the bundle and one verified original; no report, nothing else
    archived = keys(storage, config.archive, prefix)
    assert "report.json" not in archived and "bundle.pdf" in archived
    copied = [k for k in archived if k.startswith("originals/")]
    assert len(copied) == 1 and sorted(archived) == sorted(["bundle.pdf", *copied])
    name = copied[0].removeprefix("originals/")
    assert sha256_hex(storage.get(config.archive, prefix + copied[0])) == originals[name]

    rerun = run_child(env, "DD-KILL-1")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_delivered(storage, config, prefix, originals)


class Relay:
    """A TCP relay to the S3 server that can be cut: while cut, its port refuses
    connections and the connections it had are reset."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.port = free_port()
        self.cuts = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._timer: threading.Timer | None = None
        self.restore()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def outage(self, seconds: float, over: threading.Event) -> None:
        """Cut now; restore after ``seconds`` and set ``over``."""
        self.cut()

        def back() -> None:
            self.restore()
            over.set()

        self._timer = threading.Timer(seconds, back)
        self._timer.start()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()
        self.cut()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._open = self._open, []
            self.cuts += 1
        if listener is not None:
            listener.close()
        for conn in conns:
            _reset(conn)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _reset(client)
                    _reset(upstream)
                    return
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)


def _reset(conn: socket.socket) -> None:
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    except OSError:
        pass


@pytest.fixture()
def relay(s3_server: S3Server) -> Iterator[Relay]:
    r = Relay(s3_server.endpoint)
    try:
        yield r
    finally:
        r.close()


def test_s3_unreachable_for_30_s_before_delivery_is_ridden_out(
    embedded_prefect: None,  # noqa: F811 - the fixture imported above
    s3_env: tuple[dict[str, str], StorageConfig, Storage], relay: Relay,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import flows.dossier
    from flows.dossier import process_dossier
    from flows.params import DossierRequest

    env, config, storage = s3_env
    originals = two_page_dossier(tmp_path / "d", "DD-OUTAGE-1")
    prefix = upload_dossier(storage, config.intake, tmp_path / "d")
    for key, value in {**env, "SOHOA_S3_ENDPOINT": f"http://{relay.endpoint}"}.items():
        monkeypatch.setenv(key, value)  # the flow reaches S3 only through the relay

    real_run_pages = flows.dossier.run_pages
    restored = threading.Event()

    def pages_then_outage(*args: Any, **kwargs: Any) -> Any:
        outcomes = real_run_pages(*args, **kwargs)
        relay.outage(OUTAGE_S, restored)  # pages done, delivery next: S3 gone for OUTAGE_S
        return outcomes

    monkeypatch.setattr(flows.dossier, "run_pages", pages_then_outage)
    state: Any = process_dossier(DossierRequest(dossier_id="DD-OUTAGE-1", branch="dong-da",
                                                procedure="birth_registration"),
                                 return_state=True)
    assert restored.wait(OUTAGE_S + 5)
    assert relay.cuts == 1
    assert state.is_completed(), state
    assert_delivered(storage, config, prefix, originals)
    # it was the delivery task's retries that carried the run through
    attempts = delivery_attempts(state.state_details.flow_run_id)
    assert attempts > 1


def delivery_attempts(flow_run_id: Any) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=50)
    (delivery,) = [r for r in runs if r.name.startswith("deliver")]
    return int(delivery.run_count)
