"""Clean a decoded page: orientation, deskew, border crop, illumination, denoise, binarise.

Everything is estimated on a small copy of the page (``CleanConfig.estimate_dpi``,
100 dpi by default) and the geometry is applied once to each of two copies: the
page in grey at full resolution, which OCR reads, and the colour archive copy at
``CleanConfig.archive_dpi`` (200 dpi, the bundle's resolution). Cleaning the colour
copy at 300 dpi, then reducing it for the bundle, cost a quarter more CPU per page.

Rotation convention: ``rotation`` is the CLOCKWISE quarter-turn applied to make
the page upright (see :func:`rotate`); ``skew`` is the angle of the text lines
before deskewing, positive counter-clockwise (lines rising to the right).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from pipeline.imaging.config import CleanConfig
from pipeline.imaging.orient import LineGeometry, Orientation, estimate_lines, rotate
from pipeline.imaging.quality import Quality, assess_quality, detect_blank, downscale
from pipeline.types import RawPage

__all__ = [
    "CleanConfig",
    "CleanedPage",
    "Cropped",
    "Deskewed",
    "Orientation",
    "Quality",
    "assess_quality",
    "binarize",
    "clean_page",
    "crop_border",
    "denoise",
    "deskew",
    "detect_blank",
    "detect_orientation",
    "is_pristine",
    "ocr_scale",
    "text_height",
    "normalize_illumination",
    "rotate",
]


@dataclass(frozen=True, eq=False)
class CleanedPage:
    """A cleaned page. ``archive`` (RGB or grey, for the PDF bundle, at ``archive_dpi``:
    at most ``CleanConfig.archive_dpi``) and ``ocr`` (for Tesseract: binary 0/255; a
    pristine page as it came; a page of small text in grey, enlarged
    ``ocr_scale`` times, at ``dpi`` times ``ocr_scale``) show the same page, upright,
    deskewed and cropped alike."""

    archive: np.ndarray
    ocr: np.ndarray
    dpi: float
    rotation: int
    orientation_confidence: float
    skew: float
    blank: bool
    quality: Quality
    archive_dpi: float
    pristine: bool = False  # already clean: ``ocr`` is the page as it came, not binarised
    ocr_scale: float = 1.0  # ``ocr`` is the page enlarged this much (small text)

    @property
    def ocr_dpi(self) -> float:
        """Resolution of the OCR image (``dpi`` times ``ocr_scale``)."""
        return self.dpi * self.ocr_scale


@dataclass(frozen=True, eq=False)
class Deskewed:
    image: np.ndarray
    angle: float
    """Skew that was found (degrees, counter-clockwise positive) and removed."""


@dataclass(frozen=True, eq=False)
class Cropped:
    image: np.ndarray
    box: tuple[int, int, int, int]
    """(left, top, right, bottom) of the kept region in the input, right/bottom exclusive."""


# --- small helpers -------------------------------------------------------------
#: text at least this much taller than the enlargement threshold in a quarter of
#: the page's lines is taken as large enough without measuring the whole page
_SAMPLE_MARGIN = 1.25


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def _noise_sigma(gray_small: np.ndarray) -> float:
    """Robust estimate of the pixel noise (grey levels) of a small page."""
    sample = np.ascontiguousarray(gray_small[::2, ::2]) if gray_small.size > 400_000 else gray_small
    diff = cv2.absdiff(sample, cv2.medianBlur(sample, 3))
    return 1.4826 * float(np.median(diff))


def _ink(gray_small: np.ndarray, dpi: float, exclude: np.ndarray | None = None) -> np.ndarray:
    """Locally dark pixels; the margin grows with the noise so noise is not ink."""
    block = max(3, int(round(8.0 / 25.4 * dpi)) | 1)
    margin = max(15.0, 3.5 * _noise_sigma(gray_small))
    ink = cv2.adaptiveThreshold(
        gray_small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, margin
    )
    if exclude is not None:
        ink[exclude > 0] = 0
    return ink


def _paper_colour(small: np.ndarray, ink: np.ndarray, border: np.ndarray) -> tuple[int, ...]:
    keep = (ink[::3, ::3] == 0) & (border[::3, ::3] == 0)
    pixels = small[::3, ::3][keep]
    if pixels.size == 0:
        pixels = small.reshape(-1, *small.shape[2:])
    value = np.median(pixels, axis=0)
    return tuple(int(v) for v in np.atleast_1d(value))


def _rotate_by(
    image: np.ndarray, angle_ccw: float, fill: tuple[int, ...] | int, interp: int
) -> np.ndarray:
    """Rotate about the centre by ``angle_ccw`` degrees counter-clockwise, same size."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_ccw, 1.0)
    value = fill if isinstance(fill, int) else tuple(float(v) for v in fill)
    return cv2.warpAffine(
        image, matrix, (w, h), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=value
    )


