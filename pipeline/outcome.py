"""What the page stage hands on: small values and a reference to the page image."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pipeline.classify.layout import LayoutFeatures
from pipeline.page import ProcessedPage
from pipeline.pdf.images import EncodedImage
from pipeline.types import OcrResult, PageRef


@dataclass(frozen=True)
class PageOutcome:
    """One input page after processing, or the reason it could not be processed.

    ``image`` is the encoded page image; in a flow its bytes are left out
    (``data == b""``) and live at ``image_ref`` in the work area, so that page
    results stay small. :meth:`of` is the one conversion from the page stage.
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

    @classmethod
    def of(cls, ref: PageRef, done: ProcessedPage, *, image_ref: str | None = None) -> PageOutcome:
        """What the page stage made of ``ref``; with ``image_ref`` the image bytes are
        stored there by the caller and left out of the outcome."""
        image = done.image
        if image is not None and image_ref is not None:
            image = replace(image, data=b"")
        return cls(ref=ref, blank=done.blank, rotation=done.rotation, skew=done.skew, dpi=done.dpi,
                   quality_flags=done.quality_flags, ocr=done.ocr, image=image,
                   image_ref=image_ref if done.image is not None else None, layout=done.layout)

    @property
    def usable(self) -> bool:
        """A page that goes into the bundle (read, not blank)."""
        return self.error is None and not self.blank and self.ocr is not None

    def image_bytes(self) -> bytes:
        """The encoded page image, from the work area when it was stored there."""
        if self.image is None:
            raise ValueError(f"{self.ref.source}#{self.ref.source_page} has no page image")
        if self.image_ref is not None:
            with open(self.image_ref, "rb") as fh:
                return fh.read()
        return self.image.data
