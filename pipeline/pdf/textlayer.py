"""Invisible text layer: OCR words drawn in the glyphless font (rendering mode 3).

Per OCR line the em box of the font spans the line's box (so a viewer's search
highlight covers the words); each word starts at its box's left edge and is
stretched with horizontal scaling (Tz) to the box width; a space glyph stretched
over the gap separates words, so text extraction yields "word word" per line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from pipeline.errors import PdfError
from pipeline.pdf.font import DESCENT_FRACTION, WIDTH_FRACTION
from pipeline.types import Word

FONT_RESOURCE = "/F0"
_MIN_TZ = 1.0  # horizontal scaling floor (percent), keeps the matrix invertible


def _num(value: float) -> str:
    """Compact, deterministic number formatting for content streams."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def encode_text(text: str) -> str:
    """NFC text as a hex string of 2-byte codes (CID == UTF-16 code unit, BMP only)."""
    nfc = unicodedata.normalize("NFC", text)
    units = [ord(ch) if ord(ch) <= 0xFFFF else 0xFFFD for ch in nfc]
    units = [0xFFFD if 0xD800 <= u <= 0xDFFF else u for u in units]
    return "<" + "".join(f"{u:04X}" for u in units) + ">"


def _group_lines(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped by line, lines in first-seen order, words in OCR order."""
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for word in words:
        if word.text.strip() and word.width > 0 and word.height > 0:
            lines.setdefault(word.line_key, []).append(word)
    return list(lines.values())


def _line_ops(line: list[Word], sx: float, sy: float, page_h_pt: float) -> list[str]:
    top = min(w.top for w in line)
    bottom = max(w.top + w.height for w in line)
    size = max((bottom - top) * sy, 0.5)
    baseline = page_h_pt - bottom * sy + DESCENT_FRACTION * size
    advance = WIDTH_FRACTION * size  # width of one glyph at 100 % scaling
    ops = [f"{FONT_RESOURCE} {_num(size)} Tf"]
    for i, word in enumerate(line):
        text = unicodedata.normalize("NFC", word.text.strip())
        x = word.left * sx
        width = word.width * sx
        hex_text = encode_text(text)
        n_units = (len(hex_text) - 2) // 4
        tz = max(100.0 * width / (advance * n_units), _MIN_TZ)
        ops.append(f"{_num(tz)} Tz 1 0 0 1 {_num(x)} {_num(baseline)} Tm {hex_text} Tj")
        if i + 1 < len(line):
            gap = line[i + 1].left * sx - (x + width)
            space_tz = max(100.0 * gap / advance, _MIN_TZ)
            ops.append(f"{_num(space_tz)} Tz <0020> Tj")
    return ops


def text_layer_ops(
    words: Sequence[Word],
    *,
    img_w: int,
    img_h: int,
    page_w_pt: float,
    page_h_pt: float,
) -> bytes:
    """Content-stream operators drawing ``words`` invisibly over a page.

    Word boxes are in pixels of an ``img_w`` x ``img_h`` image (top-left origin)
    covering the whole page of ``page_w_pt`` x ``page_h_pt`` points. The font must
    be available as resource ``/F0``. Returns b"" when there is no text.
    """
    if img_w <= 0 or img_h <= 0 or page_w_pt <= 0 or page_h_pt <= 0:
        raise PdfError("text layer needs positive image and page sizes")
    lines = _group_lines(words)
    if not lines:
        return b""
    sx = page_w_pt / img_w
    sy = page_h_pt / img_h
    ops = ["BT", "3 Tr"]
    for line in lines:
        ops.extend(_line_ops(line, sx, sy, page_h_pt))
    ops.append("ET")
    return ("\n".join(ops) + "\n").encode("ascii")
