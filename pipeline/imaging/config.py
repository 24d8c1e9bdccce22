"""Configuration of the cleaning stage (frozen pydantic model)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CleanConfig"]


class CleanConfig(BaseModel):
    """Knobs of :func:`pipeline.imaging.clean.clean_page`; the defaults suit A4 office scans."""

    model_config = ConfigDict(frozen=True)

    # geometry
    max_skew_angle: float = Field(default=15.0, ge=0.0, le=44.0)
    min_skew_to_fix: float = Field(default=0.1, ge=0.0)
    """Skews smaller than this (degrees) are reported but not corrected."""
    estimate_dpi: float = Field(default=100.0, ge=50.0, le=300.0)
    """Resolution of the small copy used for orientation, skew, border, blank and lighting."""
    archive_dpi: float = Field(default=200.0, ge=100.0, le=1200.0)
    """Resolution of the archive image (the bundle's): a page scanned finer is reduced
    to it before its colour copy is cleaned; OCR reads the full resolution in grey."""
    border_dark: float = Field(default=0.45, gt=0.0, lt=1.0)
    """A scanner border is darker than this fraction of the paper brightness."""
    border_min_span: float = Field(default=0.1, gt=0.0, le=1.0)
    """A border region spans at least this fraction of the page side it touches."""

    # illumination / denoise / binarisation
    background_window_mm: float = Field(default=12.0, gt=1.0)
    """Text and marks narrower than this vanish from the background estimate."""
    background_floor: float = Field(default=0.4, gt=0.0, le=1.0)
    """Background never estimated darker than this fraction of the paper level."""
    noise_threshold: float = Field(default=0.004, ge=0.0)
    """Fraction of impulse-noise pixels above which the page is median-filtered."""
    pristine_white: float = Field(default=0.98, ge=0.0, le=1.0)
    """A page whose paper (pixels lighter than the ink threshold) is pure white
    (>= 250) in at least this share, without noise or scanner border, is already
    clean (a bilevel scan, a rendered born-digital page): it is read as it is."""
    ocr_text_px: float = Field(default=24.0, gt=0.0)
    """Median character height (pixels) the OCR image is brought to when its text is
    smaller than ``ocr_min_text_px``: a 100-dpi scan or a web image is enlarged
    before binarisation, which would otherwise merge and break its strokes."""
    ocr_min_text_px: float = Field(default=16.0, gt=0.0)
    ocr_max_upscale: float = Field(default=4.0, ge=1.0, le=8.0)
    binarize_min: int = Field(default=90, ge=0, le=255)
    binarize_max: int = Field(default=200, ge=0, le=255)

    # blank pages
    blank_ink_level: int = Field(default=200, ge=0, le=255)
    """On the illumination-normalised page (paper 255), ink is darker than this;
    show-through and noise are not."""
    blank_max_ink: float = Field(default=0.0005, ge=0.0)
    """A blank page has less than this fraction of ink ..."""
    blank_min_marks: int = Field(default=3, ge=1)
    """... and fewer marks (connected ink >= ~1 mm) than this."""
    blank_margin: float = Field(default=0.03, ge=0.0, lt=0.5)
    """Fraction of each side ignored by the blank test (edge shadows, punch holes)."""

    # quality
    min_dpi: float = Field(default=200.0, gt=0.0)
    max_blur_mm: float = Field(default=0.35, gt=0.0)
    """Edges spread wider than this (mm, ~2.5 sigma of the blur) flag the page "blurry"."""
    min_contrast: float = Field(default=0.35, ge=0.0, le=1.0)
    """Ink darker than paper by less than this fraction flags the page "low_contrast"."""
