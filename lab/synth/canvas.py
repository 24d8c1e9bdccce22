"""The canvas synthetic pages are drawn on (A4, RGB): the page spec, fonts, the layout
cursor, the motto and agency header, signature and seal, and the rendered page with
its ground truth. Shared by the generic renderer (:mod:`lab.synth.render`) and the
typed pages (:mod:`lab.synth.kinds`, :mod:`lab.synth.sheets`)."""

from __future__ import annotations

import functools
import math
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, ConfigDict, Field

from lab.metrics import body_cer
from lab.synth import texts
from pipeline.errors import MissingDependency

FONT_ROOT = Path("/usr/share/fonts")
#: family -> (regular file, bold file); looked up anywhere under FONT_ROOT
FONT_FILES: dict[str, tuple[str, str]] = {
    "DejaVu Sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "DejaVu Serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    "Noto Sans": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "Noto Serif": ("NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf"),
    "Liberation Sans": ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    "Liberation Serif": ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf"),
}
A4_MM = (210.0, 297.0)
#: title prefixes of documents issued by an agency (agency header, seal, official signature)
ISSUED_PREFIXES = (
    "GIẤY CHỨNG NHẬN",
    "GIẤY KHAI SINH",
    "BẢN SAO",
    "TRÍCH LỤC",
    "GIẤY XÁC NHẬN",
    "GIẤY PHÉP",
    "QUYẾT ĐỊNH",
    "BẢN ÁN",
    "GIẤY BÁO TỬ",
    "GIẤY CHỨNG SINH",
    "PHIẾU",
)
SEAL_RGB = (205, 35, 45)
SIGNATURE_RGB = (25, 45, 150)


class PageSpec(BaseModel):
    """What to render. ``title`` is printed only on non-continuation pages."""

    model_config = ConfigDict(frozen=True)

    doc_type: str | None = None  # label only (None = untitled continuation page)
    title: str | None = None
    dpi: int = Field(default=300, ge=72, le=600)
    font: str | None = None  # a FONT_FILES family; None = chosen by seed
    seed: int = 0
    body_paragraphs: int = Field(default=3, ge=0, le=20)
    fields: int = Field(default=6, ge=0, le=40)
    continuation: bool = False
    blank: bool = False
    issued: bool | None = None  # None = inferred from the title
    agency_header: bool | None = None  # None = same as issued
    # --- typed pages (lab.synth.kinds): content and layout of ``doc_type`` ---
    typed: bool = False  # True: fields, prose, layout from doc_type's profile
    layout: Literal["text", "table", "card", "drawing", "map"] | None = None  # None = profile's
    style: int = Field(default=0, ge=0, le=3)  # look variant (numbered fields, boxed title...)
    page_number: tuple[int, int] | None = None  # (k, n): "Trang k/n" or "- k -"
    title_fade: float = Field(default=0.0, ge=0, le=1)  # faint, damaged title
    card_part: Literal["both", "front", "back"] = "both"  # card layout: which sides


@dataclass(frozen=True, eq=False)
class SynthPage:
    """A rendered page. Boxes are (left, top, right, bottom) pixels of every text line."""

    image: np.ndarray
    dpi: int
    title: str | None
    body_text: str
    all_text: str
    doc_type: str | None = None
    font: str = ""
    margins_px: tuple[int, int, int, int] = (0, 0, 0, 0)  # left, top, right, bottom
    line_boxes: tuple[tuple[int, int, int, int], ...] = field(default=())
    body_box: tuple[int, int, int, int] | None = None

    def body_cer(self, ocr_text: str) -> float:
        """CER of ``body_text`` against the matching stretch of ``ocr_text``."""
        return body_cer(self.body_text, ocr_text)


# --- fonts -----------------------------------------------------------------------
VIETNAMESE = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịỉọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"


@functools.lru_cache(maxsize=1)
def _font_index() -> dict[str, Path]:
    """File name -> the first file of that name that draws every Vietnamese letter
    (Debian's fonts-liberation 1.x and fonts-liberation2 both ship LiberationSans-*.ttf;
    only 2.x has the Vietnamese letters)."""
    wanted = {name for pair in FONT_FILES.values() for name in pair}
    found: dict[str, Path] = {}
    if FONT_ROOT.is_dir():
        for path in sorted(FONT_ROOT.rglob("*.ttf")):
            if path.name in wanted and path.name not in found and _draws_vietnamese(path):
                found[path.name] = path
    return found


