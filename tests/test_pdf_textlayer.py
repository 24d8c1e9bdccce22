"""Invisible text layer and glyphless font, checked with poppler's own extraction."""

from __future__ import annotations

import io
import subprocess
import tempfile
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from fontTools.ttLib import TTFont

from pipeline.errors import PdfError
from pipeline.pdf import ArchiveMetadata, BundlePage, build_bundle, encode_page_image
from pipeline.pdf.font import GLYPH_WIDTH, glyphless_font_program, to_unicode_cmap
from pipeline.pdf.textlayer import encode_text, text_layer_ops
from pipeline.types import Word

VN = timezone(timedelta(hours=7))
LINES = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "Họ và tên: Nguyễn Thị Ánh Tuyết",
    "Nơi sinh: Bệnh viện Phụ sản Hà Nội",
]


def _words(lines: list[str], *, scale: float = 1.0) -> list[Word]:
    """Word boxes laid out like a 300-dpi page: 40 px per char, 90 px line pitch."""
    words = []
    for li, line in enumerate(lines):
        x = 300
        for token in line.split():
            w = int(len(token) * 40 * scale)
            words.append(Word(token, int(x * scale), int((300 + li * 90) * scale), w,
                              int(60 * scale), 95.0, 1, 1, li))
            x += len(token) * 40 + 30
    return words


def _bundle(words: list[Word], ocr_size: tuple[int, int]) -> bytes:
    page = np.full((3508, 2480), 250, np.uint8)
    enc = encode_page_image(page, dpi=300)
    meta = ArchiveMetadata(dossier_code="T-1", title="Thử", retention_period="10 năm",
                           access_level="Công khai", document_count=1, sheet_count=1,
                           page_count=1)
    return build_bundle([BundlePage(enc, tuple(words), *ocr_size)], outline=[], meta=meta,
                        created=datetime(2026, 1, 2, 3, 4, 5, tzinfo=VN))


def _poppler(args: list[str], pdf: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.pdf"
        path.write_bytes(pdf)
        out = subprocess.run([*args, str(path), "-"], capture_output=True, timeout=60,
                             check=True)
    return out.stdout.decode("utf-8")


@pytest.mark.parametrize("layout", [[], ["-layout"]])
def test_pdftotext_gives_lines_in_order(layout: list[str]) -> None:
    pdf = _bundle(_words(LINES), (2480, 3508))
    text = _poppler(["pdftotext", "-enc", "UTF-8", *layout], pdf)
    got = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    assert [unicodedata.normalize("NFC", g) for g in got] == LINES


def test_word_boxes_land_where_the_ocr_saw_them() -> None:
    words = _words(LINES)
    pdf = _bundle(words, (2480, 3508))
    xml = _poppler(["pdftotext", "-bbox"], pdf)
    import xml.etree.ElementTree as ET

    boxes = [
        (w.text, float(w.get("xMin", 0)), float(w.get("yMin", 0)), float(w.get("xMax", 0)),
         float(w.get("yMax", 0)))
        for w in ET.fromstring(xml).iter("{http://www.w3.org/1999/xhtml}word")
    ]
    assert [b[0] for b in boxes] == [w.text for w in words]
    k = 72 / 300
    for (_, x0, y0, x1, y1), w in zip(boxes, words, strict=True):
        assert x0 == pytest.approx(w.left * k, abs=0.5)
        assert x1 == pytest.approx((w.left + w.width) * k, abs=0.5)
        assert y0 == pytest.approx(w.top * k, abs=0.5)
        assert y1 == pytest.approx((w.top + w.height) * k, abs=0.5)


def test_ocr_at_other_resolution_is_scaled() -> None:
    # OCR ran on a 150-dpi copy of the same page: boxes still land in place.
    words = _words(LINES, scale=0.5)
    pdf = _bundle(words, (1240, 1754))
    xml = _poppler(["pdftotext", "-bbox"], pdf)
    assert 'xMin="72.000000"' in xml  # 150 px at 150 dpi = 1 inch


def test_decomposed_input_is_extracted_as_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    words = _words([decomposed])
    text = _poppler(["pdftotext", "-enc", "UTF-8"], _bundle(words, (2480, 3508)))
    assert text.split() == ["Nguyễn", "Thị", "Ánh"]
    assert unicodedata.is_normalized("NFC", text)


def test_encode_text_is_utf16_code_units() -> None:
    assert encode_text("Ánh") == "<00C1006E0068>"
    assert encode_text("A\u0301") == "<00C1>"  # NFC first
    assert encode_text("\U0001F600") == "<FFFD>"  # outside the BMP


def test_ops_invisible_and_empty_without_words() -> None:
    ops = text_layer_ops(_words(LINES[:1]), img_w=2480, img_h=3508, page_w_pt=595.2,
                         page_h_pt=841.92)
    assert ops.startswith(b"BT\n3 Tr\n") and ops.endswith(b"ET\n")
    blank = [Word(" ", 1, 1, 5, 5, 0.0)]
    assert text_layer_ops(blank, img_w=10, img_h=10, page_w_pt=10, page_h_pt=10) == b""
    with pytest.raises(PdfError):
        text_layer_ops([], img_w=0, img_h=10, page_w_pt=10, page_h_pt=10)


def test_font_program_has_one_blank_glyph_matching_widths() -> None:
    font = TTFont(io.BytesIO(glyphless_font_program()))
    assert font.getGlyphOrder() == [".notdef", "glyph1"]
    assert font["head"].unitsPerEm == 1000
    assert font["hmtx"]["glyph1"] == (GLYPH_WIDTH, 0)
    assert font["glyf"]["glyph1"].numberOfContours == 0
    assert glyphless_font_program() == glyphless_font_program()


def test_pdf_font_structure() -> None:
    pdf = pikepdf.open(io.BytesIO(_bundle(_words(LINES), (2480, 3508))))
    font = pdf.pages[0].Resources.Font.F0
    assert font.Subtype == "/Type0" and font.Encoding == "/Identity-H"
    cid = font.DescendantFonts[0]
    assert cid.Subtype == "/CIDFontType2"
    assert list(cid.W) == [0, 65535, GLYPH_WIDTH] and cid.DW == GLYPH_WIDTH
    assert cid.CIDToGIDMap.read_bytes() == b"\x00\x01" * 65536
    assert cid.FontDescriptor.FontFile2.read_bytes() == glyphless_font_program()
    assert font.ToUnicode.read_bytes() == to_unicode_cmap()
    assert b"<1E00> <1EFF> <1E00>" in to_unicode_cmap()  # Vietnamese letters block
