"""A glyphless font for invisible, searchable text (as Tesseract and OCRmyPDF do).

Type0 font, Identity-H encoding, CIDFontType2 descendant whose embedded TrueType
program has one empty glyph; every CID maps to it (CIDToGIDMap stream), every
CID has the same width, and the ToUnicode CMap maps CID == Unicode code point
(UTF-16BE, Basic Multilingual Plane, which covers Vietnamese).
"""

from __future__ import annotations

import io
import zlib
from functools import lru_cache

import pikepdf
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from pikepdf import Array, Dictionary, Name

FONT_NAME = "GlyphLessFont"
UNITS_PER_EM = 1000
GLYPH_WIDTH = 500  # advance of every glyph, in 1/1000 em (PDF glyph space)
ASCENT = 800
DESCENT = -200
# Fractions of the font size, used by the text layer to place the em box.
ASCENT_FRACTION = ASCENT / UNITS_PER_EM
DESCENT_FRACTION = -DESCENT / UNITS_PER_EM
WIDTH_FRACTION = GLYPH_WIDTH / UNITS_PER_EM
# Fixed font timestamps keep the bundle byte-identical between runs.
_FIXED_TIMESTAMP = 3_786_912_000  # seconds since 1904-01-01 (2024-01-01)


@lru_cache(maxsize=1)
def glyphless_font_program() -> bytes:
    """The TrueType program: .notdef and one empty glyph, both GLYPH_WIDTH wide."""
    fb = FontBuilder(UNITS_PER_EM, isTTF=True)
    fb.setupGlyphOrder([".notdef", "glyph1"])
    fb.setupCharacterMap({0x20: "glyph1"})
    empty = TTGlyphPen(None).glyph()
    fb.setupGlyf({".notdef": empty, "glyph1": TTGlyphPen(None).glyph()})
    fb.setupHorizontalMetrics({".notdef": (GLYPH_WIDTH, 0), "glyph1": (GLYPH_WIDTH, 0)})
    fb.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    fb.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular", "psName": FONT_NAME})
    fb.setupOS2(
        sTypoAscender=ASCENT,
        sTypoDescender=DESCENT,
        usWinAscent=ASCENT,
        usWinDescent=-DESCENT,
        achVendID="SOHO",
    )
    fb.setupPost()
    fb.font["head"].created = _FIXED_TIMESTAMP
    fb.font["head"].modified = _FIXED_TIMESTAMP
    buf = io.BytesIO()
    fb.font.save(buf)
    return buf.getvalue()


@lru_cache(maxsize=1)
def cid_to_gid_map() -> bytes:
    """Every one of the 65536 CIDs -> glyph 1 (big-endian 16-bit GIDs)."""
    return b"\x00\x01" * 65536


@lru_cache(maxsize=1)
def to_unicode_cmap() -> bytes:
    """ToUnicode CMap: 2-byte codes, each code maps to the same UTF-16BE value.

    Ranges stay within one high byte (as the CMap spec requires); surrogate
    code units (D800-DFFF) are left unmapped since they never occur alone.
    """
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256)
              if not 0xD8 <= hi <= 0xDF]
    blocks = []
    for i in range(0, len(ranges), 100):
        chunk = ranges[i : i + 100]
        blocks.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    text = (
        "/CIDInit /ProcSet findresource begin\n"
        "12 dict begin\n"
        "begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n"
        "/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\n"
        "CMapName currentdict /CMap defineresource pop\n"
        "end\nend\n"
    )
    return text.encode("ascii")


def _flate_stream(pdf: pikepdf.Pdf, data: bytes, **keys: object) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, zlib.compress(data, 9))
    stream.Filter = Name.FlateDecode
    for key, value in keys.items():
        stream[Name("/" + key)] = value
    return stream


def add_glyphless_font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """Create the Type0 font (indirect object) in ``pdf``; share it between pages."""
    program = glyphless_font_program()
    font_file = _flate_stream(pdf, program, Length1=len(program))
    descriptor = pdf.make_indirect(
        Dictionary(
            Type=Name.FontDescriptor,
            FontName=Name("/" + FONT_NAME),
            Flags=5,  # FixedPitch | Symbolic
            FontBBox=Array([0, DESCENT, GLYPH_WIDTH, ASCENT]),
            ItalicAngle=0,
            Ascent=ASCENT,
            Descent=DESCENT,
            CapHeight=ASCENT,
            StemV=80,
            FontFile2=pdf.make_indirect(font_file),
        )
    )
    descendant = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.CIDFontType2,
            BaseFont=Name("/" + FONT_NAME),
            CIDSystemInfo=Dictionary(
                Registry=pikepdf.String("Adobe"),
                Ordering=pikepdf.String("Identity"),
                Supplement=0,
            ),
            FontDescriptor=descriptor,
            DW=GLYPH_WIDTH,
            W=Array([0, 65535, GLYPH_WIDTH]),
            CIDToGIDMap=pdf.make_indirect(_flate_stream(pdf, cid_to_gid_map())),
        )
    )
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type0,
            BaseFont=Name("/" + FONT_NAME),
            Encoding=Name("/Identity-H"),
            DescendantFonts=Array([descendant]),
            ToUnicode=pdf.make_indirect(_flate_stream(pdf, to_unicode_cmap())),
        )
    )
