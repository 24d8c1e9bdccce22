"""Tests of pipeline.imaging.ingest on real files written with Pillow and pikepdf."""

from __future__ import annotations

import io

import numpy as np
import pikepdf
import pytest
from PIL import Image, TiffImagePlugin

from pipeline.errors import CorruptFile, InputError, UnsupportedFormat
from pipeline.imaging.ingest import count_pages, load_page, sniff_format
from pipeline.types import PageRef


def _pattern(h: int = 330, w: int = 250) -> np.ndarray:
    """Grey page-like pattern with a dark block at the top-left (to check orientation)."""
    a = np.full((h, w), 235, np.uint8)
    a[20:60, 20:100] = 10
    a[100::25, 30:-30] = 40
    return a


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _multipage_tiff() -> bytes:
    grey = _pattern()
    rgb = np.dstack([grey, grey // 2, grey])
    frames = [
        (Image.fromarray(grey).convert("1"), "group4"),
        (Image.fromarray(grey), "tiff_lzw"),
        (Image.fromarray(rgb), "jpeg"),
    ]
    buf = io.BytesIO()
    with TiffImagePlugin.AppendingTiffWriter(buf, new=True) as tf:
        for im, compression in frames:
            im.save(tf, format="TIFF", compression=compression, dpi=(300, 300))
            tf.newFrame()
    return buf.getvalue()


def _pdf(pages: list[np.ndarray], resolution: float) -> bytes:
    images = [Image.fromarray(p) for p in pages]
    return _save(images[0], "PDF", save_all=True, append_images=images[1:], resolution=resolution)


# --- sniffing ------------------------------------------------------------------
def test_sniff_format_uses_content_not_name() -> None:
    img = Image.fromarray(_pattern())
    assert sniff_format("a.tif", _save(img, "PNG")) == "png"
    assert sniff_format("a.png", _save(img, "JPEG")) == "jpeg"
    assert sniff_format("a.jpg", _save(img, "TIFF")) == "tiff"
    assert sniff_format("scan", _pdf([_pattern()], 150)) == "pdf"


def test_sniff_empty_and_foreign_files() -> None:
    with pytest.raises(UnsupportedFormat, match=r"empty\.tif.*empty"):
        sniff_format("empty.tif", b"")
    with pytest.raises(UnsupportedFormat, match="notes.pdf"):
        sniff_format("notes.pdf", b"Just some text, not a PDF at all.\n")
    with pytest.raises(UnsupportedFormat):
        count_pages("x.gif", _save(Image.fromarray(_pattern()), "GIF"))


# --- TIFF ------------------------------------------------------------------------
def test_multipage_tiff_g4_lzw_jpeg() -> None:
    data = _multipage_tiff()
    assert count_pages("scan.tif", data) == 3
    p1 = load_page(PageRef("scan.tif", 1), data)
    p2 = load_page(PageRef("scan.tif", 2), data)
    p3 = load_page(PageRef("scan.tif", 3), data)
    assert p1.image.shape == (330, 250) and p1.image.dtype == np.uint8
    assert set(np.unique(p1.image)) == {0, 255}  # 1-bit became grey 0/255
    assert p2.image.shape == (330, 250)
    assert np.array_equal(p2.image, _pattern())  # LZW is lossless
    assert p3.image.shape == (330, 250, 3)
    assert abs(int(p3.image[40, 50, 0]) - 10) < 20 and p3.image[200, 5, 1] < 140  # RGB order
    for p in (p1, p2, p3):
        assert p.dpi == 300 and not p.dpi_assumed
    assert p3.ref == PageRef("scan.tif", 3)
    with pytest.raises(InputError, match="page 4"):
        load_page(PageRef("scan.tif", 4), data)


def test_tiff_resolution_in_centimetres() -> None:
    data = _save(Image.fromarray(_pattern()), "TIFF", resolution=118.11, resolution_unit=3)
    page = load_page(PageRef("cm.tif"), data)
    assert page.dpi == pytest.approx(300, abs=0.5) and not page.dpi_assumed


# --- PNG / JPEG ---------------------------------------------------------------------
def test_png_with_and_without_dpi() -> None:
    img = Image.fromarray(_pattern())
    with_dpi = load_page(PageRef("a.png"), _save(img, "PNG", dpi=(200, 200)))
    assert with_dpi.dpi == pytest.approx(200, abs=0.5) and not with_dpi.dpi_assumed
    without = load_page(PageRef("b.png"), _save(img, "PNG"))
    assert without.dpi == 300 and without.dpi_assumed
    custom = load_page(PageRef("b.png"), _save(img, "PNG"), default_dpi=250)
    assert custom.dpi == 250 and custom.dpi_assumed


def test_implausible_dpi_is_treated_as_missing() -> None:
    # 3000 px at 72 dpi would be a 42-inch page: a software default, not a scan resolution
    img = Image.new("L", (2100, 3000), 255)
    page = load_page(PageRef("cam.png"), _save(img, "PNG", dpi=(72, 72)))
    assert page.dpi == 300 and page.dpi_assumed


def test_png_modes_become_grey_or_rgb() -> None:
    grey = _pattern()
    palette = Image.fromarray(np.dstack([grey, grey // 3, grey])).convert("P")
    assert load_page(PageRef("p.png"), _save(palette, "PNG")).image.shape == (330, 250, 3)
    rgba = Image.new("RGBA", (80, 70), (0, 0, 0, 0))
    flat = load_page(PageRef("t.png"), _save(rgba, "PNG")).image
    assert flat.shape == (70, 80, 3) and flat.min() == 255  # transparent -> white paper
    sixteen = Image.fromarray(grey.astype(np.uint16) * 257)
    out = load_page(PageRef("16.png"), _save(sixteen, "PNG")).image
    assert out.dtype == np.uint8 and out.ndim == 2
    assert np.abs(out.astype(int) - grey).max() <= 1


def test_jpeg_exif_orientation_is_applied() -> None:
    img = Image.fromarray(np.dstack([_pattern()] * 3))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display = rotate 90 degrees clockwise
    data = _save(img, "JPEG", exif=exif, dpi=(300, 300), quality=95)
    page = load_page(PageRef("photo.jpg"), data)
    assert page.image.shape == (250, 330, 3)
    # the dark block at the stored top-left is now at the top-right
    assert page.image[40, 330 - 40, 0] < 60 and page.image[40, 40, 0] > 200
    assert page.dpi == pytest.approx(300) and not page.dpi_assumed


@pytest.mark.parametrize(("mode", "subsampling", "progressive"),
                         [("RGB", 2, False), ("RGB", 0, True), ("L", 0, False)])
def test_jpeg_pixels_are_pillows_whichever_decoder(
    mode: str, subsampling: int, progressive: bool
) -> None:
    """Plain scanner JPEGs are decoded by OpenCV: exactly Pillow's pixels, any
    chroma subsampling, baseline or progressive, grey or colour."""
    rng = np.random.default_rng(7)
    grey = _pattern(333, 251)  # odd sizes: partial blocks at the edges
    noisy = np.clip(grey.astype(int) + rng.integers(-20, 20, grey.shape), 0, 255)
    rgb = np.dstack([noisy, noisy[::-1], grey]).astype(np.uint8)
    img = Image.fromarray(rgb).convert(mode)
    data = _save(img, "JPEG", quality=80, subsampling=subsampling, progressive=progressive)
    with Image.open(io.BytesIO(data)) as reference:
        expected = np.asarray(reference.convert(mode))
    page = load_page(PageRef("scan.jpg"), data)
    assert page.image.shape == expected.shape
    assert np.array_equal(page.image, expected)


# --- PDF ---------------------------------------------------------------------------------
def test_two_page_pdf_rasterised_at_scan_resolution() -> None:
    a, b = _pattern(), np.dstack([_pattern(300, 220)] * 3)
    data = _pdf([a, b], resolution=150)
    assert count_pages("dossier.pdf", data) == 2
    p1 = load_page(PageRef("dossier.pdf", 1), data)
    p2 = load_page(PageRef("dossier.pdf", 2), data)
    assert p1.dpi == 150 and not p1.dpi_assumed
    assert abs(p1.image.shape[0] - 330) <= 2 and abs(p1.image.shape[1] - 250) <= 2
    assert p1.image.ndim == 2  # a grey scan stays grey
    assert abs(p2.image.shape[0] - 300) <= 2 and abs(p2.image.shape[1] - 220) <= 2
    assert int(p1.image[40, 50]) < 60  # the dark block is where it was
    with pytest.raises(InputError, match="no page 3"):
        load_page(PageRef("dossier.pdf", 3), data)


def test_pdf_resolution_is_clamped_and_defaults_without_images() -> None:
    low = load_page(PageRef("low.pdf"), _pdf([_pattern()], resolution=50))
    assert low.dpi == 100  # clamped to the sane range
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595.0, 842.0))
    buf = io.BytesIO()
    pdf.save(buf)
    vector = load_page(PageRef("text.pdf"), buf.getvalue())
    assert vector.dpi == 300 and not vector.dpi_assumed
    assert abs(vector.image.shape[0] - 3508) <= 2 and abs(vector.image.shape[1] - 2479) <= 2


def test_pdf_resolution_from_image_inside_a_form_xobject() -> None:
    pdf = pikepdf.new()
    w_px, h_px = 1240, 1754  # A4 at 150 dpi
    image = pikepdf.Stream(pdf, np.full((h_px, w_px), 200, np.uint8).tobytes())
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = w_px, h_px, 8
    image.ColorSpace = pikepdf.Name.DeviceGray
    form = pikepdf.Stream(pdf, b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    form.Type, form.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
    form.BBox = [0, 0, 595, 842]
    form.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    pdf.add_blank_page(page_size=(595.0, 842.0))
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Fm0=form))
    page.Contents = pdf.make_stream(b"/Fm0 Do")
    buf = io.BytesIO()
    pdf.save(buf)
    loaded = load_page(PageRef("form.pdf"), buf.getvalue())
    assert loaded.dpi == 150
    assert loaded.image.ndim == 2 and abs(loaded.image.shape[1] - w_px) <= 2
    assert abs(int(loaded.image[800, 600]) - 200) <= 2


# --- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_truncated_image_is_corrupt(fmt: str) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (400, 300), np.uint8)
    data = _save(Image.fromarray(noise), fmt)
    with pytest.raises(CorruptFile, match="cut.img"):
        load_page(PageRef("cut.img"), data[: len(data) // 2])


def test_pdf_with_garbage_body_is_corrupt() -> None:
    data = b"%PDF-1.7\n" + b"\x00garbage" * 50
    with pytest.raises(CorruptFile, match="bad.pdf"):
        count_pages("bad.pdf", data)


def test_pixel_limit_refuses_decompression_bombs() -> None:
    data = _save(Image.new("1", (12000, 16000), 1), "PNG")  # 192 Mpx, tiny file
    assert len(data) < 1_000_000
    with pytest.raises(InputError, match="bomb.png"):
        load_page(PageRef("bomb.png"), data, max_pixels=50_000_000)
    with pytest.raises(InputError, match="too large"):
        load_page(PageRef("a.png"), _save(Image.fromarray(_pattern()), "PNG"), max_pixels=10_000)
