"""The flow's bucket side on the local-folder backend: upload, deliver, quarantine, webhook.

The bucket-mode flow runs in this process against Prefect's ephemeral API with
real Tesseract; faults are injected by wrapping the storage.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from flows import storage_io
from flows.archive import notify_webhook, sign_body
from flows.params import DossierRequest
from flows.storage_io import (
    StorageConfig,
    clear_intake,
    fetch_results,
    put_verified,
    quarantine_objects,
    read_intake,
    upload_dossier,
)
from pipeline.errors import StorageError
from pipeline.storage import LocalStorage
from pipeline.synth.degrade import DegradeSpec
from pipeline.synth.dossier import SynthFile, write_dossier
from pipeline.synth.render import PageSpec


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
    config = StorageConfig.from_env({"SOHOA_STORAGE_ROOT": str(tmp_path / "buckets")})
    storage = Recording(tmp_path / "buckets")
    storage_io.ensure_buckets(config, storage)
    return config, storage


def one_page_dossier(folder: Path, dossier_id: str, *, bad: bool = False) -> Path:
    spec = PageSpec(doc_type="birth_reg_form", title="TỜ KHAI ĐĂNG KÝ KHAI SINH", seed=5,
                    body_paragraphs=1, fields=3)
    write_dossier(folder, [SynthFile("001.png", ((spec, DegradeSpec(seed=5)),))], manifest={
        "dossier_id": dossier_id, "branch": "hoan-kiem", "procedure": "birth_registration"})
    if bad:
        (folder / "002.tif").write_bytes(b"II*\x00 cut short")
    return folder


def test_storage_config_from_env_keeps_secrets_out_of_sight(tmp_path: Path) -> None:
    env = {"SOHOA_S3_ENDPOINT": "http://127.0.0.1:9000", "SOHOA_S3_ACCESS_KEY": "AKIDEXAMPLE",
           "SOHOA_S3_SECRET_KEY": "very-secret-value", "SOHOA_BUCKET_ARCHIVE": "arch-1",
           "SOHOA_STATE_DIR": str(tmp_path)}
    config = StorageConfig.from_env(env)
    assert config.secure is False and config.archive == "arch-1"
    assert "very-secret-value" not in repr(config) and "very-secret-value" not in str(config)
    assert "very-secret-value" not in repr(config.open())
    local = StorageConfig.from_env({"SOHOA_STATE_DIR": str(tmp_path)})
    assert local.endpoint is None and local.root == tmp_path / "storage"
    assert isinstance(local.open(), LocalStorage)


def test_upload_puts_the_manifest_last(local: tuple[StorageConfig, Recording],
                                       tmp_path: Path) -> None:
    config, storage = local
    folder = one_page_dossier(tmp_path / "d", "HK-1", bad=True)
    prefix = upload_dossier(storage, config.intake, folder)
    assert prefix == "hoan-kiem/HK-1/"
    assert [k for _, k in storage.calls][-1] == prefix + "manifest.json"
    intake = read_intake(storage, config.intake, prefix)
    assert intake.names == ("001.png", "002.tif", "manifest.json")
    assert intake.page_names(None) == ("001.png", "002.tif")
    assert intake.page_names(["002.tif"]) == ("002.tif",)


def test_put_verified_refuses_a_bad_read_back(local: tuple[StorageConfig, Recording]) -> None:
    config, storage = local
    assert put_verified(storage, config.archive, "b/d/report.json", b"{}") == \
        hashlib.sha256(b"{}").hexdigest()
    storage.corrupt_reads = True
    with pytest.raises(StorageError) as err:
        put_verified(storage, config.archive, "b/d/report.json", b"{}")
    assert err.value.retryable


def test_quarantine_and_clear_intake(local: tuple[StorageConfig, Recording],
                                     tmp_path: Path) -> None:
    config, storage = local
    prefix = upload_dossier(storage, config.intake, one_page_dossier(tmp_path / "d", "HK-2",
                                                                     bad=True))
    quarantine_objects(storage, config, prefix, ["002.tif"], {"reason": "cut short"})
    assert storage.get(config.quarantine, prefix + "002.tif") == b"II*\x00 cut short"
    assert json.loads(storage.get(config.quarantine, prefix + "reason.json")) == {
        "reason": "cut short"}
    storage.calls.clear()
    clear_intake(storage, config.intake, prefix, read_intake(storage, config.intake,
                                                             prefix).names)
    assert storage.calls[-1] == ("delete", prefix + "manifest.json")
    assert list(storage.list(config.intake)) == []


# --- the bucket-mode flow, in process ---------------------------------------------------------
@pytest.fixture(scope="module")
def embedded_prefect() -> None:
    from flows import embedded_api
    from flows.cli import prefect_defaults

    prefect_defaults(verbose=False)
    api = embedded_api.start_if_needed()
    if api is not None:
        api.wait_ready()


def test_bucket_flow_delivers_and_retries_storage_faults(
    embedded_prefect: None, local: tuple[StorageConfig, Recording], tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.dossier import FINAL_STATE_NAMES, process_dossier

    config, storage = local
    # the session's state folder (as in test_flows_dossier): one development PKI
    monkeypatch.setenv("SOHOA_STATE_DIR", str(tmp_path_factory.getbasetemp() / "state"))
    monkeypatch.setattr(storage_io, "storage_from_env", lambda: (config, storage))
    import flows.archive
    import flows.tasks

    monkeypatch.setattr(flows.archive, "storage_from_env", lambda: (config, storage))
    monkeypatch.setattr(flows.tasks, "storage_from_env", lambda: (config, storage))
    folder = one_page_dossier(tmp_path / "d", "HK-3", bad=True)
    prefix = upload_dossier(storage, config.intake, folder)
    storage.fail_once.add("copy")  # the first archive copy fails: the task is retried

    state: Any = process_dossier(DossierRequest(dossier_id="HK-3", branch="hoan-kiem",
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
    report = {"status": "incomplete", "missing": ["birth_proof"], "bundle": None}
    monkeypatch.delenv("SOHOA_WEBHOOK_SECRET", raising=False)
    notify_webhook(request, report)
    assert got == []  # unsigned callbacks are never sent
    monkeypatch.setenv("SOHOA_WEBHOOK_SECRET", "s3cr3t")
    notify_webhook(request, report)
    headers, body = got[0]
    expected = hmac.new(b"s3cr3t", body, hashlib.sha256).hexdigest()
    assert headers["X-Sohoa-Signature"] == f"sha256={expected}"
    assert sign_body("s3cr3t", body) == expected
    note = json.loads(body)
    assert note["status"] == "incomplete" and note["report_key"] == "hoan-kiem/HK-9/report.json"
