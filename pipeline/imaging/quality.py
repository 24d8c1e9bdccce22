"""Page quality measures (resolution, blur, contrast) and blank-page detection.

Both work on an illumination-normalised grey page (paper ~255), which is what
:func:`pipeline.imaging.clean.clean_page` passes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.imaging.config import CleanConfig

__all__ = ["Quality", "QUALITY_FLAGS", "assess_quality", "detect_blank", "downscale"]

QUALITY_FLAGS = ("low_resolution", "blurry", "low_contrast", "dpi_assumed")
_TILE = 256
_MIN_INK_PIXELS = 200


@dataclass(frozen=True)
class Quality:
    """``blur``: edge spread in mm beyond what the resolution explains (~2.5 sigma of
    the optical blur; sharp scans ~0-0.15);
    ``contrast``: 1 - ink/paper brightness (black print ~0.85+); ``flags`` a subset of
    QUALITY_FLAGS."""

    dpi: float
    dpi_assumed: bool
    blur: float
    contrast: float
    flags: tuple[str, ...] = ()


def downscale(image: np.ndarray, dpi: float, target_dpi: float, *,
              interpolation: int = cv2.INTER_AREA) -> tuple[np.ndarray, float]:
    """Downscale to about ``target_dpi`` (by area unless told); returns (image, scale).
    Never upscales.

    By area, a ratio within 2 % of 1/n (300 to 100 dpi, 200 to 50) averages whole
    n x n blocks, the last rows and columns short of a block left out: OpenCV's fast
    path, 8-15x less CPU than the general one that sizes such as 1791 / 2 take.
    """
    scale = min(1.0, target_dpi / max(dpi, 1.0))
    if scale >= 0.999:
        return image, 1.0
    h, w = image.shape[:2]
    n = round(1.0 / scale)
    if interpolation == cv2.INTER_AREA and abs(n * scale - 1.0) < 0.02 and min(h, w) >= n:
        blocks = image[: h - h % n, : w - w % n]
        return cv2.resize(blocks, (w // n, h // n), interpolation=cv2.INTER_AREA), 1.0 / n
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=interpolation), scale


def _ink_mask(gray_small: np.ndarray, dpi: float) -> np.ndarray:
    """Locally dark pixels (text, lines) of a small grey page."""
    block = max(3, int(round(8.0 / 25.4 * dpi)) | 1)
    return cv2.adaptiveThreshold(
        gray_small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15
    )


def _contrast(gray_small: np.ndarray, ink: np.ndarray) -> float | None:
    values = gray_small[ink > 0]
    if values.size < _MIN_INK_PIXELS:
        return None
    paper = float(np.percentile(gray_small[::3, ::3], 90))
    if paper <= 0:
        return 0.0
    dark = float(np.percentile(values, 10))
    return float(np.clip((paper - dark) / paper, 0.0, 1.0))


def _ink_tiles(
    ink: np.ndarray, scale: float, shape: tuple[int, int], n: int = 4
) -> list[tuple[int, int]]:
    """Top-left corners (full resolution) of the ``n`` tiles with the most ink."""
    cell = max(1, int(round(_TILE * scale)))
    h, w = ink.shape
    rows, cols = h // cell, w // cell
    if rows == 0 or cols == 0:
        return []
    cells = (ink[: rows * cell, : cols * cell] > 0).reshape(rows, cell, cols, cell)
    density = cells.mean(axis=(1, 3))
    order = np.argsort(density, axis=None)[::-1][:n]
    out: list[tuple[int, int]] = []
    for flat in order:
        if density.flat[flat] < 0.02:
            break
        r, c = divmod(int(flat), cols)
        y = min(int(r * cell / scale), max(0, shape[0] - _TILE))
        x = min(int(c * cell / scale), max(0, shape[1] - _TILE))
        out.append((y, x))
    return out


def _edge_width_px(tile: np.ndarray) -> float | None:
    """Width (px) of the edges beyond the sampling limit: ~2.5 sigma of a Gaussian blur."""
    lo, hi = np.percentile(tile, (2, 98))
    step = float(hi - lo)
    if step < 40:
        return None
    f = tile.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    magnitude = np.sqrt(gx * gx + gy * gy)
    slope = float(np.percentile(magnitude, 99.5))
    if slope <= 0:
        return None
    # a perfectly sharp edge still spans ~2 px: remove that sampling floor in quadrature
    return float(np.sqrt(max((step / slope) ** 2 - 4.0, 0.0)))


def _blur_mm(gray: np.ndarray, dpi: float, ink_small: np.ndarray, scale: float) -> float | None:
    widths = []
    for y, x in _ink_tiles(ink_small, scale, gray.shape[:2]):
        w = _edge_width_px(gray[y : y + _TILE, x : x + _TILE])
        if w is not None:
            widths.append(w)
    if not widths:
        return None
    return float(np.median(widths)) / dpi * 25.4


def assess_quality(
    gray: np.ndarray, *, dpi: float, dpi_assumed: bool, config: CleanConfig | None = None
) -> Quality:
    """Resolution, blur and contrast of a (normalised) grey page, with flags.

    blur/contrast are 0.0 when the page has too little ink to measure them (and
    are then not flagged).
    """
    config = config or CleanConfig()
    small, scale = downscale(gray, dpi, config.estimate_dpi)
    ink = _ink_mask(small, dpi * scale)
    contrast = _contrast(small, ink)
    blur = _blur_mm(gray, dpi, ink, scale)
    flags: list[str] = []
    if dpi < config.min_dpi:
        flags.append("low_resolution")
    if blur is not None and blur > config.max_blur_mm:
        flags.append("blurry")
    if contrast is not None and contrast < config.min_contrast:
        flags.append("low_contrast")
    if dpi_assumed:
        flags.append("dpi_assumed")
    return Quality(
        dpi=float(dpi),
        dpi_assumed=bool(dpi_assumed),
        blur=round(blur or 0.0, 3),
        contrast=round(contrast or 0.0, 3),
        flags=tuple(flags),
    )


def detect_blank(
    gray: np.ndarray,
    *,
    dpi: float,
    config: CleanConfig | None = None,
    exclude: np.ndarray | None = None,
) -> bool:
    """True when a normalised grey page carries no real marks.

    Faint show-through (lighter than ``blank_ink_level``), impulse noise (marks
    under ~1 mm) and the outer ``blank_margin`` are ignored; ``exclude`` (same
    shape, non-zero = not paper, e.g. a scanner border) is ignored too. A page with
    a few words, a signature or a card photocopy is not blank.
    """
    config = config or CleanConfig()
    small, scale = downscale(gray, dpi, config.estimate_dpi)
    sdpi = dpi * scale
    ink = (small < config.blank_ink_level).astype(np.uint8)
    if exclude is not None:
        ex = exclude if exclude.shape == small.shape else cv2.resize(
            exclude.astype(np.uint8), (small.shape[1], small.shape[0]),
            interpolation=cv2.INTER_NEAREST,
        )
        ink[ex > 0] = 0
    h, w = ink.shape
    my, mx = int(h * config.blank_margin), int(w * config.blank_margin)
    ink = np.ascontiguousarray(ink[my : h - my, mx : w - mx])
    if ink.size == 0:
        return True
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return True
    stats = stats[1:]
    min_side = max(2, int(round(1.0 / 25.4 * sdpi)))
    real = (stats[:, cv2.CC_STAT_AREA] >= 2) & (
        np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= min_side
    )
    marks = int(real.sum())
    ink_fraction = float(stats[real, cv2.CC_STAT_AREA].sum()) / float(ink.size)
    return marks < config.blank_min_marks and ink_fraction < config.blank_max_ink
