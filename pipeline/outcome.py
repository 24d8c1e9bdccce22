"""What the page stage hands on: small values and a reference to the page image."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.classify.layout import LayoutFeatures
from pipeline.pdf.images import EncodedImage
from pipeline.types import OcrResult, PageRef


@dataclass(frozen=True)
class PageOutcome:
    """One input page after processing, or the reason it could not be processed.

    ``image`` holds the encoded page image's description with its bytes left
    out (``data == b""``); the bytes live at ``image_ref`` in the work store.
    """

    ref: PageRef
    blank: bool = False
    rotation: int = 0
    skew: float = 0.0
    dpi: float = 0.0
    quality_flags: tuple[str, ...] = ()
    ocr: OcrResult | None = None
    image: EncodedImage | None = None
    image_ref: str | None = None
    error: str | None = None
    duplicate_of: str | None = None  # "NAME#PAGE" of the first copy of the same file
    layout: LayoutFeatures | None = None  # how the page looks (classifier input)

    @property
    def usable(self) -> bool:
        """A page that goes into the bundle."""
        return self.error is None and not self.blank and self.image_ref is not None
