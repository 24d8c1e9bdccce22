"""Faults through ``sohoa process``: Tesseract hanging or crashing on one page.

For each OCR engine, the fault is injected on one specific page, recognised by
the resolution it is read at (250 hangs, 260 crashes), and every other page is
read by the real Tesseract: the program through a fake ``tesseract``
(pipeline.ocr.tesseract.TESSERACT monkeypatched to a script), the library through
a fake reader (pipeline.ocr.libtesseract.READER, :mod:`tests.fake_reader`).
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from flows.cli import main
from lab.synth.render import PageSpec, render_page
from pipeline.ocr import libtesseract, tesseract
from tests.fake_reader import fake_reader

TIMEOUT_S = 15  # generous for the good pages on a loaded 2-core machine


def page_png(title: str, doc_type: str, seed: int, dpi: int) -> bytes:
    page = render_page(PageSpec(doc_type=doc_type, title=title, seed=seed, dpi=dpi,
                                fields=3, body_paragraphs=1))
    buf = io.BytesIO()
    Image.fromarray(page.image).convert("L").save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def fake_tesseract(folder: Path) -> Path:
    real = shutil.which("tesseract")
    assert real
    script = folder / "tesseract"
    script.write_text(f"""#!/bin/sh
case " $* " in
  *" --dpi 250 "*) cat >/dev/null; sleep 600 & wait ;;  # hangs, with a child holding stdout
  *" --dpi 260 "*) cat >/dev/null; kill -SEGV $$ ;;    # crashes
esac
exec {real} "$@"
""")
    script.chmod(0o755)
    return script


@pytest.fixture(params=["library", "program"])
def hurt_dossier(request: pytest.FixtureRequest, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, dict, Path, Path]]:
    monkeypatch.setenv("SOHOA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SOHOA_OCR_TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("SOHOA_OCR_ENGINE", request.param)
    libtesseract.close_readers()  # the page must meet the fake, not a reader kept from before
    if request.param == "program":
        monkeypatch.setattr(tesseract, "TESSERACT", str(fake_tesseract(tmp_path)))
    else:
        monkeypatch.setattr(libtesseract, "READER", fake_reader(tmp_path, {250: "hang",
                                                                           260: "crash"}))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "001.png").write_bytes(page_png("TỜ KHAI ĐĂNG KÝ KHAI SINH", "birth_reg_form",
                                              seed=21, dpi=300))
    (folder / "002.png").write_bytes(page_png("GIẤY CHỨNG SINH", "birth_certificate_medical",
                                              seed=24, dpi=300))
    (folder / "002-hangs.png").write_bytes(page_png("GIẤY CHỨNG SINH",
                                                    "birth_certificate_medical", seed=22, dpi=250))
    (folder / "003-crashes.png").write_bytes(page_png("GIẤY CHỨNG SINH",
                                                      "birth_certificate_medical", seed=23,
                                                      dpi=260))
    out = tmp_path / "out"
    code = main(["process", str(folder), "--procedure", "birth_registration", "--out", str(out)])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    yield code, report, folder, out
    libtesseract.close_readers()  # the fake's readers serve no later test


def test_hanging_and_crashing_tesseract_flag_their_page_only(hurt_dossier) -> None:
    code, report, folder, out = hurt_dossier
    assert code == 0
    assert report["status"] == "needs_review"  # all required there; two pages unreadable
    pages = {p["source"]: p for p in report["pages"]}
    good = pages["001.png"]
    assert good["error"] is None and good["bundle_page"] == 1
    assert good["doc_type"] == "birth_reg_form"
    assert pages["002.png"]["doc_type"] == "birth_certificate_medical"
    hung = pages["002-hangs.png"]
    assert hung["bundle_page"] is None
    assert f"did not finish within {TIMEOUT_S} s" in hung["error"]
    crashed = pages["003-crashes.png"]
    assert crashed["bundle_page"] is None and "crashed (SIGSEGV)" in crashed["error"]
    assert report["bundle"]["pages"] == 2
    assert main(["verify", str(out / "bundle.pdf")]) == 0
    for name in ("002-hangs.png", "003-crashes.png"):
        assert (out / "quarantine" / name).read_bytes() == (folder / name).read_bytes()
