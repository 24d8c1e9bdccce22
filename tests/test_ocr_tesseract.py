"""Real Tesseract on synthetic pages; mocks only to inject faults."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from lab.synth import PageSpec, render_page
from pipeline.errors import MissingDependency, OcrError, ProgramTimeout
from pipeline.ocr import tesseract
from pipeline.ocr.tesseract import OcrConfig, languages, ocr_image, parse_tsv, version
from tests.fake_reader import killed


@pytest.fixture(scope="module")
def page():
    return render_page(
        PageSpec(
            doc_type="birth_reg_form",
            title="TỜ KHAI ĐĂNG KÝ KHAI SINH",
            seed=7,
            fields=6,
            body_paragraphs=2,
            font="DejaVu Sans",
        )
    )


@pytest.fixture(scope="module")
def result(page):
    grey = cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)
    return ocr_image(grey, dpi=page.dpi, config=OcrConfig())


@pytest.fixture
def fresh_probes():
    tesseract._version_of.cache_clear()
    tesseract._list_langs.cache_clear()
    yield
    tesseract._version_of.cache_clear()
    tesseract._list_langs.cache_clear()


def test_version_and_languages():
    assert int(version().split(".")[0]) >= 5
    langs = languages("vie+eng")
    assert {"vie", "eng"} <= langs
    assert (Path(tesseract.tessdata_path()) / "vie.traineddata").is_file()


def test_words_found_with_boxes_inside_image(page, result):
    h, w = page.image.shape[:2]
    assert (result.width, result.height) == (w, h)
    assert len(result.words) > 100
    for word in result.words:
        assert word.text.strip() == word.text and word.text
        assert word.left >= 0 and word.left + word.width <= w
        assert word.top >= 0 and word.top + word.height <= h
        assert 0 <= word.conf <= 100
    assert 80 < result.mean_conf <= 100
    assert result.engine_version == version()
    texts = {wd.text for wd in result.words}
    assert "KHAI" in texts and "SINH" in texts


def test_clean_page_body_cer_below_3_percent(page, result):
    assert page.body_text
    assert page.body_cer(result.text) < 0.03


def test_rgb_input_is_accepted(page):
    crop = page.image[page.body_box[1] : page.body_box[1] + 400, :]  # a few body lines, RGB
    res = ocr_image(crop, dpi=page.dpi, config=OcrConfig(langs="vie", psm=6))
    first = page.body_text.splitlines()[0]
    assert res.text.splitlines()[0].split()[:2] == first.split()[:2]


def test_a_binarised_page_goes_one_bit_per_pixel_and_reads_the_same(page):
    grey = cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)
    binary = np.where(grey < 160, 0, 255).astype(np.uint8)
    bilevel = tesseract._to_png(binary)
    assert Image.open(io.BytesIO(bilevel)).mode == "1"
    assert Image.open(io.BytesIO(tesseract._to_png(grey))).mode == "L"  # grey stays grey
    eight_bit = cv2.imencode(".png", binary, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
    args = tesseract._command(page.dpi, OcrConfig())
    config = OcrConfig()
    assert tesseract._run_killable(args, bilevel, config)[1] == tesseract._run_killable(
        args, eight_bit, config)[1]


def test_empty_white_image_gives_no_words():
    res = ocr_image(np.full((800, 600), 255, np.uint8), dpi=300, config=OcrConfig())
    assert res.words == () and res.mean_conf == 0.0 and res.text == ""


def test_tiny_and_binary_images_are_harmless():
    res = ocr_image(np.zeros((3, 3), dtype=bool), dpi=300)
    assert res.words == ()


def test_timeout_raises_program_timeout(page):
    with pytest.raises(ProgramTimeout) as info:
        ocr_image(page.image, dpi=300, config=OcrConfig(timeout_s=0.001))
    assert not info.value.retryable


def test_missing_binary_raises_missing_dependency(monkeypatch, fresh_probes):
    monkeypatch.setattr(tesseract, "TESSERACT", "/nonexistent/bin/tesseract-sohoa")
    with pytest.raises(MissingDependency):
        version()
    with pytest.raises(MissingDependency):
        ocr_image(np.full((50, 50), 255, np.uint8), dpi=300)


def test_old_version_raises_missing_dependency(monkeypatch, fresh_probes):
    real_run = subprocess.run

    def fake_run(args, **kwargs):
        if args[-1] == "--version":
            return subprocess.CompletedProcess(args, 0, "tesseract 4.1.1\n leptonica-1.79", "")
        return real_run(args, **kwargs)

    monkeypatch.setattr(tesseract.subprocess, "run", fake_run)
    with pytest.raises(MissingDependency, match="too old"):
        version()


def test_missing_language_names_traineddata(fresh_probes):
    with pytest.raises(MissingDependency, match=r"xyz\.traineddata"):
        languages("vie+xyz")
    with pytest.raises(MissingDependency, match=r"xyz\.traineddata"):
        ocr_image(np.full((50, 50), 255, np.uint8), dpi=300, config=OcrConfig(langs="xyz"))


def fake_tesseract(folder: Path, body: str) -> str:
    """A `tesseract` that answers probes with the real one and runs ``body`` for OCR."""
    real = shutil.which("tesseract")
    assert real
    script = folder / "tesseract"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in --version|--list-langs|--tessdata-dir) exec {real} "$@";; esac\n'
        + body + "\n"
    )
    script.chmod(0o755)
    return str(script)


def test_nonzero_exit_raises_ocr_error_without_text(monkeypatch, tmp_path):
    fake = fake_tesseract(tmp_path, 'cat >/dev/null; echo "Error during processing." >&2; exit 1')
    monkeypatch.setattr(tesseract, "TESSERACT", fake)
    with pytest.raises(OcrError, match="exit 1"):
        ocr_image(np.full((50, 50), 255, np.uint8), dpi=300)


def test_crash_is_named_by_its_signal(monkeypatch, tmp_path):
    fake = fake_tesseract(tmp_path, "cat >/dev/null; kill -SEGV $$")
    monkeypatch.setattr(tesseract, "TESSERACT", fake)
    with pytest.raises(OcrError, match="crashed \\(SIGSEGV\\)"):
        ocr_image(np.full((50, 50), 255, np.uint8), dpi=300)


def test_timeout_kills_the_program_and_what_it_started(monkeypatch, tmp_path):
    pid_file = tmp_path / "child.pid"
    # the shell starts a child that would hold the output pipe open for a minute
    fake = fake_tesseract(tmp_path, f"sleep 60 & echo $! > {pid_file}; wait")
    monkeypatch.setattr(tesseract, "TESSERACT", fake)
    with pytest.raises(ProgramTimeout, match="did not finish within 1 s"):
        ocr_image(np.full((50, 50), 255, np.uint8), dpi=300, config=OcrConfig(timeout_s=1))
    assert killed(int(pid_file.read_text()))

def test_per_call_env_limits_threads_without_touching_os_environ(monkeypatch, tmp_path):
    env_file = tmp_path / "env.txt"
    fake = fake_tesseract(tmp_path, f"env > {env_file}; exec {shutil.which('tesseract')} \"$@\"")
    monkeypatch.setattr(tesseract, "TESSERACT", fake)
    before = dict(os.environ)
    ocr_image(np.full((50, 50), 255, np.uint8), dpi=300, config=OcrConfig(threads=2))
    assert "OMP_THREAD_LIMIT=2" in env_file.read_text().splitlines()
    assert dict(os.environ) == before


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        OcrConfig(langs="vie; rm -rf /")
    with pytest.raises(ValueError):
        OcrConfig(psm=14)
    with pytest.raises(ValueError):
        OcrConfig(variables=(("bad name", "1"),))
    cfg = OcrConfig()
    with pytest.raises(ValueError):
        cfg.psm = 6  # type: ignore[misc]


def test_parse_tsv_keeps_words_only_and_normalises_nfc():
    decomposed = "Vie\u0302\u0323t"  # "Việt" in NFD
    header = "\t".join(
        [
            "level",
            "page_num",
            "block_num",
            "par_num",
            "line_num",
            "word_num",
            "left",
            "top",
            "width",
            "height",
            "conf",
            "text",
        ]
    )
    rows = [
        header,
        "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t",
        "4\t1\t1\t1\t1\t0\t10\t10\t50\t12\t-1\t",
        f"5\t1\t1\t1\t1\t1\t10\t10\t20\t12\t91.5\t{decomposed}",
        "5\t1\t1\t1\t1\t2\t35\t10\t20\t12\t95\t ",
        "5\t1\t2\t1\t1\t1\t10\t40\t20\t12\t88\tNam",
    ]
    words = parse_tsv("\n".join(rows))
    assert [w.text for w in words] == ["Việt", "Nam"]
    assert words[0].text == "Vi\u1ec7t"
    assert words[1].line_key == (2, 1, 1)
    assert (words[0].left, words[0].top, words[0].width, words[0].height) == (10, 10, 20, 12)
