"""Decode input page files (TIFF, PNG, JPEG, PDF) into :class:`RawPage` values.

The format is sniffed from the content (magic bytes), never from the file name.
Counting pages never decodes pixels; :func:`load_page` decodes exactly one page.
PDF pages are rasterised one at a time with pdf2image (pdftoppm) at the
resolution of the scan embedded in the page: nothing of the PDF (scripts, forms,
attachments) but its rendered pixels goes further.

Hostile input is refused before any pixel is decoded: the declared size of an
image, of a PDF page at its rendering resolution and of every image a PDF page
draws is checked against limits (decompression bombs), as is the page count
of a file; tiny images are refused as "not a page". Error messages name the
file and never carry library object reprs.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import pikepdf
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from pipeline.errors import (
    CorruptFile,
    InputError,
    MissingDependency,
    ProgramTimeout,
    UnsupportedFormat,
)
from pipeline.types import PageRef, RawPage

__all__ = [
    "FORMATS",
    "MAX_PAGES_PER_FILE",
    "MAX_PIXELS",
    "MIN_SIDE_PX",
    "PDF_DPI_RANGE",
    "count_pages",
    "load_page",
    "pdf_page_dpi",
    "sniff_format",
]

FORMATS = ("tiff", "png", "jpeg", "pdf")
PDF_DPI_RANGE = (100.0, 600.0)
PDF_DEFAULT_DPI = 300.0
PDF_TIMEOUT_S = 120
#: Largest page decoded (pixels): an A3 sheet at 600 dpi (70 Mpx) fits, a
#: 20000x20000 image (400 Mpx, ~1.2 GB as RGB) does not.
MAX_PIXELS = 100_000_000
#: Largest image a PDF page may draw (pdftoppm scales it down while reading it,
#: in bounded memory, but decoding still costs time).
MAX_PDF_IMAGE_PIXELS = 400_000_000
#: Most pages one file may have (a dossier is tens of pages; a file claiming
#: more is broken or hostile).
MAX_PAGES_PER_FILE = 1000
#: Smaller than this on either side (pixels) is no scanned page (a 1x1 image).
MIN_SIDE_PX = 64
# A resolution that makes the page larger than this (inches) is a software default
# (e.g. 72 dpi written by a camera), not a scan resolution: assume default_dpi instead.
_MAX_PAGE_INCHES = 25.0
_MIN_VALID_DPI = 10.0
_EXIF_ORIENTATION = 0x0112

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)


def sniff_format(name: str, data: bytes) -> str:
    """Return "tiff" | "png" | "jpeg" | "pdf" from the magic bytes of ``data``."""
    if not data:
        raise UnsupportedFormat(f"{name}: empty file (0 bytes)")
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return fmt
    # PDF readers accept the header anywhere in the first 1024 bytes.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    raise UnsupportedFormat(f"{name}: not a TIFF, PNG, JPEG or PDF file")


def count_pages(name: str, data: bytes, *, max_pages: int = MAX_PAGES_PER_FILE) -> int:
    """Number of pages in the file (1 for PNG/JPEG); decodes no pixels."""
    fmt = sniff_format(name, data)
    if fmt == "pdf":
        with _open_pdf(name, data) as pdf:
            n = len(pdf.pages)
    elif fmt == "tiff":
        with _open_image(name, data) as img:
            try:
                n = int(getattr(img, "n_frames", 1))
            except (OSError, ValueError, SyntaxError, EOFError) as exc:
                raise CorruptFile(f"{name}: damaged TIFF page directory") from exc
    else:
        n = 1
    if n < 1:
        raise CorruptFile(f"{name}: file has no pages")
    if n > max_pages:
        raise InputError(f"{name}: has {n} pages, more than the limit of {max_pages} per file")
    return n


def load_page(
    ref: PageRef,
    data: bytes,
    *,
    default_dpi: float = 300,
    max_pixels: int = MAX_PIXELS,
) -> RawPage:
    """Decode page ``ref.source_page`` (1-based) of the file into a RawPage."""
    name = ref.source
    fmt = sniff_format(name, data)
    if ref.source_page < 1:
        raise InputError(f"{name}: page numbers start at 1 (got {ref.source_page})")
    if fmt == "pdf":
        return _load_pdf_page(ref, data, max_pixels=max_pixels)
    with _open_image(name, data) as img:
        if ref.source_page > 1:
            try:
                img.seek(ref.source_page - 1)
            except EOFError as exc:
                raise InputError(f"{name}: has no page {ref.source_page}") from exc
            except (OSError, ValueError, SyntaxError) as exc:
                raise CorruptFile(f"{name}: damaged page {ref.source_page}") from exc
        _check_pixels(name, img.size, max_pixels)
        dpi, assumed = _image_dpi(img, default_dpi)
        try:
            array = _decode_plain_jpeg(img, data) if fmt == "jpeg" else None
            if array is None:
                img.load()
                if fmt == "jpeg":  # turned as its EXIF says, in place (no copy when upright)
                    ImageOps.exif_transpose(img, in_place=True)
                array = _to_array(img)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise CorruptFile(
                f"{name}: cannot decode page {ref.source_page} ({_why(exc)})"
            ) from exc
    return RawPage(ref=ref, image=array, dpi=dpi, dpi_assumed=assumed)


# --- raster images -------------------------------------------------------------
def _open_image(name: str, data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise InputError(f"{name}: image is too large to decode safely ({_why(exc)})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise CorruptFile(f"{name}: cannot read the image header ({_why(exc)})") from exc
    # The file is in memory: hand it to the decoder in one block, not Pillow's 64 KB
    # ones. Each block takes the GIL back, and with the other page threads busy a
    # 300-dpi JPEG took 4-6x longer to decode that way (same pixels either way).
    if isinstance(img, ImageFile.ImageFile):
        img.decodermaxblock = max(img.decodermaxblock, len(data))
    return img


def _why(exc: BaseException) -> str:
    """A library's error text without object reprs (``<_io.BytesIO object at 0x..>``)."""
    text = re.sub(r"\s*<[^<>]* at 0x[0-9a-f]+>:?", "", str(exc)).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _check_pixels(
    name: str, size: tuple[int, int], max_pixels: int, what: str = "image"
) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise CorruptFile(f"{name}: {what} has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise InputError(
            f"{name}: {what} of {w}x{h} pixels is too large (limit {max_pixels} pixels)"
        )
    if min(w, h) < MIN_SIDE_PX:
        raise InputError(f"{name}: {what} of {w}x{h} pixels is too small to be a scanned page")


