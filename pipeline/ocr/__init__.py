"""OCR stage: Tesseract, as its library in reader processes kept between pages
(:mod:`pipeline.ocr.libtesseract`, the default) or as its program, a process per page
(:mod:`pipeline.ocr.tesseract`)."""

from __future__ import annotations

import numpy as np

from pipeline.ocr import libtesseract, tesseract
from pipeline.ocr.tesseract import OcrConfig, languages
from pipeline.types import OcrResult

__all__ = ["OcrConfig", "engine_version", "languages", "ocr_image", "warm_up"]


def engine_version(config: OcrConfig) -> str:
    """The version of the Tesseract ``config.engine`` reads with (MissingDependency if absent)."""
    return libtesseract.version() if config.engine == "library" else tesseract.version()


def ocr_image(image: np.ndarray, *, dpi: float, config: OcrConfig | None = None) -> OcrResult:
    """OCR one page image with the engine ``config`` names (see the two modules)."""
    config = config or OcrConfig()
    if config.engine == "library":
        return libtesseract.ocr_image(image, dpi=dpi, config=config)
    return tesseract.ocr_image(image, dpi=dpi, config=config)


def warm_up(count: int, *, config: OcrConfig) -> None:
    """Have ``count`` readers ready with their language models before the first page
    (the library engine keeps its readers; the program starts one per page: nothing
    to do)."""
    if config.engine == "library":
        libtesseract.warm_readers(count, config=config)
