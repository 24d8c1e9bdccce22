"""PDF/A-2b bundle: page images, invisible Vietnamese text layer, metadata, inspection."""

from pipeline.pdf.bundle import ArchiveMetadata, Bookmark, BundlePage, build_bundle, write_bundle
from pipeline.pdf.conformance import Check, PdfaReport, check_pdfa
from pipeline.pdf.images import EncodedImage, encode_page_image
from pipeline.pdf.textlayer import text_layer_ops

__all__ = [
    "ArchiveMetadata",
    "Bookmark",
    "BundlePage",
    "Check",
    "EncodedImage",
    "PdfaReport",
    "build_bundle",
    "check_pdfa",
    "encode_page_image",
    "text_layer_ops",
    "write_bundle",
]
