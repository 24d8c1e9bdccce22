"""One page, start to finish: clean, OCR (with an upside-down check), encode.

A pure orchestrator over the stage modules; the flow's page task wraps it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict

from pipeline.classify.layout import LayoutFeatures, layout_features
from pipeline.imaging.clean import CleanConfig, CleanedPage, clean_page, rotate
from pipeline.ocr import OcrConfig, engine_version, ocr_image
from pipeline.pdf.images import EncodedImage, encode_page_image
from pipeline.types import OcrResult, RawPage


class PageConfig(BaseModel):
    """Everything that decides how one page is processed (part of its cache key)."""

    model_config = ConfigDict(frozen=True)

    clean: CleanConfig = CleanConfig()
    ocr: OcrConfig = OcrConfig()
    # Below this orientation confidence, the page is also OCR'd upside down and
    # the reading with the better mean word confidence wins.
    orientation_check_below: float = 0.75
    # A reading this poor (mean word confidence) also triggers the check.
    ocr_check_below: float = 60.0
    # Height fraction of the page band read upside down for the check.
    probe_fraction: float = 0.25
    image_target_bytes: int = 250_000


@dataclass(frozen=True)
class ProcessedPage:
    """What one page became; ``image`` is None for blank pages."""

    rotation: int
    skew: float
    blank: bool
    dpi: float
    quality_flags: tuple[str, ...]
    ocr: OcrResult | None
    image: EncodedImage | None
    layout: LayoutFeatures | None = None  # how the page looks (classifier input)


#: The code that makes a page result (relative to ``pipeline/``): its hash keys the cache.
STAGE_CODE = ("imaging", "ocr", "page.py", "types.py", "pdf/images.py", "classify/layout.py")


@functools.lru_cache(maxsize=1)
def stage_code() -> str:
    """Hash of the page stage's source code, once per process."""
    h = hashlib.sha256()
    base = Path(__file__).resolve().parent
    for part in STAGE_CODE:
        path = base / part
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.relative_to(base).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def stage_fingerprint(config: PageConfig) -> str:
    """What makes a page result besides its input: the page stage's code, the
    Tesseract that reads (its version) and the configuration (engine and languages included).
    A change of any of them gives new keys: old results are never served."""
    made_by = f"{stage_code()}|tesseract {engine_version(config.ocr)}|{config.model_dump_json()}"
    return hashlib.sha256(made_by.encode()).hexdigest()[:20]


def process_page(raw: RawPage, *, config: PageConfig) -> ProcessedPage:
    cleaned = clean_page(raw, config=config.clean)
    flags = tuple(cleaned.quality.flags)
    if cleaned.blank:
        return ProcessedPage(
            rotation=cleaned.rotation, skew=cleaned.skew, blank=True, dpi=cleaned.dpi,
            quality_flags=flags, ocr=None, image=None,
        )
    cleaned, ocr = _read_upright(cleaned, config=config)
    image = encode_page_image(
        cleaned.archive, dpi=cleaned.archive_dpi, target_bytes=config.image_target_bytes
    )
    return ProcessedPage(
        rotation=cleaned.rotation, skew=cleaned.skew, blank=False, dpi=cleaned.dpi,
        quality_flags=flags, ocr=ocr, image=image,
        layout=layout_features(cleaned.archive, cleaned.archive_dpi),
    )


def _read_upright(
    cleaned: CleanedPage, *, config: PageConfig
) -> tuple[CleanedPage, OcrResult]:
    """OCR the page; when its orientation is in doubt, check it turned 180°.

    The check reads only the inkiest band of the page (``probe_fraction`` of
    its height) turned over, and compares it with what the upright reading
    found in the same band: a fraction of a page's OCR instead of a second one.
    Only when the turned band reads better is the whole page read again.
    """
    ocr = ocr_image(cleaned.ocr, dpi=cleaned.ocr_dpi, config=config.ocr)
    doubtful = (
        cleaned.orientation_confidence < config.orientation_check_below
        or ocr.mean_conf < config.ocr_check_below
    )
    if not doubtful:
        return cleaned, ocr
    flipped = flip_180(cleaned)
    top, bottom = _inkiest_band(flipped.ocr, config.probe_fraction)
    probe = ocr_image(flipped.ocr[top:bottom], dpi=flipped.ocr_dpi, config=config.ocr)
    height = cleaned.ocr.shape[0]
    upright_band = _words_in_rows(ocr, height - bottom, height - top)
    if _reading_score(probe) <= _reading_score(upright_band):
        return cleaned, ocr
    return flipped, ocr_image(flipped.ocr, dpi=flipped.ocr_dpi, config=config.ocr)


def _inkiest_band(binary: np.ndarray, fraction: float) -> tuple[int, int]:
    """Rows [top, bottom) of the band of the given height fraction with the most ink
    (of the page's OCR image: binary, or a pristine page as it came)."""
    if binary.ndim == 3:  # a pristine page is read as it came, in colour
        binary = cv2.cvtColor(binary, cv2.COLOR_RGB2GRAY)
    height = binary.shape[0]
    band = max(1, min(height, int(height * fraction)))
    ink = np.count_nonzero(binary < 128, axis=1).astype(np.int64)
    sums = np.convolve(ink, np.ones(band, dtype=np.int64), mode="valid")
    top = int(np.argmax(sums))
    return top, top + band


def _words_in_rows(ocr: OcrResult, top: int, bottom: int) -> OcrResult:
    words = tuple(w for w in ocr.words if top <= w.top + w.height / 2 < bottom)
    confs = [w.conf for w in words]
    return replace(ocr, words=words, mean_conf=float(np.mean(confs)) if confs else 0.0)


def _reading_score(ocr: OcrResult) -> float:
    """Mean confidence weighted by how much was read (a few lucky words lose)."""
    chars = sum(len(w.text) for w in ocr.words)
    return ocr.mean_conf * min(1.0, chars / 60.0)


def flip_180(cleaned: CleanedPage) -> CleanedPage:
    return replace(
        cleaned,
        archive=rotate(cleaned.archive, 180),
        ocr=rotate(cleaned.ocr, 180),
        rotation=(cleaned.rotation + 180) % 360,
    )
