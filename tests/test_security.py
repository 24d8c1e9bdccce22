"""Security through the CLI: tampering is detected; nothing secret or personal leaks.

- ``sohoa verify`` on a real bundle made by ``sohoa process``: one byte flipped
  (in the page data, in the signature value, in the signed dictionary) and
  changes appended by an incremental update after signing (a page added, a
  page's content replaced) all fail.
- A dossier whose page carries a (synthetic) citizen ID number and name, signed
  with a PKCS#12 protected by a passphrase: the ID number, the name and the
  passphrase appear in no log record (DEBUG and up), no stdout/stderr, no file
  in the output folder but the bundle's text layer, no Prefect artifact, log or
  flow-run parameter. A wrong passphrase fails with one line that does not
  contain it either.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from flows.cli import main
from lab.synth.render import PageSpec, render_page
from pipeline.errors import ExitCode
from tests.pki import Pki

ID_NUMBER = "079203004321"
NAME = "NGUYỄN THỊ XUYẾN"
PASSPHRASE = "Mat-khau-ky-9f3c-BI-MAT"
WRONG = "sai-mat-khau-7d1e"
TSA_PASSWORD = "tsa-Mat-khau-4b2a"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def run_cli(*args: object) -> int:
    return main([str(a) for a in args])


def form_with_identity(seed: int) -> bytes:
    """A birth registration form with a big, readable ID number and name on it."""
    page = render_page(PageSpec(doc_type="birth_reg_form", title="TỜ KHAI ĐĂNG KÝ KHAI SINH",
                                seed=seed, fields=3, body_paragraphs=1))
    img = Image.fromarray(page.image).convert("L")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 48)
    y = int(img.height * 0.82)
    draw.rectangle([200, y - 20, img.width - 200, y + 160], fill=255)
    draw.text((240, y), f"Số định danh: {ID_NUMBER}", font=font, fill=0)
    draw.text((240, y + 80), f"Họ và tên: {NAME}", font=font, fill=0)
    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(300, 300))
    return buf.getvalue()


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # message and traceback, if any


@pytest.fixture
def all_logs() -> Iterator[Collect]:
    """Every log record at DEBUG and up, Prefect's own loggers included."""
    handler = Collect()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


@pytest.fixture
def protected_p12(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pki: Pki) -> Path:
    """The agency's signer (the test PKI's) in a PKCS#12 with our passphrase, and the
    timestamp authority production requires, with credentials (which must not leak)."""
    monkeypatch.setenv("SOHOA_STATE_DIR", str(tmp_path / "state"))
    key, cert, extra = pkcs12.load_key_and_certificates(pki.signer_p12().read_bytes(), b"test")
    assert key is not None and cert is not None
    data = pkcs12.serialize_key_and_certificates(
        b"signer", key, cert, extra, BestAvailableEncryption(PASSPHRASE.encode()))  # type: ignore[arg-type]
    path = tmp_path / "signer.p12"
    path.write_bytes(data)
    monkeypatch.setenv("SOHOA_SIGNING_P12", str(path))
    monkeypatch.setenv("SOHOA_TSA_URL", pki.tsa_url)
    monkeypatch.setenv("SOHOA_TSA_USERNAME", "sohoa")
    monkeypatch.setenv("SOHOA_TSA_PASSWORD", TSA_PASSWORD)
    monkeypatch.setenv("SOHOA_TRUST_ROOTS", str(pki.root_pem))
    return path


