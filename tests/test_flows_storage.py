"""Delivery over the storage interface on the local-folder backend: upload, deliver,
quarantine, webhook; and the settings that say where storage is.

The deployed job (``run_dossier`` with intake consumed) runs in this process
against Prefect's ephemeral API with real Tesseract; faults are injected by
wrapping the storage, which the test hands to the job (nothing is patched).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from flows.params import DossierRequest
from flows.settings import Settings
from flows.webhook import notify_webhook, sign_body
from lab.synth.degrade import DegradeSpec
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec
from models.schemas import QuarantineEntry, QuarantineFile, QuarantineReason, Report
from pipeline.delivery import (
    Place,
    Places,
    clear_intake,
    put_verified,
    quarantine,
    read_intake,
)
from pipeline.errors import StorageError
from pipeline.storage import LocalStorage, StorageConfig, ensure_buckets
from pipeline.transfer import fetch_results, upload_dossier


class Recording(LocalStorage):
    """LocalStorage that records writes and deletes, and can fail some calls once."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: list[tuple[str, str]] = []
        self.fail_once: set[str] = set()
        self.corrupt_reads = False

    def _maybe_fail(self, op: str) -> None:
        if op in self.fail_once:
            self.fail_once.discard(op)
            raise StorageError(f"injected {op} failure", retryable=True)

    def put(self, bucket: str, key: str, data: bytes, **kw: Any) -> Any:
        self.calls.append(("put", key))
        return super().put(bucket, key, data, **kw)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> Any:
        self._maybe_fail("copy")
        return super().copy(src_bucket, src_key, dst_bucket, dst_key)

    def get(self, bucket: str, key: str) -> bytes:
        data = super().get(bucket, key)
        return data[:-1] + b"?" if self.corrupt_reads else data

    def delete(self, bucket: str, key: str) -> None:
        self.calls.append(("delete", key))
        super().delete(bucket, key)


@pytest.fixture()
def local(tmp_path: Path) -> tuple[StorageConfig, Recording]:
    config = Settings.from_env({"SOHOA_STORAGE_ROOT": str(tmp_path / "buckets")}).storage
    storage = Recording(tmp_path / "buckets")
    ensure_buckets(config, storage)
    return config, storage


def one_page_dossier(folder: Path, dossier_id: str, *, bad: bool = False) -> Path:
    spec = PageSpec(doc_type="birth_reg_form", title="TỜ KHAI ĐĂNG KÝ KHAI SINH", seed=5,
                    body_paragraphs=1, fields=3)
    write_dossier(folder, [SynthFile("001.png", ((spec, DegradeSpec(seed=5)),))], manifest={
        "dossier_id": dossier_id, "branch": "hoan-kiem", "procedure": "birth_registration"})
    if bad:
        (folder / "002.tif").write_bytes(b"II*\x00 cut short")
    return folder


def test_storage_settings_keep_secrets_out_of_sight(tmp_path: Path) -> None:
    env = {"SOHOA_S3_ENDPOINT": "http://127.0.0.1:9000", "SOHOA_S3_ACCESS_KEY": "AKIDEXAMPLE",
           "SOHOA_S3_SECRET_KEY": "very-secret-value", "SOHOA_BUCKET_ARCHIVE": "arch-1",
           "SOHOA_STATE_DIR": str(tmp_path)}
    settings = Settings.from_env(env)
    config = settings.storage
    assert config.secure is False and config.archive == "arch-1"
    for shown in (repr(config), str(config), repr(config.open()), repr(settings)):
        assert "very-secret-value" not in shown
    local = Settings.from_env({"SOHOA_STATE_DIR": str(tmp_path)}).storage
    assert local.endpoint is None and local.root == tmp_path / "storage"
    assert isinstance(local.open(), LocalStorage)


def test_settings_come_from_the_environment_only_through_one_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOHOA_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("SOHOA_TRUST_ROOTS", f"{tmp_path}/a.pem:{tmp_path}/b.pem")
    monkeypatch.setenv("SOHOA_WORKERS", "3")
    monkeypatch.setenv("SOHOA_WEBHOOK_SECRET", "w3bh00k-value")
    monkeypatch.setenv("SOHOA_S3_SECURE", "false")
    s = Settings.from_env()
    assert s.state_dir == tmp_path and s.workers == 3 and s.s3_secure is False
    assert s.trust_roots == (tmp_path / "a.pem", tmp_path / "b.pem")
    assert s.webhook_secret == SecretStr("w3bh00k-value") and "w3bh00k" not in repr(s)
    # a mapping of its own is read alone, not mixed with the process environment
    alone = Settings.from_env({"SOHOA_STATE_DIR": str(tmp_path / "x")})
    assert alone.workers == (os.cpu_count() or 1) and alone.state_dir == tmp_path / "x"
    assert alone.trust_roots == () and alone.webhook_secret is None
    monkeypatch.setenv("SOHOA_WORKERS", "zero")
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings.from_env()


def test_upload_puts_the_manifest_last(local: tuple[StorageConfig, Recording],
                                       tmp_path: Path) -> None:
    config, storage = local
    folder = one_page_dossier(tmp_path / "d", "HK-1", bad=True)
    prefix = upload_dossier(storage, config.intake, folder)
    assert prefix == "hoan-kiem/HK-1/"
    assert [k for _, k in storage.calls][-1] == prefix + "manifest.json"
    intake = read_intake(storage, Place(config.intake, prefix))
    assert intake.names == ("001.png", "002.tif", "manifest.json")
    assert intake.page_names(None) == ("001.png", "002.tif")
    assert intake.page_names(["002.tif"]) == ("002.tif",)


