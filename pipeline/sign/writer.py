"""The writer of every revision sohoa appends to a bundle (signature, DSS, timestamps).

pyHanko normally rewrites ``/Info`` and the XMP packet (ModDate, Producer) when it
saves a revision; that would make Info and XMP disagree (a PDF/A failure), so this
writer leaves the document metadata alone and never declares a version above 1.7.
"""

from __future__ import annotations

from typing import BinaryIO

from pyhanko.pdf_utils.extensions import DeveloperExtension
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError as PyhankoPdfError

from pipeline.errors import SigningError, first_line


def metadata_preserving_writer(stream: BinaryIO) -> IncrementalPdfFileWriter:
    """The writer of every revision sohoa appends (signature, DSS, timestamps)."""
    try:
        return _MetadataPreservingWriter(stream, strict=False)
    except (PyhankoPdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"bundle is not a readable PDF: {first_line(exc)}") from None


class _MetadataPreservingWriter(IncrementalPdfFileWriter):
    """Incremental writer that never touches /Info or the XMP metadata stream."""

    def _update_meta(self) -> None:
        return None

    def ensure_output_version(self, version: tuple[int, int]) -> None:
        # PDF/A-2 is based on PDF 1.7: never declare a newer version in the catalog.
        super().ensure_output_version(min(tuple(version), _MAX_VERSION))

    def register_extension(self, ext: DeveloperExtension) -> None:
        # Extensions on top of PDF 2.0 (e.g. ISO 32002 for ECDSA keys) would claim
        # PDF 2.0 features; the signature itself is valid PAdES without them.
        if _version_tuple(str(ext.base_version)) > _MAX_VERSION:
            return
        super().register_extension(ext)


_MAX_VERSION = (1, 7)


def _version_tuple(name: str) -> tuple[int, int]:
    major, _, minor = name.lstrip("/").partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return (99, 0)
