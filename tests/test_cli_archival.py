"""Archival signatures through the command line, as an operator uses them: the agency's
key and a timestamp authority from the environment (the test PKI of tests/pki.py),
``sohoa process`` signing B-LTA, ``sohoa verify --at``, ``sohoa retimestamp`` renewing
the archive as new versions; production without an authority refuses to start."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.settings import Settings
from flows.signing import build_archival, build_signer
from pipeline.errors import SigningError
from tests.pki import Pki

SOHOA = str(Path(sys.executable).parent / "sohoa")
SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "birth-complete"


def sohoa(*args: object, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SOHOA, *map(str, args)], capture_output=True, text=True,
                          timeout=600, check=False, env={**os.environ, **env})


@pytest.fixture(scope="module")
def agency(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    state = tmp_path_factory.mktemp("state")
    return {"SOHOA_STATE_DIR": str(state), "SOHOA_SIGNING_P12": str(pki.signer_p12()),
            "SOHOA_SIGNING_PASSPHRASE": "test", "SOHOA_TSA_URL": pki.tsa_url,
            "SOHOA_TRUST_ROOTS": str(pki.root_pem),
            "SOHOA_STORAGE_ROOT": str(state / "storage")}


def test_production_key_without_an_authority_refuses(agency: dict[str, str]) -> None:
    without = {k: v for k, v in agency.items() if k != "SOHOA_TSA_URL"}
    with pytest.raises(SigningError, match="SOHOA_TSA_URL"):
        build_signer(Settings.from_env(without))
    done = sohoa("process", SAMPLE, "--out", Path(agency["SOHOA_STATE_DIR"]) / "refused",
                 env={**without, "SOHOA_TSA_URL": ""})
    assert done.returncode != 0
    assert "SOHOA_TSA_URL" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (Path(agency["SOHOA_STATE_DIR"]) / "refused" / "bundle.pdf").exists()


def test_the_embedded_default_says_it_is_not_archival(tmp_path: Path) -> None:
    settings = Settings.from_env({"SOHOA_STATE_DIR": str(tmp_path)})
    assert build_archival(settings) is None  # B-B with the development CA


def test_process_signs_b_lta_verify_and_retimestamp(agency: dict[str, str],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = sohoa("process", SAMPLE, "--out", out, env=agency)
    assert done.returncode == 0, done.stderr
    assert "signature B-LTA (archival)" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["bundle"]["signature"] == "B-LTA"

    checked = sohoa("verify", out / "bundle.pdf", "--at", "2028-12-31", env=agency)
    assert checked.returncode == 0, checked.stdout  # the signer's certificate has expired
    assert "level      B-LTA" in checked.stdout and "long-term  PASSED/OK" in checked.stdout
    assert checked.stdout.count("timestamp  ") == 2

    # the bundle in archive, as the deployed system keeps it; and a B-B one beside it
    archive = Path(agency["SOHOA_STORAGE_ROOT"]) / "archive"
    for name in ("bundle.pdf", "report.json"):
        (archive / "cau-giay" / "D-1").mkdir(parents=True, exist_ok=True)
        shutil.copy(out / name, archive / "cau-giay" / "D-1" / name)
    plain = sohoa("process", SAMPLE, "--out", tmp_path / "plain",
                  env={"SOHOA_STATE_DIR": agency["SOHOA_STATE_DIR"]})
    assert "signature B-B (development certificate" in plain.stdout
    (archive / "cau-giay" / "D-2").mkdir(parents=True)
    shutil.copy(tmp_path / "plain" / "bundle.pdf", archive / "cau-giay" / "D-2" / "bundle.pdf")

    assert "not due" in sohoa("retimestamp", env=agency).stdout  # ten years left
    renewed = sohoa("retimestamp", "--within-days", "4000", env=agency)
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    lines = renewed.stdout.splitlines()[1:]  # after the line naming the archive
    assert lines[0].startswith("renewed") and "cau-giay/D-1/bundle.pdf" in lines[0]
    assert lines[1].startswith("not archival") and "cau-giay/D-2/bundle.pdf" in lines[1]
    versions = list((archive / "cau-giay" / "D-1" / "versions").iterdir())
    assert len(versions) == 1 and (versions[0] / "bundle.pdf").read_bytes() == (
        out / "bundle.pdf").read_bytes()  # the previous version, kept as it was
    new = (archive / "cau-giay" / "D-1" / "bundle.pdf").read_bytes()
    assert new.startswith((out / "bundle.pdf").read_bytes())
    stored = json.loads((archive / "cau-giay" / "D-1" / "report.json").read_text())
    import hashlib

    assert stored["bundle"]["sha256"] == hashlib.sha256(new).hexdigest()
    again = sohoa("verify", archive / "cau-giay" / "D-1" / "bundle.pdf", env=agency)
    assert again.returncode == 0 and again.stdout.count("timestamp  ") == 3


class FlakyAuthority:
    """The test PKI's timestamp authority behind a proxy that answers its first
    request with HTTP 503, as an authority does during a restart (a real fault)."""

    def __init__(self, target: str) -> None:
        import http.server
        import threading

        import httpx

        self.requests: list[int] = []
        self.auth: set[str] = set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.auth.add(self.headers.get("Authorization", ""))
                if not outer.requests:
                    outer.requests.append(503)
                    self.send_error(503, "restarting")
                    return
                answer = httpx.post(target, content=body, timeout=10,
                                    headers={"Content-Type": self.headers["Content-Type"]})
                outer.requests.append(answer.status_code)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers["Content-Type"])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_an_authority_that_fails_once_is_tried_again(agency: dict[str, str], pki: Pki,
                                                     tmp_path: Path) -> None:
    flaky = FlakyAuthority(pki.tsa_url)
    try:
        done = sohoa("process", SAMPLE, "--out", tmp_path / "out",
                     env={**agency, "SOHOA_TSA_URL": flaky.url, "SOHOA_TSA_USERNAME": "sohoa",
                          "SOHOA_TSA_PASSWORD": "mật khẩu"})
    finally:
        flaky.server.shutdown()
    assert done.returncode == 0, done.stderr
    assert flaky.requests[0] == 503 and flaky.requests.count(200) >= 2  # sig + document
    pair = base64.b64encode("sohoa:mật khẩu".encode()).decode()
    assert flaky.auth == {f"Basic {pair}"}  # the credentials, on every request
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["bundle"]["signature"] == "B-LTA"


def test_retimestamp_reports_a_damaged_bundle_and_goes_on(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from flows.retimestamp import renew_archive
    from pipeline.storage.local import LocalStorage

    storage = LocalStorage(tmp_path)
    storage.ensure_bucket("archive")
    storage.put("archive", "b/D-9/bundle.pdf", b"%PDF-1.7 torn", content_type="application/pdf")
    found = renew_archive(storage, "archive", archival=None, within=timedelta(days=180),
                          now=datetime.now(UTC))
    assert [(r.key, r.action) for r in found] == [("b/D-9/bundle.pdf", "failed")]
    assert "unreadable" in found[0].detail