def _reduction(dpi: float, config: CleanConfig) -> int:
    """How the archive copy is reduced: bilinear down to half the resolution (300 to 200
    dpi: within 47 dB of averaging by area, a sixth of its CPU), by area below that."""
    return cv2.INTER_LINEAR if config.archive_dpi / max(dpi, 1.0) > 0.5 else cv2.INTER_AREA


def _grey_fill(fill: tuple[int, ...]) -> int:
    """The grey level of a paper colour."""
    if len(fill) == 1:
        return int(fill[0])
    return int(_gray(np.array([[fill]], dtype=np.uint8))[0, 0])


def _turned(image: np.ndarray, geo: LineGeometry, fill: tuple[int, ...] | int, interp: int,
            config: CleanConfig) -> np.ndarray:
    """``image`` upright: the quarter turn, then the skew (when worth removing)."""
    image = rotate(image, geo.rotation)
    if abs(geo.skew) >= config.min_skew_to_fix:
        image = _rotate_by(image, -geo.skew, fill, interp)
    return image


def _cut(image: np.ndarray, box: tuple[int, int, int, int],
         small_shape: tuple[int, ...]) -> np.ndarray:
    """The part of ``image`` inside ``box``, a box of the small copy (``small_shape``)."""
    h, w = image.shape[:2]
    left, top, right, bottom = _scale_box(box, small_shape[1] / w, small_shape[0] / h, w, h)
    return np.ascontiguousarray(image[top:bottom, left:right])


# --- border --------------------------------------------------------------------
def border_mask(gray_small: np.ndarray, *, config: CleanConfig | None = None) -> np.ndarray:
    """uint8 mask (255) of the dark scanner border: solid dark regions touching the
    image edge and spanning a good part of it."""
    config = config or CleanConfig()
    paper = float(np.percentile(gray_small[::2, ::2], 95))
    dark = (gray_small < config.border_dark * paper).astype(np.uint8)
    solid = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=4)
    h, w = solid.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    touches = (x == 0) | (y == 0) | (x + bw == w) | (y + bh == h)
    spans = (bw >= config.border_min_span * w) | (bh >= config.border_min_span * h)
    keep = touches & spans
    keep[0] = False  # background label
    mask = (keep[labels] * 255).astype(np.uint8)
    if mask.any():  # swallow the shadow fringe along the paper edge
        mask = cv2.dilate(mask, np.ones((5, 5), np.uint8))
    return mask


