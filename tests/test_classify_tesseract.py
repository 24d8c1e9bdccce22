"""Title classification on real Tesseract output of rendered pages (DejaVu Sans Bold, 300 dpi)."""

from __future__ import annotations

import io
import os
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from models.catalog import load_catalog
from pipeline.classify import PageText, TitleClassifier
from pipeline.types import OcrResult, Word

BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WIDTH, HEIGHT = 2480, 1400  # top part of an A4 page at 300 dpi


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(lines[-1] + " " + word, font=font) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def render(title: str | None, *, noisy: bool = False) -> Image.Image:
    img = Image.new("L", (WIDTH, HEIGHT), 255)
    d = ImageDraw.Draw(img)
    small = ImageFont.truetype(BOLD, 40)
    d.text((150, 100), "ỦY BAN NHÂN DÂN", font=small, fill=0)
    d.text((1150, 100), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font=small, fill=0)
    d.text((1350, 160), "Độc lập - Tự do - Hạnh phúc", font=small, fill=0)
    y = 380
    if title:
        big = ImageFont.truetype(BOLD, 60)  # ~14.4 pt at 300 dpi
        for line in _wrap(d, title, big, 2000):
            d.text(((WIDTH - d.textlength(line, font=big)) / 2, y), line, font=big, fill=0)
            y += 90
    body = ImageFont.truetype(REGULAR, 40)
    for i, line in enumerate(
        ("Họ, chữ đệm, tên người yêu cầu: Nguyễn Văn An", "Nơi cư trú: phường Hoàn Kiếm, Hà Nội")
    ):
        d.text((200, y + 150 + 80 * i), line, font=body, fill=0)
    if noisy:  # scanner-like: slight blur and speckle
        img = img.filter(ImageFilter.GaussianBlur(1.2))
        arr = np.asarray(img).astype(np.int16)
        rng = np.random.default_rng(7)
        arr += rng.normal(0, 25, arr.shape).astype(np.int16)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return img


def tesseract(img: Image.Image) -> OcrResult:
    """Minimal TSV reader (the OCR stage has its own; this keeps the test self-contained)."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(300, 300))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_THREAD_LIMIT": "1"}
    proc = subprocess.run(
        ["tesseract", "-", "-", "-l", "vie", "--dpi", "300", "tsv"],
        input=buf.getvalue(), capture_output=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    words = []
    for row in proc.stdout.decode("utf-8").splitlines()[1:]:
        c = row.split("\t")
        if len(c) >= 12 and c[0] == "5" and c[11].strip():
            words.append(Word(c[11], int(c[6]), int(c[7]), int(c[8]), int(c[9]), float(c[10]),
                              int(c[2]), int(c[3]), int(c[4])))  # fmt: skip
    confs = [w.conf for w in words]
    mean = sum(confs) / len(confs) if confs else 0.0
    return OcrResult(tuple(words), img.width, img.height, 300.0, mean, "vie")


@pytest.fixture(scope="module")
def clf() -> TitleClassifier:
    return TitleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("title", "expected", "noisy"),
    [
        ("TỜ KHAI ĐĂNG KÝ KHAI SINH", "birth_reg_form", False),
        ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "marital_status_cert", False),
        ("TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "marital_status_form", False),
        (
            "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở"
            " VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT",
            "land_certificate",
            False,
        ),
        ("BẢN ÁN SỐ 12/2023/HNGĐ-ST V/V LY HÔN", "divorce_decision", False),
        ("CĂN CƯỚC CÔNG DÂN", "citizen_id", True),
        ("GIẤY ỦY QUYỀN", "authorization", True),
        ("ĐƠN ĐỀ NGHỊ CẤP GIẤY PHÉP XÂY DỰNG", "building_permit_application", True),
    ],
)
def test_real_tesseract_title(clf: TitleClassifier, title: str, expected: str, noisy: bool) -> None:
    ocr = tesseract(render(title, noisy=noisy))
    assert ocr.words, "tesseract found no text"
    label = clf.classify(PageText(ocr))
    assert (label.doc_type, label.starts_document) == (expected, True)
    assert label.confidence >= 0.75


def test_real_tesseract_page_without_title(clf: TitleClassifier) -> None:
    ocr = tesseract(render(None))
    assert "Nguyễn" in ocr.text or "Nguyen" in ocr.text
    label = clf.classify(PageText(ocr))
    assert (label.doc_type, label.starts_document) == ("unknown", False)
