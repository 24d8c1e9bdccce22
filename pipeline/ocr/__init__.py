"""OCR stage: Tesseract wrapper (see :mod:`pipeline.ocr.tesseract`)."""

from pipeline.ocr.tesseract import OcrConfig, languages, ocr_image, version

__all__ = ["OcrConfig", "languages", "ocr_image", "version"]