def _draws_vietnamese(path: Path) -> bool:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return all(ord(c) in cmap and ord(c.upper()) in cmap for c in VIETNAMESE)


def available_fonts() -> tuple[str, ...]:
    """Font families (keys of FONT_FILES) whose regular and bold files are installed."""
    index = _font_index()
    return tuple(f for f, (reg, bold) in FONT_FILES.items() if reg in index and bold in index)


@functools.lru_cache(maxsize=64)
def load_font(family: str, bold: bool, px: int) -> ImageFont.FreeTypeFont:
    if family not in available_fonts():
        raise MissingDependency(f"font family '{family}' is not installed under {FONT_ROOT}")
    path = _font_index()[FONT_FILES[family][1 if bold else 0]]
    return ImageFont.truetype(str(path), size=px, layout_engine=ImageFont.Layout.BASIC)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float, indent: float = 0) -> list[str]:
    """Greedy word wrap with real glyph advances; the first line is ``indent`` px shorter."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        limit = width - (indent if not lines else 0)
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= limit:
            current = candidate
            continue
        if current:
            lines.append(current)
            current = ""
            limit = width
        while len(word) > 1 and font.getlength(word) > limit:  # too wide: cut it
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > limit:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


# --- layout ----------------------------------------------------------------------
class Layout:
    """Mutable drawing cursor over one page (internal)."""

    def __init__(self, spec: PageSpec, rng: random.Random, family: str) -> None:
        self.dpi = spec.dpi
        self.family = family
        self.mm = spec.dpi / 25.4
        w, h = (round(v * self.mm) for v in A4_MM)
        paper = rng.choice([(255, 255, 255), (254, 253, 250), (252, 251, 246)])
        self.img = Image.new("RGB", (w, h), paper)
        self.draw = ImageDraw.Draw(self.img)
        jitter = rng.uniform(0, 3)
        self.left = round((30 + jitter) * self.mm)
        self.right = w - round((20 + rng.uniform(0, 3)) * self.mm)
        self.top = round((20 + jitter) * self.mm)
        self.bottom = h - round(20 * self.mm)
        self.y = float(self.top)
        grey = rng.randint(0, 35)
        self.ink = (grey, grey, grey + rng.randint(0, 10))
        self.body_pt = rng.choice([10.5, 11, 12, 12, 13])
        self.boxes: list[tuple[int, int, int, int]] = []
        self.texts: list[str] = []
        self.agency = texts.agency_header(rng)

    def font(self, pt: float, bold: bool = False) -> ImageFont.FreeTypeFont:
        return load_font(self.family, bold, max(6, round(pt * self.dpi / 72)))

    def line_height(self, font: ImageFont.FreeTypeFont) -> float:
        return float(font.size) * 1.4

    def put(
        self,
        text: str,
        font: ImageFont.FreeTypeFont,
        x0: float,
        x1: float,
        align: str = "left",
        indent: float = 0,
        advance: bool = True,
    ) -> None:
        """Draw one line at the cursor, aligned within [x0, x1]."""
        width = font.getlength(text)
        x = x0 + indent if align == "left" else (x0 + x1 - width) / 2
        if align == "right":
            x = x1 - width
        xi, yi = round(x), round(self.y)
        self.draw.text((xi, yi), text, font=font, fill=self.ink)
        bl, bt, br, bb = (round(v) for v in font.getbbox(text))
        self.boxes.append((xi + bl, yi + bt, xi + br, yi + bb))
        self.texts.append(text)
        if advance:
            self.y += self.line_height(font)

    def fit_pt(self, text: str, pt: float, width: float, bold: bool = True) -> float:
        while pt > 7 and self.font(pt, bold).getlength(text) > width:
            pt -= 0.5
        return pt


def union_box(boxes: Sequence[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """The smallest box (left, top, right, bottom) holding all ``boxes``."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def is_issued(spec: PageSpec) -> bool:
    if spec.issued is not None:
        return spec.issued
    title = unicodedata.normalize("NFC", spec.title or "").upper()
    return title.startswith(ISSUED_PREFIXES)