def test_put_verified_refuses_a_bad_read_back(local: tuple[StorageConfig, Recording]) -> None:
    config, storage = local
    place = Place(config.archive, "b/d/")
    assert put_verified(storage, place, "report.json", b"{}") == hashlib.sha256(b"{}").hexdigest()
    storage.corrupt_reads = True
    with pytest.raises(StorageError) as err:
        put_verified(storage, place, "report.json", b"{}")
    assert err.value.retryable


def test_quarantine_and_clear_intake(local: tuple[StorageConfig, Recording],
                                     tmp_path: Path) -> None:
    config, storage = local
    prefix = upload_dossier(storage, config.intake, one_page_dossier(tmp_path / "d", "HK-2",
                                                                     bad=True))
    places = Places.in_buckets(config, "hoan-kiem", "HK-2")
    reason = QuarantineReason(dossier_id="HK-2", branch="hoan-kiem", files=(QuarantineFile(
        source="002.tif", reasons=(QuarantineEntry(source_page=1, error="cut short"),)),))
    quarantine(storage, places, ["002.tif"], reason)
    assert storage.get(config.quarantine, prefix + "002.tif") == b"II*\x00 cut short"
    assert json.loads(storage.get(config.quarantine, prefix + "reason.json")) == {
        "dossier_id": "HK-2", "branch": "hoan-kiem", "reason": None,
        "files": [{"source": "002.tif", "reasons": [{"source_page": 1, "error": "cut short"}]}]}
    storage.calls.clear()
    clear_intake(storage, places.intake, read_intake(storage, places.intake).names)
    assert storage.calls[-1] == ("delete", prefix + "manifest.json")
    assert list(storage.list(config.intake)) == []


# --- the bucket-mode flow, in process ---------------------------------------------------------
@pytest.fixture(scope="module")
def embedded_prefect() -> None:
    from flows import embedded_api

    api = embedded_api.start_if_needed(verbose=False)
    if api is not None:
        api.wait_ready()


def test_bucket_flow_delivers_and_retries_storage_faults(
    embedded_prefect: None, local: tuple[StorageConfig, Recording], tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect import flow

    from flows.artifacts import FINAL_STATE_NAMES, final_state
    from flows.dossier import DossierIO, Reviewing, run_dossier
    from flows.tasks import read_intake_task

    config, storage = local
    # the session's state folder (as in test_flows_dossier): one development PKI
    settings = Settings.from_env({"SOHOA_STATE_DIR": str(tmp_path_factory.getbasetemp() / "state")})

    @flow(name="process-dossier")
    def deployed_job(request: DossierRequest) -> Any:  # process_dossier, with this storage
        places = Places.in_buckets(config, request.branch, request.dossier_id)
        io = DossierIO(storage, places, read_intake_task(storage, places.intake),
                       consume_intake=True)
        return final_state(run_dossier(request, io, settings=settings, ocr_limit=None,
                                       review=Reviewing()))

    folder = one_page_dossier(tmp_path / "d", "HK-3", bad=True)
    prefix = upload_dossier(storage, config.intake, folder)
    storage.fail_once.add("copy")  # the first archive copy fails: the task is retried

    state: Any = deployed_job(DossierRequest(dossier_id="HK-3", branch="hoan-kiem",
                                             procedure="birth_registration"),
                              return_state=True)
    report = json.loads(storage.get(config.archive, prefix + "report.json"))
    # completed, and named after the verdict (no birth proof; an unreadable file)
    assert report["status"] in ("incomplete", "needs_review")
    assert state.is_completed() and state.name == FINAL_STATE_NAMES[report["status"]]
    assert [p["source"] for p in report["pages"]] == ["001.png", "002.tif"]
    assert report["pages"][1]["error"]
    assert storage.head(config.archive, prefix + "bundle.pdf") is not None
    assert {o.key for o in storage.list(config.archive, prefix + "originals/")} == {
        prefix + "originals/" + n for n in ("001.png", "002.tif", "manifest.json")}
    assert storage.get(config.quarantine, prefix + "002.tif") == (folder / "002.tif").read_bytes()
    assert list(storage.list(config.intake)) == []
    assert not storage.fail_once  # the injected fault did happen
    out = tmp_path / "fetched"
    fetched = fetch_results(storage, config.archive, prefix, out)
    assert fetched == report and (out / "bundle.pdf").read_bytes().startswith(b"%PDF")


# --- webhook --------------------------------------------------------------------------------
@pytest.fixture()
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_is_signed_with_hmac(receiver: tuple[str, list[Any]],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url, got = receiver
    request = DossierRequest(dossier_id="HK-9", procedure="birth_registration",
                             branch="hoan-kiem", callback_url=url)
    report = Report(dossier_id="HK-9", procedure="birth_registration", branch="hoan-kiem",
                    status="incomplete", missing=("birth_proof",))
    notify_webhook(request, report, secret=None)
    assert got == []  # unsigned callbacks are never sent
    notify_webhook(request, report, secret=SecretStr("s3cr3t"))
    headers, body = got[0]
    expected = hmac.new(b"s3cr3t", body, hashlib.sha256).hexdigest()
    assert headers["X-Sohoa-Signature"] == f"sha256={expected}"
    assert sign_body("s3cr3t", body) == expected
    note = json.loads(body)
    assert note["status"] == "incomplete" and note["report_key"] == "hoan-kiem/HK-9/report.json"
