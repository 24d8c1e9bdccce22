"""libtesseract in kept reader processes: real Tesseract; fake readers only to inject faults."""

from __future__ import annotations

import difflib
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from lab.synth import PageSpec, render_page
from pipeline.errors import MissingDependency, OcrError, ProgramTimeout
from pipeline.ocr import OcrConfig, engine_version, libtesseract, ocr_image, tesseract
from tests.fake_reader import fake_reader, killed

PROGRAM = OcrConfig(engine="program")
LIBRARY = OcrConfig(engine="library")
WHITE = np.full((50, 50), 255, np.uint8)


@pytest.fixture(scope="module")
def page():
    return render_page(PageSpec(doc_type="birth_reg_form", title="TỜ KHAI ĐĂNG KÝ KHAI SINH",
                                seed=7, fields=6, body_paragraphs=2, font="DejaVu Sans"))


@pytest.fixture(scope="module")
def binary(page):
    grey = cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)
    return np.where(grey < 160, 0, 255).astype(np.uint8)


@pytest.fixture
def own_readers():
    """Readers of this test only: none idle before, every one it left closed after."""
    libtesseract.close_readers()
    yield libtesseract._idle
    libtesseract.close_readers()


def word_changes(a: list[str], b: list[str]) -> int:
    ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in ops if op != "equal")


def test_the_library_is_the_default_and_has_its_version():
    assert OcrConfig().engine == "library"
    assert int(libtesseract.version().split(".")[0]) >= 5
    assert engine_version(LIBRARY) == libtesseract.version()
    assert engine_version(PROGRAM) == tesseract.version()


def test_reads_a_page_as_the_program_does(page, binary):
    lib = ocr_image(binary, dpi=page.dpi, config=LIBRARY)
    prog = ocr_image(binary, dpi=page.dpi, config=PROGRAM)
    assert lib.engine_version == libtesseract.version()
    assert (lib.width, lib.height, lib.dpi, lib.langs) == (prog.width, prog.height, prog.dpi,
                                                            prog.langs)
    words, prog_words = [w.text for w in lib.words], [w.text for w in prog.words]
    assert len(words) > 100
    assert word_changes(words, prog_words) <= len(words) // 50  # versions differ a little
    assert abs(lib.mean_conf - prog.mean_conf) < 2
    assert page.body_cer(lib.text) < 0.03
    h, w = binary.shape
    assert all(x.left >= 0 and x.left + x.width <= w and x.top + x.height <= h for x in lib.words)


def test_one_bit_grey_and_rgb_pixels_read_the_same(page, binary):
    packed = ocr_image(binary, dpi=page.dpi, config=LIBRARY)  # 0/255: one bit per pixel
    assert libtesseract._request(binary, dpi=300, config=LIBRARY)[1] == np.packbits(
        binary > 0, axis=1).tobytes()
    rgb = ocr_image(cv2.cvtColor(binary, cv2.COLOR_GRAY2RGB), dpi=page.dpi, config=LIBRARY)
    assert packed.words == rgb.words
    grey = binary.copy()
    grey[0, 0] = 254  # no longer bilevel: eight bits per pixel, thresholded by Tesseract
    assert ocr_image(grey, dpi=page.dpi, config=LIBRARY).words == packed.words


def test_empty_and_tiny_images_give_no_words():
    res = ocr_image(np.full((800, 600), 255, np.uint8), dpi=300, config=LIBRARY)
    assert res.words == () and res.mean_conf == 0.0
    assert ocr_image(np.zeros((3, 3), dtype=bool), dpi=300, config=LIBRARY).words == ()
    with pytest.raises(ValueError):
        ocr_image(np.zeros((4, 4), np.float32), dpi=300, config=LIBRARY)


def test_a_reader_is_kept_for_the_next_pages(own_readers, page, binary):
    ocr_image(binary, dpi=page.dpi, config=LIBRARY)
    assert len(own_readers) == 1
    pid = own_readers[0].proc.pid
    ocr_image(WHITE, dpi=300, config=LIBRARY)
    assert [r.proc.pid for r in own_readers] == [pid]