def _image_dpi(img: Image.Image, default_dpi: float) -> tuple[float, bool]:
    """The file's resolution, or (default_dpi, True) when absent or implausible."""
    raw = img.info.get("dpi")
    dpi = 0.0
    if isinstance(raw, tuple) and raw:
        try:
            values = [float(v) for v in raw[:2]]
            dpi = max(values)
        except (TypeError, ValueError):
            dpi = 0.0
    if not math.isfinite(dpi) or dpi < _MIN_VALID_DPI:
        return float(default_dpi), True
    if max(img.size) / dpi > _MAX_PAGE_INCHES:
        return float(default_dpi), True
    return dpi, False


def _decode_plain_jpeg(img: Image.Image, data: bytes) -> np.ndarray | None:
    """The pixels of a whole, upright grey or RGB JPEG (what scanners write), decoded by
    OpenCV straight into an array; None for any other JPEG (Pillow decodes those).

    Both are libjpeg-turbo with the same settings: the same pixels (compared on 329
    JPEGs of the evaluation sets and the real documents), a third less CPU (no copy
    out of Pillow) and the interpreter lock released while it decodes. A cut file
    (no end marker) goes to Pillow, which refuses it where OpenCV would fill it grey.
    """
    if img.format != "JPEG" or img.mode not in ("L", "RGB"):
        return None
    if img.getexif().get(_EXIF_ORIENTATION, 1) != 1 or not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        return None
    flags = cv2.IMREAD_IGNORE_ORIENTATION | (
        cv2.IMREAD_GRAYSCALE if img.mode == "L" else cv2.IMREAD_COLOR_RGB
    )
    array = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if array is None or array.shape[:2] != (img.height, img.width):
        return None
    return array


