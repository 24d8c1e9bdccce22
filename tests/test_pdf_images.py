"""encode_page_image on rendered pages (real Pillow JPEG, real decoding)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, JpegImagePlugin

from pipeline.errors import PdfError
from pipeline.pdf.images import encode_page_image, has_meaningful_colour

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINE = "Họ và tên người được khai sinh: Nguyễn Thị Ánh Tuyết, sinh ngày 12/03/2024"


def _page(dpi: int, lines: int, *, seal: bool = False, fringe: bool = False) -> np.ndarray:
    w, h = round(8.27 * dpi), round(11.69 * dpi)
    img = Image.new("RGB", (w, h), (250, 250, 248))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, round(dpi * 0.14))
    for i in range(lines):
        y = round(dpi * 0.7) + i * round(dpi * 0.23)
        if fringe:  # scanner misregistration: 1-px coloured edges around black text
            draw.text((dpi - 1, y), LINE, font=font, fill=(200, 40, 40))
            draw.text((dpi + 1, y), LINE, font=font, fill=(40, 40, 200))
        draw.text((dpi, y), LINE, font=font, fill=(20, 20, 20))
    if seal:
        cx, cy, r = w * 3 // 4, h * 5 // 6, dpi * 2 // 3
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(210, 35, 35), width=dpi // 30)
        draw.text((cx - r // 2, cy), "ỦY BAN NHÂN DÂN", font=font, fill=(210, 35, 35))
    arr = np.asarray(img).astype(np.int16)
    noise = np.random.default_rng(7).normal(0, 3, arr.shape).astype(np.int16)
    return np.clip(arr + noise, 0, 255).astype(np.uint8)


def _decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_text_page_is_grey_and_small() -> None:
    page = _page(300, 12)
    enc = encode_page_image(page, dpi=300)
    assert enc.colorspace == "DeviceGray"
    assert enc.filter == "DCTDecode"
    assert len(enc.data) <= 250_000
    assert enc.dpi == 300
    img = _decode(enc.data)
    assert img.mode == "L" and img.size == (enc.width, enc.height) == (2481, 3507)
    assert img.info.get("progressive", 0) == 0


def test_red_seal_keeps_colour() -> None:
    page = _page(300, 12, seal=True)
    assert has_meaningful_colour(page)
    enc = encode_page_image(page, dpi=300)
    assert enc.colorspace == "DeviceRGB"
    img = _decode(enc.data)
    assert img.mode == "RGB"
    assert JpegImagePlugin.get_sampling(img) == 2  # 4:2:0
    # the seal is still red after encoding
    px = np.asarray(img)
    reds = (px[..., 0].astype(int) - px[..., 2].astype(int)) > 100
    assert reds.sum() > 2000


def test_colour_fringes_alone_are_stored_grey() -> None:
    page = _page(300, 12, fringe=True)
    assert not has_meaningful_colour(page)
    assert encode_page_image(page, dpi=300).colorspace == "DeviceGray"


def test_dense_page_downsampled_to_200_dpi_not_below() -> None:
    page = _page(300, 44)
    enc = encode_page_image(page, dpi=300)
    assert enc.dpi == pytest.approx(200, abs=0.5)
    assert enc.width == round(page.shape[1] * 200 / 300)
    # page geometry is preserved: same physical width
    assert enc.width / enc.dpi == pytest.approx(page.shape[1] / 300, rel=1e-6)
    assert len(enc.data) <= 250_000


def test_never_below_200_dpi_even_over_target() -> None:
    page = _page(200, 30)
    enc = encode_page_image(page, dpi=200, target_bytes=20_000)
    assert enc.dpi == 200 and enc.width == page.shape[1]
    assert len(enc.data) > 20_000  # over target rather than under-resolved


def test_grey_input_accepted() -> None:
    page = _page(200, 5)[..., 0].copy()
    enc = encode_page_image(page, dpi=200)
    assert enc.colorspace == "DeviceGray" and _decode(enc.data).mode == "L"


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 10), np.float32), np.zeros((10, 10, 4), np.uint8), np.zeros((0, 5), np.uint8)],
)
def test_invalid_images_rejected(bad: np.ndarray) -> None:
    with pytest.raises(PdfError):
        encode_page_image(bad, dpi=300)


def test_invalid_dpi_rejected() -> None:
    with pytest.raises(PdfError):
        encode_page_image(np.zeros((10, 10), np.uint8), dpi=0)