def draw_header(lay: Layout, rng: random.Random, agency: bool) -> None:
    """Motto (and agency block on the left when ``agency``)."""
    width = lay.right - lay.left
    top = lay.y
    if agency:
        split = lay.left + width * 0.4
        a1, a2 = lay.agency
        pt = lay.fit_pt(a2, lay.body_pt, split - lay.left - 10)
        lay.put(a1, lay.font(pt), lay.left, split, "center")
        lay.put(a2, lay.font(pt, True), lay.left, split, "center")
        lay.put(texts.document_number(rng), lay.font(pt), lay.left, split, "center")
        left_end, lay.y = lay.y, top
        x0 = split
    else:
        left_end, x0 = top, lay.left
    pt = lay.fit_pt(texts.MOTTO, lay.body_pt + 0.5, lay.right - x0)
    lay.put(texts.MOTTO, lay.font(pt, True), x0, lay.right, "center")
    sub = lay.font(pt + 0.5, True)
    lay.put(texts.MOTTO_SUB, sub, x0, lay.right, "center", advance=False)
    sub_w = sub.getlength(texts.MOTTO_SUB)
    mid = (x0 + lay.right) / 2
    uy = lay.y + sub.size * 1.2
    lay.draw.line(
        [(mid - sub_w / 2, uy), (mid + sub_w / 2, uy)],
        fill=lay.ink,
        width=max(1, round(lay.dpi / 150)),
    )
    lay.y = max(lay.y + lay.line_height(sub), left_end) + 6 * lay.mm


def signature_height(lay: Layout) -> float:
    return lay.line_height(lay.font(lay.body_pt)) * 4 + 28 * lay.mm


def draw_signature(lay: Layout, rng: random.Random, issued: bool) -> None:
    x0 = lay.left + (lay.right - lay.left) * 0.45
    font, bold = lay.font(lay.body_pt), lay.font(lay.body_pt, True)
    lay.y += 4 * lay.mm
    lay.put(texts.date_line(rng), font, x0, lay.right, "center")
    roles = ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"] if issued else ["NGƯỜI YÊU CẦU"]
    for role in roles:
        lay.put(role, bold, x0, lay.right, "center")
    if not issued:
        lay.put("(Ký, ghi rõ họ tên)", font, x0, lay.right, "center")
    mid, sig_top = (x0 + lay.right) / 2, lay.y
    _scribble(lay, rng, mid, sig_top + 12 * lay.mm)
    if issued:
        _seal(lay, rng, mid - 14 * lay.mm, sig_top + 11 * lay.mm)
    lay.y = sig_top + 24 * lay.mm
    lay.put(texts.full_name(rng, rng.choice(("Nam", "Nữ"))), bold, x0, lay.right, "center")


def _scribble(lay: Layout, rng: random.Random, cx: float, cy: float) -> None:
    """A hand signature: a smooth random pen stroke in blue ink."""
    n, span, amp = 90, 32 * lay.mm, 5 * lay.mm
    f1, f2, ph = rng.uniform(2, 4), rng.uniform(5, 9), rng.uniform(0, math.tau)
    pts = [
        (
            cx - span / 2 + span * i / n,
            cy + amp * math.sin(f1 * math.tau * i / n + ph) * math.cos(f2 * i / n),
        )
        for i in range(n + 1)
    ]
    lay.draw.line(pts, fill=SIGNATURE_RGB, width=max(2, round(0.5 * lay.mm)), joint="curve")


def _seal(lay: Layout, rng: random.Random, cx: float, cy: float) -> None:
    """Red round seal (ring, agency name around it, star) blended by multiplication."""
    r = round(rng.uniform(17, 20) * lay.mm)
    size = 2 * r + 4
    mask = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(mask)
    c = size / 2
    ring = max(2, round(0.6 * lay.mm))
    d.ellipse([c - r, c - r, c + r, c + r], outline=255, width=ring)
    d.ellipse([c - r * 0.62, c - r * 0.62, c + r * 0.62, c + r * 0.62], outline=255, width=ring)
    star = [
        (
            c + r * (0.35 if k % 2 == 0 else 0.14) * math.sin(k * math.pi / 5),
            c - r * (0.35 if k % 2 == 0 else 0.14) * math.cos(k * math.pi / 5),
        )
        for k in range(10)
    ]
    d.polygon(star, fill=255)
    name = f"{lay.agency[0]} {lay.agency[1]} * "
    font = load_font(lay.family, True, max(6, round(r * 0.2)))
    for k, ch in enumerate(name):
        ang = -math.pi / 2 + math.tau * k / len(name)
        side = round(font.size * 2)
        tile = Image.new("L", (side, side), 0)
        ImageDraw.Draw(tile).text((font.size, font.size), ch, font=font, fill=255, anchor="mm")
        tile = tile.rotate(-math.degrees(ang) - 90, resample=Image.Resampling.BILINEAR)
        px, py = c + r * 0.81 * math.cos(ang), c + r * 0.81 * math.sin(ang)
        mask.paste(tile, (round(px - side / 2), round(py - side / 2)), tile)
    _multiply(lay.img, mask, (round(cx - c), round(cy - c)), rng.uniform(0.75, 0.95))


