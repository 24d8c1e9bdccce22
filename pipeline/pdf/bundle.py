"""Assemble the PDF/A-2b bundle: one JPEG page image per page at 100 % scale,
the invisible OCR text over it, Vietnamese bookmarks, XMP + Info metadata and
an sRGB output intent. Output is deterministic for the same inputs and
``created``; it is written without linearization so that a signature can be
appended later as an incremental update.

Memory stays flat in the number of pages: :func:`write_bundle` takes the pages
one at a time and writes them to scratch PDFs of ``PAGES_PER_STAGE`` pages; qpdf's
own page merge (QPDFJob, as ``qpdf --empty --pages``) joins them, and the bundle is
saved from the joined file: qpdf reads each page image from disk while it writes,
so no more than one stage of page images is ever in memory."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import pikepdf
from pikepdf import Array, Dictionary, Name, String
from PIL import ImageCms

from pipeline.errors import PdfError
from pipeline.pdf.font import add_glyphless_font
from pipeline.pdf.images import EncodedImage
from pipeline.pdf.metadata import ArchiveMetadata
from pipeline.pdf.textlayer import FONT_RESOURCE, text_layer_ops
from pipeline.pdf.xmp import build_xmp, keywords_text
from pipeline.types import Word

PRODUCER = "sohoa (pikepdf)"
#: pages (page images) held in memory at once while a bundle is written
PAGES_PER_STAGE = 16
OUTPUT_CONDITION = "sRGB IEC61966-2.1"


@dataclass(frozen=True)
class BundlePage:
    """One bundle page. Word boxes are in pixels of an ``ocr_width`` x ``ocr_height``
    image with the same geometry as ``image`` (possibly another resolution)."""

    image: EncodedImage
    words: tuple[Word, ...]
    ocr_width: int
    ocr_height: int


@dataclass(frozen=True)
class Bookmark:
    title: str
    page_index: int  # 0-based


@lru_cache(maxsize=1)
def srgb_icc_profile() -> bytes:
    """LittleCMS's built-in sRGB profile (v4 tags) with a fixed creation date (determinism)."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[8:12] = b"\x04\x20\x00\x00"  # ICC 4.2, the version PDF 1.7 (ISO 32000-1) cites
    data[24:36] = bytes.fromhex("07e8 0001 0001 0000 0000 0000")  # 2024-01-01 00:00:00
    data[84:100] = bytes(16)  # profile ID: zero = not computed
    return bytes(data)


def pdf_date(value: datetime) -> str:
    """PDF date string, e.g. D:20261120091500+07'00'."""
    offset = value.utcoffset()
    if offset is None:
        raise PdfError("bundle creation time must carry a time zone")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return value.strftime("D:%Y%m%d%H%M%S") + f"{sign}{hh:02d}'{mm:02d}'"


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _image_xobject(pdf: pikepdf.Pdf, img: EncodedImage) -> pikepdf.Stream:
    xobject = pikepdf.Stream(pdf, img.data)
    xobject.Type = Name.XObject
    xobject.Subtype = Name.Image
    xobject.Width = img.width
    xobject.Height = img.height
    xobject.ColorSpace = Name("/" + img.colorspace)
    xobject.BitsPerComponent = 8
    xobject.Filter = Name("/" + img.filter)
    return xobject


def _add_page(pdf: pikepdf.Pdf, page: BundlePage, font: pikepdf.Object) -> None:
    img = page.image
    width_pt = round(img.width / img.dpi * 72.0, 3)
    height_pt = round(img.height / img.dpi * 72.0, 3)
    draw = f"q\n{_num(width_pt)} 0 0 {_num(height_pt)} 0 0 cm\n/Im0 Do\nQ\n".encode("ascii")
    text = text_layer_ops(
        page.words,
        img_w=page.ocr_width,
        img_h=page.ocr_height,
        page_w_pt=width_pt,
        page_h_pt=height_pt,
    )
    resources = Dictionary(XObject=Dictionary(Im0=pdf.make_indirect(_image_xobject(pdf, img))))
    resources.Font = Dictionary({FONT_RESOURCE: font})
    page_dict = Dictionary(
        Type=Name.Page,
        MediaBox=Array([0, 0, width_pt, height_pt]),
        Resources=resources,
        Contents=pdf.make_indirect(pikepdf.Stream(pdf, draw + text)),
    )
    pdf.pages.append(pikepdf.Page(pdf.make_indirect(page_dict)))


def _add_output_intent(pdf: pikepdf.Pdf) -> None:
    profile = pikepdf.Stream(pdf, srgb_icc_profile())
    profile.N = 3
    intent = Dictionary(
        Type=Name.OutputIntent,
        S=Name.GTS_PDFA1,
        OutputConditionIdentifier=String(OUTPUT_CONDITION),
        Info=String(OUTPUT_CONDITION),
        RegistryName=String("http://www.color.org"),
        DestOutputProfile=pdf.make_indirect(profile),
    )
    pdf.Root.OutputIntents = Array([pdf.make_indirect(intent)])