def _api(path: str, body: dict) -> list[dict]:
    url = os.environ["PREFECT_API_URL"] + path  # the CLI's embedded API, still running
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def prefect_records(dossier_id: str, *, expect_artifacts: bool = False) -> str:
    """Artifacts, logs, flow-run parameters and state messages of the dossier's runs."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # logs are shipped to the API in batches
    runs = _api("/flow_runs/filter", {"flow_runs": {"name": {"any_": [dossier_id]}}})
    assert runs, "the flow run is recorded"
    ids = [r["id"] for r in runs]
    logs = _api("/logs/filter", {"logs": {"flow_run_id": {"any_": ids}}, "limit": 200})
    artifacts = _api("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": ids}}})
    kinds = {a["type"] for a in artifacts}
    assert not expect_artifacts or {"table", "markdown"} <= kinds, "checklist and summary"
    parts = [json.dumps(r["parameters"], ensure_ascii=False) for r in runs]
    parts += [str((r.get("state") or {}).get("message")) for r in runs]
    parts += [log["message"] for log in logs]
    parts += [json.dumps(a["data"], ensure_ascii=False) + str(a["description"])
              for a in artifacts]
    return "\n".join(parts)


def leaks(text: str, *secrets: str) -> list[str]:
    found = []
    for secret in secrets:
        digits = re.escape(secret)
        if re.search(digits, text, re.IGNORECASE):
            found.append(secret)
    return found


def test_no_id_number_name_or_passphrase_outside_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protected_p12: Path, all_logs: Collect,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SOHOA_SIGNING_PASSPHRASE", PASSPHRASE)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "001.png").write_bytes(form_with_identity(seed=31))
    (folder / "002.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated: quarantined with a reason")
    out = tmp_path / "out"
    assert run_cli("process", folder, "--procedure", "birth_registration", "--dossier-id",
                   "SEC-LEAK-0001", "--out", out, "-v") == 0
    captured = capfd.readouterr()

    # positive control: the page was read, ID number and name are in the bundle's text layer
    text = subprocess.run(["pdftotext", str(out / "bundle.pdf"), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    assert ID_NUMBER in text and "XUYẾN" in text
    assert len(all_logs.lines) > 10  # the handler saw the run's records

    secrets = (ID_NUMBER, NAME, "XUYẾN", PASSPHRASE, TSA_PASSWORD)
    assert leaks(captured.out + captured.err, *secrets) == []
    assert leaks("\n".join(all_logs.lines), *secrets) == []
    assert leaks(prefect_records("SEC-LEAK-0001", expect_artifacts=True), *secrets) == []
    report = (out / "report.json").read_text(encoding="utf-8")
    assert leaks(report, *secrets) == []
    assert "Số định danh" not in report and "Họ và tên" not in report  # no OCR text at all
    for path in out.rglob("*"):
        if path.is_file() and path.name != "bundle.pdf":
            assert leaks(path.read_bytes().decode("utf-8", "replace"), *secrets) == [], path


def test_wrong_passphrase_fails_without_showing_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protected_p12: Path, all_logs: Collect,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SOHOA_SIGNING_PASSPHRASE", WRONG)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "001.png").write_bytes(b"\x89PNG\r\n\x1a\n never read: signing fails first")
    out = tmp_path / "out"
    code = run_cli("process", folder, "--procedure", "birth_registration", "--dossier-id",
                   "SEC-WRONG-0001", "--out", out)
    captured = capfd.readouterr()
    assert code == ExitCode.output_error  # the bundle cannot be signed: refused before any page
    err = [line for line in captured.err.splitlines() if line.startswith("sohoa:")]
    assert len(err) == 1 and "passphrase" in err[0].lower()
    assert "Traceback" not in captured.err and not out.exists()  # no run was started
    everything = "\n".join([captured.out, captured.err, *all_logs.lines])
    assert leaks(everything, WRONG, PASSPHRASE, TSA_PASSWORD) == []


# --- tampering -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("signed")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOHOA_STATE_DIR", str(tmp_path_factory.getbasetemp() / "state"))
    mp.delenv("SOHOA_SIGNING_P12", raising=False)
    try:
        folder = base / "in"
        folder.mkdir()
        (folder / "001.png").write_bytes(form_with_identity(seed=32))
        assert run_cli("process", folder, "--procedure", "birth_registration",
                       "--out", base / "out") == 0
    finally:
        mp.undo()
    return base / "out" / "bundle.pdf"


@pytest.fixture
def verify(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment ``sohoa verify`` runs in: the development CA of the bundle's state."""
    monkeypatch.setenv("SOHOA_STATE_DIR", str(tmp_path_factory.getbasetemp() / "state"))
    monkeypatch.delenv("SOHOA_SIGNING_P12", raising=False)


def verify_json(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = run_cli("verify", path, "--json")
    return code, json.loads(capsys.readouterr().out)


def test_untouched_bundle_verifies(bundle: Path, verify, capsys) -> None:
    code, result = verify_json(bundle, capsys)
    assert code == 0 and result["ok"] is True


def _flip_at(data: bytes, where: str) -> int:
    if where == "page image":
        return data.index(b"stream", data.index(b"/Subtype /Image")) + 200
    if where == "signature value":
        return data.index(b"/Contents <") + 40
    if where == "signed metadata":
        return data.index(b"/Creator") + 12
    raise AssertionError(where)


@pytest.mark.parametrize("where", ["page image", "signature value", "signed metadata"])
def test_one_flipped_byte_fails_verification(bundle: Path, verify, capsys, tmp_path: Path,
                                             where: str) -> None:
    data = bytearray(bundle.read_bytes())
    at = _flip_at(bytes(data), where)
    data[at] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    code, result = verify_json(tampered, capsys)
    assert code == 1 and result["ok"] is False
    assert result["signature"]["problems"]


def _incremental(bundle: Path, change: str) -> bytes:
    buf = io.BytesIO(bundle.read_bytes())
    writer = IncrementalPdfFileWriter(buf)
    stream = generic.StreamObject(stream_data=b"BT /F1 48 Tf 72 400 Td (PAID IN FULL) Tj ET")
    if change == "page added":
        page = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(v) for v in (0, 0, 595, 842)]),
            generic.NameObject("/Resources"): generic.DictionaryObject(),
            generic.NameObject("/Contents"): writer.add_object(stream),
        })
        writer.insert_page(page)
    else:  # the first page's content replaced
        page_ref = writer.root["/Pages"]["/Kids"][0]
        page = page_ref.get_object()
        page[generic.NameObject("/Contents")] = writer.add_object(stream)
        writer.update_container(page)
    writer.write_in_place()
    return buf.getvalue()


@pytest.mark.parametrize("change", ["page added", "page content replaced"])
def test_incremental_update_after_signing_fails_verification(
    bundle: Path, verify, capsys, tmp_path: Path, change: str
) -> None:
    tampered = tmp_path / "updated.pdf"
    data = _incremental(bundle, change)
    assert data.startswith(bundle.read_bytes())  # the signed bytes are untouched
    tampered.write_bytes(data)
    code, result = verify_json(tampered, capsys)
    assert code == 1 and result["ok"] is False
    assert any("after signing" in p for p in result["signature"]["problems"])
    if change == "page added":
        info = subprocess.run(["pdfinfo", str(tampered)], capture_output=True, text=True,
                              check=True, timeout=60).stdout
        assert re.search(r"Pages:\s+2", info)  # a reader really shows the extra page