def _to_array(img: Image.Image) -> np.ndarray:
    """uint8 grey (2-D) or RGB (H x W x 3) array for any Pillow mode."""
    mode = img.mode
    if mode in ("1", "L"):
        return np.asarray(img.convert("L"), dtype=np.uint8).copy()
    if mode == "P":
        has_alpha = "transparency" in img.info
        conv = img.convert("RGBA" if has_alpha else "RGB")
        if not has_alpha and _grey_palette(img):
            return np.asarray(conv.convert("L"), dtype=np.uint8).copy()
        return _to_array(conv)
    if mode in ("LA", "La", "PA"):
        return _to_array(_flatten(img.convert("RGBA")).convert("L"))
    if mode in ("RGBA", "RGBa"):
        return np.asarray(_flatten(img.convert("RGBA")), dtype=np.uint8).copy()
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _scale_to_uint8(np.asarray(img))
    if mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


def _flatten(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _grey_palette(img: Image.Image) -> bool:
    palette = img.getpalette()
    if not palette:
        return True
    rgb = np.asarray(palette[: 3 * 256], dtype=np.int16).reshape(-1, 3)
    return bool(np.all(rgb[:, 0] == rgb[:, 1]) and np.all(rgb[:, 1] == rgb[:, 2]))


def _scale_to_uint8(values: np.ndarray) -> np.ndarray:
    arr = values.astype(np.float64)
    if arr.ndim == 3:
        arr = arr[..., :3]
    hi = float(arr.max()) if arr.size else 0.0
    if hi <= 255.0:
        return np.clip(arr, 0, 255).astype(np.uint8)
    full = 65535.0 if hi <= 65535.0 else hi
    return np.clip(arr * (255.0 / full) + 0.5, 0, 255).astype(np.uint8)


# --- PDF -------------------------------------------------------------------------
def _open_pdf(name: str, data: bytes) -> pikepdf.Pdf:
    try:
        return pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise InputError(f"{name}: PDF is password-protected") from exc
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise CorruptFile(f"{name}: cannot read the PDF ({_why(exc)})") from exc


@dataclass(frozen=True)
class _Placed:
    pixels: tuple[int, int]
    inches: tuple[float, float]


def pdf_page_dpi(page: pikepdf.Page) -> float | None:
    """Resolution of the largest image drawn on the page (pixels / placed inches).

    None when the page draws no image. Not clamped.
    """
    best: _Placed | None = None
    for placed in _placed_images(page):
        area = placed.inches[0] * placed.inches[1]
        if area <= 0:
            continue
        if best is None or area > best.inches[0] * best.inches[1]:
            best = placed
    if best is None:
        return None
    dpi_x = best.pixels[0] / best.inches[0]
    dpi_y = best.pixels[1] / best.inches[1]
    return float(math.sqrt(dpi_x * dpi_y))


def _placed_images(page: pikepdf.Page) -> Iterator[_Placed]:
    """Images drawn by the page content stream with their placed size."""
    try:
        resources = page.resources
    except (pikepdf.PdfError, AttributeError, TypeError, ValueError):
        return
    yield from _walk_content(page, resources, np.eye(3), depth=0)


def _walk_content(
    content: pikepdf.Page | pikepdf.Object, resources: pikepdf.Object, ctm: np.ndarray, depth: int
) -> Iterator[_Placed]:
    """Track the CTM through q/Q/cm; report images, recurse into form XObjects."""
    try:
        ops = pikepdf.parse_content_stream(content)
        xobjects = resources.get("/XObject", pikepdf.Dictionary())
    except (pikepdf.PdfError, AttributeError, TypeError, ValueError):
        return
    stack: list[np.ndarray] = []
    for instruction in ops:
        operands, op = instruction.operands, str(instruction.operator)
        if op == "q":
            stack.append(ctm.copy())
        elif op == "Q" and stack:
            ctm = stack.pop()
        elif op == "cm" and len(operands) == 6:
            ctm = _matrix([float(v) for v in operands]) @ ctm
        elif op == "Do" and operands:
            xobj = xobjects.get(str(operands[0]))
            if xobj is None:
                continue
            subtype = xobj.get("/Subtype")
            if subtype == "/Image":
                yield _placement(ctm, int(xobj.get("/Width", 0)), int(xobj.get("/Height", 0)))
            elif subtype == "/Form" and depth < 4:
                form_m = [float(v) for v in xobj.get("/Matrix", [1, 0, 0, 1, 0, 0])]
                inner = xobj.get("/Resources", resources)
                yield from _walk_content(xobj, inner, _matrix(form_m) @ ctm, depth + 1)
        elif isinstance(instruction, pikepdf.ContentStreamInlineImage):
            inline = instruction.iimage
            try:
                w, h = int(inline.width), int(inline.height)
            except (AttributeError, TypeError, ValueError):
                continue
            yield _placement(ctm, w, h)


def _matrix(v: list[float]) -> np.ndarray:
    a, b, c, d, e, f = v
    return np.array([[a, b, 0.0], [c, d, 0.0], [e, f, 1.0]])


def _placement(ctm: np.ndarray, width: int, height: int) -> _Placed:
    # The image unit square is mapped by ctm: its sides are rows 0 and 1 of the matrix.
    w_in = float(np.hypot(ctm[0, 0], ctm[0, 1])) / 72.0
    h_in = float(np.hypot(ctm[1, 0], ctm[1, 1])) / 72.0
    return _Placed(pixels=(width, height), inches=(w_in, h_in))


def _load_pdf_page(ref: PageRef, data: bytes, *, max_pixels: int) -> RawPage:
    name, number = ref.source, ref.source_page
    with _open_pdf(name, data) as pdf:
        if number > len(pdf.pages):
            raise InputError(f"{name}: has no page {number} (it has {len(pdf.pages)})")
        page = pdf.pages[number - 1]
        _check_drawn_images(name, number, page)
        found = pdf_page_dpi(page)
        grey = _page_is_grey(page)
        try:
            box = [float(v) for v in page.mediabox]
            unit = max(1.0, float(page.obj.get("/UserUnit", 1.0)))
        except (pikepdf.PdfError, TypeError, ValueError) as exc:
            raise CorruptFile(f"{name}: page {number} has no valid MediaBox") from exc
    dpi = PDF_DEFAULT_DPI if found is None else min(max(found, PDF_DPI_RANGE[0]), PDF_DPI_RANGE[1])
    dpi = float(round(dpi))
    w_px = abs(box[2] - box[0]) * unit / 72.0 * dpi
    h_px = abs(box[3] - box[1]) * unit / 72.0 * dpi
    _check_pixels(name, (max(1, int(w_px)), max(1, int(h_px))), max_pixels,
                  what=f"page {number} (at {dpi:g} dpi)")
    img = _rasterise(name, data, number, dpi, grey)
    return RawPage(ref=ref, image=_to_array(img), dpi=dpi, dpi_assumed=False)


def _check_drawn_images(name: str, number: int, page: pikepdf.Page) -> None:
    """Refuse a page that draws an image too large to decode (a PDF decompression bomb)."""
    for placed in _placed_images(page):
        w, h = placed.pixels
        if w * h > MAX_PDF_IMAGE_PIXELS:
            raise InputError(
                f"{name}: page {number} draws an image of {w}x{h} pixels: too large "
                f"(limit {MAX_PDF_IMAGE_PIXELS} pixels)"
            )


def _page_is_grey(page: pikepdf.Page) -> bool:
    """True when every image on the page is grey or bilevel (render in grey then)."""
    try:
        images = list(page.get_images().values())
    except (pikepdf.PdfError, AttributeError, TypeError, ValueError):
        return False
    if not images:
        return False
    for image in images:
        cs = image.get("/ColorSpace")
        mask = image.get("/ImageMask", False)
        if not (bool(mask) or cs == "/DeviceGray" or int(image.get("/BitsPerComponent", 8)) == 1):
            return False
    return True


def _rasterise(name: str, data: bytes, number: int, dpi: float, grey: bool) -> Image.Image:
    # Imported here: pdf2image is only needed for PDF inputs.
    from pdf2image import convert_from_bytes
    from pdf2image import exceptions as p2i

    try:
        images = convert_from_bytes(
            data,
            dpi=int(dpi),
            first_page=number,
            last_page=number,
            fmt="ppm",
            grayscale=grey,
            timeout=PDF_TIMEOUT_S,
        )
    except p2i.PDFInfoNotInstalledError as exc:
        raise MissingDependency("poppler-utils (pdfinfo/pdftoppm) is not installed") from exc
    except p2i.PDFPopplerTimeoutError as exc:
        raise ProgramTimeout(
            f"{name}: rendering page {number} took over {PDF_TIMEOUT_S} s"
        ) from exc
    except (p2i.PDFPageCountError, p2i.PDFSyntaxError, OSError, ValueError) as exc:
        raise CorruptFile(f"{name}: cannot render page {number} of the PDF") from exc
    if not images:
        raise CorruptFile(f"{name}: page {number} rendered to nothing")
    return images[0]