def _add_metadata(pdf: pikepdf.Pdf, meta: ArchiveMetadata, created: datetime) -> None:
    creator = meta.agency or meta.branch or meta.creator_tool
    xmp = pikepdf.Stream(pdf, build_xmp(meta, created=created, producer=PRODUCER,
                                        creator=creator))
    xmp.Type = Name.Metadata
    xmp.Subtype = Name.XML
    pdf.Root.Metadata = pdf.make_indirect(xmp)
    stamp = pdf_date(created)
    # No /Producer in Info on purpose: pyHanko (signing, an incremental update)
    # appends "; pyHanko x.y" to an Info /Producer but writes only "pyHanko x.y"
    # to XMP pdf:Producer, which would break PDF/A's Info/XMP consistency. With
    # no Info /Producer both end up equal. XMP pdf:Producer names sohoa.
    info = Dictionary(
        Title=String(meta.title),
        Author=String(creator),
        Creator=String(meta.creator_tool),
        CreationDate=String(stamp),
        ModDate=String(stamp),
    )
    if meta.keywords:
        info.Keywords = String(keywords_text(meta.keywords))
    pdf.trailer.Info = pdf.make_indirect(info)


def _check_page(page: BundlePage) -> None:
    if page.ocr_width <= 0 or page.ocr_height <= 0:
        raise PdfError("bundle page has a non-positive OCR image size")


def _check_whole(count: int, outline: Sequence[Bookmark], meta: ArchiveMetadata) -> None:
    if not count:
        raise PdfError("a bundle needs at least one page")
    if meta.page_count != count:
        raise PdfError(f"metadata page_count {meta.page_count} != {count} bundle pages")
    for mark in outline:
        if not 0 <= mark.page_index < count:
            raise PdfError(f"bookmark points to page index {mark.page_index} out of range")


def _stages(pages: Iterable[BundlePage]) -> Iterator[list[BundlePage]]:
    it = iter(pages)
    while stage := list(islice(it, PAGES_PER_STAGE)):
        yield stage


def _write_stage(pages: Sequence[BundlePage], path: Path) -> Path:
    """A scratch PDF of ``pages`` (each with its image, text layer and font)."""
    with pikepdf.new() as stage:
        font = add_glyphless_font(stage)
        for page in pages:
            _check_page(page)
            _add_page(stage, page, font)
        stage.save(path)
    return path


def _join(stages: Sequence[Path], path: Path) -> None:
    """The pages of ``stages`` in one file, by qpdf's page merge (stream data is read
    from the stage files while the joined file is written, never all at once)."""
    try:
        pikepdf.Job(["qpdf", "--deterministic-id", "--empty",
                     "--pages", *map(str, stages), "--", str(path)]).run()
    except (pikepdf.PdfError, RuntimeError) as exc:  # pragma: no cover - qpdf failure
        raise PdfError(f"could not join the bundle's pages: {exc}") from exc


def write_bundle(
    pages: Iterable[BundlePage],
    out: Path | BinaryIO,
    *,
    outline: Sequence[Bookmark],
    meta: ArchiveMetadata,
    created: datetime,
    scratch: Path | None = None,
) -> None:
    """Write the PDF/A-2b bundle to ``out`` (a path or a binary stream).

    ``pages`` is consumed once, in order: pass a generator that reads each page's
    image when asked, and at most ``PAGES_PER_STAGE`` of them are in memory at once
    (scratch files under ``scratch``, default the system's temporary folder).
    """
    if created.utcoffset() is None:
        raise PdfError("bundle creation time must carry a time zone")
    with tempfile.TemporaryDirectory(prefix="sohoa-bundle-", dir=scratch) as tmp:
        folder = Path(tmp)
        stages, count = [], 0
        for n, stage in enumerate(_stages(pages)):
            stages.append(_write_stage(stage, folder / f"stage-{n:05d}.pdf"))
            count += len(stage)
        _check_whole(count, outline, meta)
        _join(stages, folder / "joined.pdf")
        with pikepdf.open(folder / "joined.pdf") as pdf:
            _finish(pdf, outline=outline, meta=meta, created=created)
            try:
                pdf.save(
                    out,
                    min_version="1.7",
                    force_version="1.7",
                    deterministic_id=True,
                    compress_streams=True,
                    object_stream_mode=pikepdf.ObjectStreamMode.disable,
                    linearize=False,
                    fix_metadata_version=False,  # keep our XMP packet byte for byte
                )
            except pikepdf.PdfError as exc:  # pragma: no cover - pikepdf internal failure
                raise PdfError(f"could not write the bundle: {exc}") from exc


def _finish(pdf: pikepdf.Pdf, *, outline: Sequence[Bookmark], meta: ArchiveMetadata,
            created: datetime) -> None:
    """Bookmarks, catalog entries, output intent and metadata."""
    with pdf.open_outline() as tree:
        for mark in outline:
            tree.root.append(pikepdf.OutlineItem(mark.title, mark.page_index))
    pdf.Root.PageMode = Name.UseOutlines
    pdf.Root.Lang = String(meta.language)
    _add_output_intent(pdf)
    _add_metadata(pdf, meta, created)


def build_bundle(
    pages: Sequence[BundlePage],
    *,
    outline: Sequence[Bookmark],
    meta: ArchiveMetadata,
    created: datetime,
) -> bytes:
    """The PDF/A-2b bundle as bytes (deterministic for equal inputs and ``created``)."""
    buf = io.BytesIO()
    write_bundle(pages, buf, outline=outline, meta=meta, created=created)
    return buf.getvalue()