def test_pages_read_at_once_get_a_reader_each(own_readers, page, binary):
    alone = ocr_image(binary, dpi=page.dpi, config=LIBRARY)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def read() -> None:
        barrier.wait()
        results.append(ocr_image(binary, dpi=page.dpi, config=LIBRARY))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [r.words for r in results] == [alone.words, alone.words]  # type: ignore[attr-defined]
    assert len({r.proc.pid for r in own_readers}) == 2


def test_warmed_readers_serve_the_first_pages(own_readers, page, binary):
    assert libtesseract.warm_readers(2, config=LIBRARY) == 2
    warm = {r.proc.pid for r in own_readers}
    assert len(warm) == 2
    alone = ocr_image(binary, dpi=page.dpi, config=LIBRARY)
    assert len(alone.words) > 100
    assert {r.proc.pid for r in own_readers} == warm  # read by a warm reader, none new
    assert libtesseract.warm_readers(1, config=LIBRARY) == 2  # enough idle: none started


def test_readers_that_cannot_warm_are_left_to_the_first_page(own_readers, monkeypatch, binary):
    gone = [sys.executable, "-c", "import sys; sys.stderr.write('no tesserocr here'); sys.exit(2)"]
    monkeypatch.setattr(libtesseract, "READER", gone)
    assert libtesseract.warm_readers(2, config=LIBRARY) == 0  # never raises
    assert own_readers == []
    with pytest.raises(OcrError, match=r"exit 2\): no tesserocr here"):  # the page says why
        ocr_image(binary, dpi=300, config=LIBRARY)
    assert libtesseract.warm_readers(1, config=OcrConfig(langs="xyz")) == 0  # no such model


def test_a_hanging_reader_and_what_it_started_are_killed(own_readers, monkeypatch, tmp_path):
    monkeypatch.setattr(libtesseract, "READER", fake_reader(tmp_path, {300: "hang"}))
    started = time.monotonic()
    with pytest.raises(ProgramTimeout, match="did not finish within 2 s") as info:
        ocr_image(WHITE, dpi=300, config=OcrConfig(timeout_s=2))
    assert time.monotonic() - started < 10 and not info.value.retryable
    assert own_readers == []  # killed, not kept
    assert killed(int((tmp_path / 'child.pid').read_text()))

def test_a_crash_costs_one_page_and_the_next_page_gets_a_new_reader(
    own_readers, monkeypatch, tmp_path, page, binary
):
    monkeypatch.setattr(libtesseract, "READER", fake_reader(tmp_path, {260: "crash"}))
    with pytest.raises(OcrError, match=r"crashed \(SIGSEGV\)"):
        ocr_image(WHITE, dpi=260, config=LIBRARY)
    assert own_readers == []
    assert len(ocr_image(binary, dpi=page.dpi, config=LIBRARY).words) > 100
    assert len(own_readers) == 1


def test_a_reader_that_exits_says_how_without_page_text(own_readers, monkeypatch, tmp_path):
    monkeypatch.setattr(libtesseract, "READER", fake_reader(tmp_path, {300: "exit"}))
    with pytest.raises(OcrError, match=r"exit 3\): Error in pixReadMem"):
        ocr_image(WHITE, dpi=300, config=LIBRARY)


def test_a_reader_that_ends_before_reading_the_page(own_readers, monkeypatch, binary):
    gone = [sys.executable, "-c", "import sys; sys.stderr.write('no tesserocr here'); sys.exit(2)"]
    monkeypatch.setattr(libtesseract, "READER", gone)
    with pytest.raises(OcrError, match=r"exit 2\): no tesserocr here"):
        ocr_image(binary, dpi=300, config=LIBRARY)  # ~1 MB: more than the pipe holds


def test_missing_language_and_missing_tesserocr(monkeypatch):
    with pytest.raises(MissingDependency, match=r"xyz\.traineddata"):
        ocr_image(WHITE, dpi=300, config=OcrConfig(langs="xyz"))
    monkeypatch.setitem(sys.modules, "tesserocr", None)  # import fails
    libtesseract.version.cache_clear()
    try:
        with pytest.raises(MissingDependency, match="SOHOA_OCR_ENGINE=program"):
            ocr_image(WHITE, dpi=300, config=LIBRARY)
    finally:
        libtesseract.version.cache_clear()

