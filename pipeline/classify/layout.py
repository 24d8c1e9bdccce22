"""How a page looks, in a few numbers: ink, red seal, ruled lines, photo.

Computed once per page in the page stage from the cleaned (archive) image,
at a few milliseconds, and carried as :class:`LayoutFeatures` to the
classifier. Every number is a share of the page area, so it does not depend
on the scan resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.imaging.quality import downscale

_WORK_DPI = 50.0  # ink, red and ruled lines are measured here
_BLOB_DPI = 20.0  # at this resolution text fades to light grey, photos stay dark


@dataclass(frozen=True)
class LayoutFeatures:
    """Shares (0-1) of the page area: dark ink, red (seal) ink, long horizontal and
    vertical rules (tables, frames, drawings), and dark filled regions (photos)."""

    ink: float = 0.0
    red: float = 0.0
    hlines: float = 0.0
    vlines: float = 0.0
    photo: float = 0.0

    def vector(self) -> tuple[float, ...]:
        return (self.ink, self.red, self.hlines, self.vlines, self.photo)


def _resize(img: np.ndarray, dpi: float, target: float) -> np.ndarray:
    """``img`` by area at about ``target`` dpi, at least 8 pixels a side."""
    small = downscale(img, dpi, target)[0]
    if min(small.shape[:2]) >= 8:
        return small
    size = (max(8, small.shape[1]), max(8, small.shape[0]))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def layout_features(image: np.ndarray, dpi: float) -> LayoutFeatures:
    """Layout numbers of an upright page image (grey or RGB uint8)."""
    small = _resize(image, dpi, _WORK_DPI)
    if small.ndim == 3:
        r, g, b = (small[..., i].astype(np.int16) for i in range(3))
        red = float(np.mean((r - g > 50) & (r - b > 40)))
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    else:
        red, grey = 0.0, small
    area = float(grey.size)
    dark = (grey < 140).astype(np.uint8)
    ink = float(dark.mean())
    span = max(8, round(_WORK_DPI / 25.4 * 25))  # a rule is at least 25 mm long
    horiz = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, span), np.uint8))
    vert = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((span, 1), np.uint8))
    blob = _resize(grey, _WORK_DPI, _BLOB_DPI) if grey.shape[0] > 8 else grey
    blob = cv2.blur(blob, (3, 3))
    photo = float(np.mean(blob < 175))
    return LayoutFeatures(
        ink=round(ink, 5),
        red=round(red, 5),
        hlines=round(float(horiz.sum()) / area, 5),
        vlines=round(float(vert.sum()) / area, 5),
        photo=round(photo, 5),
    )