def _paper_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the rows/columns that are mostly paper."""
    h, w = mask.shape
    if not mask.any():
        return 0, 0, w, h
    paper = mask == 0
    rows, cols = paper.mean(axis=1), paper.mean(axis=0)
    r = np.flatnonzero(rows >= 0.5 * rows.max())
    c = np.flatnonzero(cols >= 0.5 * cols.max())
    if r.size == 0 or c.size == 0:
        return 0, 0, w, h
    return int(c[0]), int(r[0]), int(c[-1]) + 1, int(r[-1]) + 1


def _scale_box(
    box: tuple[int, int, int, int], sx: float, sy: float, w: int, h: int
) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return (
        min(w, int(np.ceil(left / sx))),
        min(h, int(np.ceil(top / sy))),
        max(0, min(w, int(np.floor(right / sx)))),
        max(0, min(h, int(np.floor(bottom / sy)))),
    )


def crop_border(
    image: np.ndarray, *, dpi: float = 300.0, config: CleanConfig | None = None
) -> Cropped:
    """Cut away the dark scanner border (left-over dark corners are painted paper-coloured)."""
    config = config or CleanConfig()
    small, scale = downscale(image, dpi, config.estimate_dpi)
    gsmall = _gray(small)
    mask = border_mask(gsmall, config=config)
    box = _paper_box(mask)
    h, w = image.shape[:2]
    full_box = _scale_box(box, small.shape[1] / w, small.shape[0] / h, w, h)
    left, top, right, bottom = full_box
    out = image[top:bottom, left:right].copy()
    sub = mask[box[1] : box[3], box[0] : box[2]]
    if sub.any() and out.size:
        fill = _paper_colour(small, _ink(gsmall, dpi * scale), mask)
        _paint(out, sub, fill)
    return Cropped(image=out, box=full_box)


def _paint(image: np.ndarray, mask_small: np.ndarray, fill: tuple[int, ...]) -> None:
    big = cv2.resize(mask_small, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    image[big > 0] = fill if image.ndim == 3 else fill[0]


# --- deskew ----------------------------------------------------------------------
def detect_orientation(
    gray: np.ndarray, *, dpi: float = 300.0, config: CleanConfig | None = None
) -> Orientation:
    """Clockwise quarter-turn (0/90/180/270) that makes the page upright, with a
    confidence in [0, 1] (~ probability it is right; < 0.75 means: verify 180 with OCR)."""
    geo = _geometry(gray, dpi=dpi, config=config or CleanConfig())
    return Orientation(rotation=geo.rotation, confidence=geo.confidence)


def _geometry(gray: np.ndarray, *, dpi: float, config: CleanConfig) -> LineGeometry:
    small, scale = downscale(gray, dpi, config.estimate_dpi)
    mask = border_mask(small, config=config)
    return estimate_lines(_ink(small, dpi * scale, mask), max_angle=config.max_skew_angle)


def deskew(image: np.ndarray, *, max_angle: float = 15.0, dpi: float = 300.0) -> Deskewed:
    """Find the skew of the (upright or upside-down) text lines and rotate it away."""
    config = CleanConfig(max_skew_angle=max_angle)
    geo = _geometry(_gray(image), dpi=dpi, config=config)
    if geo.rotation in (90, 270) or abs(geo.skew) < config.min_skew_to_fix:
        return Deskewed(image=image, angle=geo.skew if geo.rotation in (0, 180) else 0.0)
    return Deskewed(image=_rotate_by(image, -geo.skew, 255, cv2.INTER_LINEAR), angle=geo.skew)


# --- illumination, noise, binarisation -------------------------------------------------
def _background(image: np.ndarray, dpi: float, config: CleanConfig) -> np.ndarray:
    """Paper brightness (per channel) at ~25 dpi: text-free max filter, smoothed."""
    tiny, scale = downscale(image, dpi, 25.0)
    tdpi = dpi * scale
    k = max(3, int(round(config.background_window_mm / 25.4 * tdpi)) | 1)
    bg = cv2.dilate(tiny, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    bg = cv2.blur(bg, (k, k))
    level = np.percentile(bg.reshape(-1, *bg.shape[2:])[::3], 95, axis=0)
    floor = np.maximum(np.asarray(level) * config.background_floor, 1.0)
    return np.maximum(bg, floor.astype(np.uint8)).astype(np.uint8)


def normalize_illumination(
    image: np.ndarray, *, dpi: float = 300.0, config: CleanConfig | None = None
) -> np.ndarray:
    """Divide by the estimated paper brightness: even, white background; colours
    (e.g. red seals) and ink darkness kept."""
    config = config or CleanConfig()
    bg = _background(image, dpi, config)
    return _divide(image, bg)


def _divide(image: np.ndarray, bg_small: np.ndarray) -> np.ndarray:
    bg = cv2.resize(bg_small, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    if bg.ndim == 2 and image.ndim == 3:
        bg = cv2.cvtColor(bg, cv2.COLOR_GRAY2RGB)
    return cv2.divide(image, bg, scale=255.0)


def noise_level(gray: np.ndarray, *, tiles: int = 6, size: int = 256) -> float:
    """Fraction of impulse-noise pixels: isolated specks, dark on light or light on
    dark, with at most one neighbour of their own kind.

    Text strokes are not counted (their pixels have neighbours along the stroke):
    a clean, sharp bilevel scan measures ~0, so its thin strokes and diacritics
    are never median-filtered away.
    """
    h, w = gray.shape[:2]
    if h < size or w < size:
        size = min(h, w)
    if size < 8:
        return 0.0
    kernel = np.ones((3, 3), np.float32)
    fracs = []
    for i in range(tiles):
        y = int((h - size) * (i + 0.5) / tiles)
        x = int((w - size) * ((i * 7 + 3) % tiles + 0.5) / tiles)
        tile = gray[y : y + size, x : x + size]
        outlier = cv2.absdiff(tile, cv2.medianBlur(tile, 3)) > 60
        dark = (tile < 128).astype(np.float32)
        dark_nb = cv2.filter2D(dark, -1, kernel, borderType=cv2.BORDER_REPLICATE) - dark
        isolated = np.where(dark > 0, dark_nb <= 1, (8 - dark_nb) <= 1)
        fracs.append(float(np.mean(outlier & isolated)))
    return float(np.median(fracs))


def text_height(gray: np.ndarray) -> float | None:
    """Median height (pixels) of the glyph-sized ink marks of a page, or None
    when there are too few to tell. Measured after a 3x3 median, so that noise
    specks are not taken for small glyphs."""
    _, ink = cv2.threshold(
        cv2.medianBlur(gray, 3), 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU
    )
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w = stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_WIDTH]
    glyphs = (h >= 4) & (h <= gray.shape[0] * 0.05) & (w <= 3 * h)
    if int(glyphs.sum()) < 20:
        return None
    return float(np.median(h[glyphs]))


def _bands(gray: np.ndarray, every: int = 4, count: int = 16) -> np.ndarray:
    """One horizontal band in ``every`` of ``count``, stacked: a sample of the page's
    lines from top to bottom (glyphs cut by a band's edge only make it read shorter)."""
    height = gray.shape[0]
    edges = np.linspace(0, height, count + 1).astype(int)
    return np.ascontiguousarray(np.concatenate(
        [gray[edges[i] : edges[i + 1]] for i in range(0, count, every)]))


def ocr_scale(gray: np.ndarray, *, config: CleanConfig | None = None) -> float:
    """How much to enlarge a page for OCR: 1 unless its text is small (see
    ``CleanConfig.ocr_text_px``).

    A quarter of the page's lines are measured first: text clearly taller than
    ``ocr_min_text_px`` there (a margin of a quarter, and cut glyphs only lower the
    sample) needs no more; otherwise the whole page decides, as it always did.
    """
    config = config or CleanConfig()
    if gray.shape[0] >= 1600:  # the sample pays on large pages only
        sampled = text_height(_bands(gray))
        if sampled is not None and sampled >= _SAMPLE_MARGIN * config.ocr_min_text_px:
            return 1.0
    height = text_height(gray)
    if height is None or height >= config.ocr_min_text_px:
        return 1.0
    return round(min(config.ocr_max_upscale, config.ocr_text_px / height), 3)


def _enlarge(image: np.ndarray, scale: float) -> np.ndarray:
    if scale <= 1.0:
        return image
    h, w = image.shape[:2]
    size = (round(w * scale), round(h * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)


def is_pristine(image: np.ndarray, *, config: CleanConfig | None = None,
                gray: np.ndarray | None = None) -> bool:
    """Pure white paper (no colour cast: every channel) and no impulse noise (measured
    on ``gray``, the page in grey at full resolution, when given): nothing for the
    cleaning to improve."""
    config = config or CleanConfig()
    sample = image[::3, ::3]  # a ninth of the pixels tells the paper's colour
    sample = np.ascontiguousarray(sample.min(axis=2) if sample.ndim == 3 else sample)
    otsu, _ = cv2.threshold(sample, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    paper = sample[sample > otsu]
    if paper.size == 0 or float(np.mean(paper >= 250)) < config.pristine_white:
        return False
    return noise_level(_gray(image) if gray is None else gray) <= config.noise_threshold


def denoise(image: np.ndarray, *, config: CleanConfig | None = None) -> np.ndarray:
    """Median-filter a page that carries salt-and-pepper/speckle noise; clean pages
    are returned unchanged."""
    config = config or CleanConfig()
    if noise_level(_gray(image)) <= config.noise_threshold:
        return image
    return cv2.medianBlur(image, 3)


def binarize(gray: np.ndarray, *, config: CleanConfig | None = None) -> np.ndarray:
    """Black text (0) on white (255) of a normalised grey page: Otsu, clamped."""
    config = config or CleanConfig()
    gray = _gray(gray)
    sample = np.ascontiguousarray(gray[::2, ::2])
    otsu, _ = cv2.threshold(sample, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    thr = float(np.clip(otsu, config.binarize_min, config.binarize_max))
    _, out = cv2.threshold(gray, thr, 255, cv2.THRESH_BINARY)
    return out


# --- composition --------------------------------------------------------------------
def clean_page(raw: RawPage, *, config: CleanConfig | None = None) -> CleanedPage:
    """Orientation, deskew, border crop, illumination, denoise, binarisation, blank test
    and quality of one page.

    A pristine page (:func:`is_pristine`: a clean bilevel scan, a rendered
    born-digital page) gets the geometry only: lighting, denoising and our own
    binarisation can only lose strokes there, so Tesseract reads it as it came.
    A page of small text (:func:`ocr_scale`: a 72-150 dpi scan or web image) is
    enlarged for OCR and never median-filtered: its strokes are a pixel wide.
    """
    config = config or CleanConfig()
    image = np.ascontiguousarray(raw.image)
    dpi = float(raw.dpi)
    # the archive copy (at most ``archive_dpi``) and, from it, the small one
    keep = downscale(image, dpi, config.archive_dpi, interpolation=_reduction(dpi, config))[0]
    keep_dpi = dpi * keep.shape[1] / image.shape[1]
    small, scale = downscale(keep, keep_dpi, config.estimate_dpi)
    sdpi = keep_dpi * scale
    gsmall = _gray(small)
    border = border_mask(gsmall, config=config)
    ink = _ink(gsmall, sdpi, border)
    fill = _paper_colour(small, ink, border)
    blank = detect_blank(
        _gray(_divide(small, _background(small, sdpi, config))),
        dpi=sdpi, config=config, exclude=border,
    )
    geo = LineGeometry(0, 0.0, 0.0) if blank else estimate_lines(
        ink, max_angle=config.max_skew_angle
    )

    # geometry (the quarter turn, then the skew) applied once to each copy: the grey
    # page at full resolution for OCR, and the archive copy
    grey_fill = _grey_fill(fill)
    outside = 255 if border.any() else 0  # beyond a scanner border is border too
    gray = _turned(_gray(image), geo, grey_fill, cv2.INTER_LINEAR, config)
    keep = _turned(keep, geo, fill, cv2.INTER_LINEAR, config)
    small = _turned(small, geo, fill, cv2.INTER_LINEAR, config)
    border = _turned(border, geo, outside, cv2.INTER_NEAREST, config)
    box, frame = _paper_box(border), small.shape
    gray, keep = _cut(gray, box, frame), _cut(keep, box, frame)
    small = np.ascontiguousarray(small[box[1] : box[3], box[0] : box[2]])
    border = np.ascontiguousarray(border[box[1] : box[3], box[0] : box[2]])
    if border.any():
        _paint(gray, border, (grey_fill,))
        _paint(keep, border, fill)
        small[border > 0] = fill if small.ndim == 3 else fill[0]

    # illumination and noise, unless the page is already clean (whiteness told by the
    # page as it came: a reduced copy blends the edges of letters into the paper)
    pristine = not border.any() and is_pristine(image, gray=gray, config=config)
    if not pristine:
        paper = _background(small, sdpi, config)
        keep, gray = _divide(keep, paper), _divide(gray, _gray(paper))
    scale = 1.0 if blank else ocr_scale(gray, config=config)
    if pristine:  # already clean: read as it came (Tesseract's own grey and threshold)
        came = gray if image.ndim == 2 else _cut(  # a grey page came as ``gray`` is
            _turned(image, geo, fill, cv2.INTER_LINEAR, config), box, frame)
        ocr = _enlarge(came, scale)
    elif scale > 1.0:
        # small text whose strokes are a pixel or two wide: no filter, no threshold
        # of ours; Tesseract thresholds the enlarged page
        ocr = _enlarge(gray, scale)
    else:
        if noise_level(gray) > config.noise_threshold:
            keep, gray = cv2.medianBlur(keep, 3), cv2.medianBlur(gray, 3)
        ocr = binarize(gray, config=config)
    quality = assess_quality(gray, dpi=dpi, dpi_assumed=raw.dpi_assumed, config=config)
    if blank:  # nothing to read: blur and contrast mean nothing
        quality = replace(quality, flags=tuple(
            f for f in quality.flags if f not in ("blurry", "low_contrast")
        ))
    return CleanedPage(
        archive=keep,
        ocr=ocr,
        dpi=dpi,
        archive_dpi=keep_dpi,
        rotation=geo.rotation,
        orientation_confidence=geo.confidence,
        skew=geo.skew,
        blank=blank,
        quality=quality,
        pristine=pristine,
        ocr_scale=scale,
    )