def _multiply(img: Image.Image, mask: Image.Image, pos: tuple[int, int], strength: float) -> None:
    arr = np.asarray(img).astype(np.float32)
    m = np.asarray(mask).astype(np.float32) / 255.0 * strength
    x, y = pos
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(arr.shape[1], x + m.shape[1]), min(arr.shape[0], y + m.shape[0])
    sub = m[y0 - y : y1 - y, x0 - x : x1 - x, None]
    tint = np.asarray(SEAL_RGB, np.float32) / 255.0
    arr[y0:y1, x0:x1] *= 1.0 - sub + sub * tint
    img.paste(Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8)))


def choose_font(spec: PageSpec, rng: random.Random) -> str:
    fonts = available_fonts()
    if not fonts:
        raise MissingDependency(f"none of the fonts {sorted(FONT_FILES)} found under {FONT_ROOT}")
    if spec.font is None:
        return rng.choice(fonts)
    if spec.font not in fonts:
        raise MissingDependency(f"font family '{spec.font}' is not installed under {FONT_ROOT}")
    return spec.font


def finish_page(
    lay: Layout,
    spec: PageSpec,
    *,
    title: str | None,
    body: list[str],
    family: str,
    image: np.ndarray | None = None,
    body_box: tuple[int, int, int, int] | None = None,
) -> SynthPage:
    """The rendered page with its ground truth (``image`` defaults to the canvas)."""
    w, h = lay.img.size
    return SynthPage(
        image=np.asarray(lay.img, dtype=np.uint8).copy() if image is None else image,
        dpi=spec.dpi,
        title=title,
        body_text="\n".join(body),
        all_text="\n".join(lay.texts),
        doc_type=spec.doc_type,
        font=family,
        margins_px=(lay.left, lay.top, w - lay.right, h - lay.bottom),
        line_boxes=tuple(lay.boxes),
        body_box=body_box,
    )


# --- drawing primitives of typed pages ---------------------------------------
def text_at(lay: Layout, x: float, y: float, text: str, font, fill=None) -> float:
    """Draw ``text`` with its top-left at (x, y); record its box; return its right edge."""
    if not text:
        return x
    xi, yi = round(x), round(y)
    lay.draw.text((xi, yi), text, font=font, fill=fill or lay.ink)
    bl, bt, br, bb = (round(v) for v in font.getbbox(text))
    lay.boxes.append((xi + bl, yi + bt, xi + br, yi + bb))
    lay.texts.append(text)
    return x + font.getlength(text)


def faded(lay: Layout, fade: float) -> tuple[int, int, int]:
    return tuple(round(c + (235 - c) * fade) for c in lay.ink)  # type: ignore[return-value]


def damage(lay: Layout, rng: random.Random, box: tuple[int, int, int, int], amount: float) -> None:
    """White scratches and speckle over ``box`` (a torn, rubbed or badly copied title)."""
    x0, y0, x1, y1 = box
    if amount <= 0 or x1 <= x0 or y1 <= y0:
        return
    paper = lay.img.getpixel((max(0, x0 - 5), max(0, y0 - 5)))
    for _ in range(int(40 * amount * (x1 - x0) / max(1, y1 - y0))):
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        r = rng.uniform(0.3, 1.0) * (y1 - y0) * 0.25
        lay.draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=paper)
    if amount > 0.5:  # a fold/tear line through the title
        y = rng.uniform(y0, y1)
        lay.draw.line(
            [(x0, y), (x1, y + rng.uniform(-5, 5))],
            fill=paper,
            width=max(1, round((y1 - y0) * 0.15)),
        )
