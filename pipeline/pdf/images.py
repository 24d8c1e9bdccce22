"""Page images for the bundle: JPEG (DCTDecode), colour only when it carries meaning.

Archive rule: scans stay at 200 dpi or more, so an oversized page is first
re-encoded at lower JPEG quality and only then downsampled, never below 200 dpi.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from pipeline.errors import PdfError

MIN_DPI = 200.0
# JPEG quality ladders: at the scan's own resolution, then at 200 dpi.
QUALITIES = (75, 65, 55, 48, 40)
QUALITIES_MIN_DPI = (60, 50, 42, 35, 30, 25, 20)
# The lowest quality of a ladder is never smaller than this share of the first
# (measured ~0.55-0.7 on text pages); used to skip hopeless ladders.
_LADDER_GAIN = 0.5
# A pixel is "coloured" when max(R,G,B) - min(R,G,B) exceeds this (0-255).
_CHROMA_MIN = 56
# ... and the page has meaningful colour when, after removing thin colour
# fringes (scanner misregistration around black text), at least this fraction
# of the page is coloured (a small red seal is ~0.1-0.3 % of an A4 page).
_COLOUR_FRACTION = 0.0002


@dataclass(frozen=True)
class EncodedImage:
    """A JPEG page image ready to embed; ``dpi`` is the resolution of ``data``."""

    data: bytes
    width: int
    height: int
    colorspace: Literal["DeviceRGB", "DeviceGray"]
    filter: Literal["DCTDecode"]
    dpi: float


def has_meaningful_colour(image: np.ndarray) -> bool:
    """True when an RGB page shows real colour (seal, stamp, photo), not just fringes."""
    if image.ndim != 3:
        return False
    r, g, b = cv2.split(np.ascontiguousarray(image))
    chroma = cv2.subtract(cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b))
    _, mask = cv2.threshold(chroma, _CHROMA_MIN - 1, 1, cv2.THRESH_BINARY)
    needed = _COLOUR_FRACTION * mask.size
    if cv2.countNonZero(mask) < needed:
        return False
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    return cv2.countNonZero(mask) >= needed


def _to_grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG, optimised Huffman tables, 4:2:0 for colour; ``pixels`` grey or
    BGR. OpenCV's libjpeg-turbo gives the same pixels as Pillow's, and lets other
    threads run while it encodes (Pillow holds the interpreter lock throughout)."""
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality,
                                            cv2.IMWRITE_JPEG_OPTIMIZE, 1])
    if not ok:
        raise PdfError("could not encode the page image as JPEG")
    return buf.tobytes()


def _fit(pixels: np.ndarray, target_bytes: int, qualities: tuple[int, ...],
         *, give_up_early: bool) -> bytes | None:
    """First encoding (by decreasing quality) under target; None if none fits.

    With ``give_up_early`` a page whose first encoding is so large that even the
    lowest quality cannot fit is abandoned after one encode (saves time)."""
    data = _jpeg(pixels, qualities[0])
    if len(data) <= target_bytes:
        return data
    if give_up_early and len(data) * _LADDER_GAIN > target_bytes:
        return None
    for quality in qualities[1:]:
        data = _jpeg(pixels, quality)
        if len(data) <= target_bytes:
            return data
    return None


def _validate(image: np.ndarray, dpi: float) -> None:
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise PdfError("page image must be a non-empty uint8 grey or RGB array")
    if image.ndim == 3 and image.shape[2] != 3:
        raise PdfError("page image must have 3 channels (RGB)")
    if not dpi > 0:
        raise PdfError("page image resolution (dpi) must be positive")


def encode_page_image(
    image: np.ndarray, *, dpi: float, target_bytes: int = 250_000
) -> EncodedImage:
    """JPEG-encode one cleaned page, keeping colour only when it is meaningful.

    Quality steps down (75 -> 40) until the JPEG fits ``target_bytes``; if it
    cannot fit and the page is above 200 dpi, it is downsampled to 200 dpi and
    the quality steps down again (60 -> 20). A page that cannot fit even then is
    returned at quality 20, over target rather than below the archive's 200 dpi.
    """
    _validate(image, dpi)
    colour = has_meaningful_colour(image)
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if colour else _to_grey(image)
    height, width = pixels.shape[:2]
    can_shrink = dpi > MIN_DPI * 1.01
    data = _fit(pixels, target_bytes, QUALITIES, give_up_early=can_shrink)
    out_dpi = float(dpi)
    if data is None and can_shrink:
        w = max(1, round(width * MIN_DPI / dpi))
        h = max(1, round(height * MIN_DPI / dpi))
        pixels = cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA)
        data = _fit(pixels, target_bytes, QUALITIES_MIN_DPI, give_up_early=False)
        out_dpi = dpi * w / image.shape[1]  # exact: the page size stays the same
    if data is None:  # over target even at the floor: keep quality floor, not resolution
        data = _jpeg(pixels, QUALITIES_MIN_DPI[-1])
    return EncodedImage(
        data=data,
        width=pixels.shape[1],
        height=pixels.shape[0],
        colorspace="DeviceRGB" if colour else "DeviceGray",
        filter="DCTDecode",
        dpi=out_dpi,
    )
