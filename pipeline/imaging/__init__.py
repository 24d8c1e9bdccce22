"""Imaging: decode input page files (ingest) and clean pages for OCR and archiving (clean)."""

from pipeline.imaging.clean import CleanedPage, clean_page
from pipeline.imaging.config import CleanConfig
from pipeline.imaging.ingest import count_pages, load_page, sniff_format
from pipeline.imaging.orient import Orientation, rotate
from pipeline.imaging.quality import Quality

__all__ = [
    "CleanConfig",
    "CleanedPage",
    "Orientation",
    "Quality",
    "clean_page",
    "count_pages",
    "load_page",
    "rotate",
    "sniff_format",
]
