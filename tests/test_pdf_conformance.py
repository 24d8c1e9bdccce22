"""check_pdfa: a good bundle passes; each kind of defect fails its own check."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name

from pipeline.pdf import (
    ArchiveMetadata,
    Bookmark,
    BundlePage,
    PdfaReport,
    build_bundle,
    check_pdfa,
    encode_page_image,
)
from pipeline.pdf.conformance import parse_pdf_date
from pipeline.types import Word


@pytest.fixture(scope="module")
def bundle() -> bytes:
    page = np.full((2339, 1654), 252, np.uint8)
    page[300:340, 200:900] = 20
    enc = encode_page_image(page, dpi=200)
    words = (Word("Giấy", 200, 300, 300, 40, 96.0), Word("tờ", 520, 300, 100, 40, 96.0))
    meta = ArchiveMetadata(dossier_code="D-1", title="Hồ sơ thử", retention_period="20 năm",
                           access_level="Công khai", document_count=1, sheet_count=1,
                           page_count=2)
    pages = [BundlePage(enc, words, 1654, 2339)] * 2
    return build_bundle(pages, outline=[Bookmark("Giấy tờ", 0)], meta=meta,
                        created=datetime(2026, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=7))))


def _edit(data: bytes, change: object, **save: object) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        change(pdf)  # type: ignore[operator]
        out = io.BytesIO()
        pdf.save(out, **save)  # type: ignore[arg-type]
    return out.getvalue()


def _failed(report: PdfaReport) -> set[str]:
    return {c.name for c in report.checks if not c.ok}


def test_good_bundle_passes(bundle: bytes) -> None:
    report = check_pdfa(bundle)
    assert report.ok and not report.failed()


def test_plain_pdf_without_xmp_fails_identification() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    report = check_pdfa(out.getvalue())
    assert not report.ok
    assert {"pdfa_identification", "output_intent", "archive_metadata"} <= _failed(report)


def test_wrong_pdfa_part_fails(bundle: bytes) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        xmp = pdf.Root.Metadata.read_bytes().replace(b"<pdfaid:part>2<", b"<pdfaid:part>1<")
        pdf.Root.Metadata.write(xmp)

    assert _failed(check_pdfa(_edit(bundle, change))) == {"pdfa_identification"}


def test_non_embedded_font_fails(bundle: bytes) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        helv = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
        pdf.pages[1].Resources.Font.F1 = pdf.make_indirect(helv)

    report = check_pdfa(_edit(bundle, change))
    assert _failed(report) == {"fonts_embedded"}
    assert "Helvetica" in report.failed()[0].detail


def test_font_in_form_xobject_is_checked(bundle: bytes) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        helv = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Courier)
        form = pikepdf.Stream(pdf, b"")
        form.Type, form.Subtype, form.BBox = Name.XObject, Name.Form, Array([0, 0, 1, 1])
        form.Resources = Dictionary(Font=Dictionary(F9=helv))
        pdf.pages[0].Resources.XObject.Fm0 = pdf.make_indirect(form)

    assert _failed(check_pdfa(_edit(bundle, change))) == {"fonts_embedded"}


def test_encrypted_fails(bundle: bytes) -> None:
    open_enc = _edit(bundle, lambda pdf: None,
                     encryption=pikepdf.Encryption(owner="owner", user="", aes=True))
    assert "no_encryption" in _failed(check_pdfa(open_enc))
    locked = _edit(bundle, lambda pdf: None,
                   encryption=pikepdf.Encryption(owner="owner", user="user"))
    report = check_pdfa(locked)
    assert not report.ok and "no_encryption" in _failed(report)


def test_javascript_fails(bundle: bytes) -> None:
    def open_action(pdf: pikepdf.Pdf) -> None:
        pdf.Root.OpenAction = Dictionary(S=Name.JavaScript, JS=pikepdf.String("app.alert(1)"))

    def names_tree(pdf: pikepdf.Pdf) -> None:
        pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([])))

    assert _failed(check_pdfa(_edit(bundle, open_action))) == {"no_javascript"}
    assert _failed(check_pdfa(_edit(bundle, names_tree))) == {"no_javascript"}


def test_transparency_fails(bundle: bytes) -> None:
    def ca(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].Resources.ExtGState = Dictionary(GS0=Dictionary(ca=0.5))

    def group(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].Group = Dictionary(S=Name.Transparency, CS=Name.DeviceRGB)

    def smask(pdf: pikepdf.Pdf) -> None:
        mask = pikepdf.Stream(pdf, b"\x00")
        mask.Width, mask.Height, mask.BitsPerComponent = 1, 1, 8
        mask.ColorSpace = Name.DeviceGray
        pdf.pages[0].Resources.XObject.Im0.SMask = pdf.make_indirect(mask)

    for change in (ca, group, smask):
        assert _failed(check_pdfa(_edit(bundle, change))) == {"no_transparency"}


def test_lzw_fails(bundle: bytes) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        stream = pikepdf.Stream(pdf, b"")
        stream.write(b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01", filter=Name.LZWDecode)
        pdf.Root.Extra = pdf.make_indirect(stream)

    kept = _edit(bundle, change, compress_streams=False,
                 stream_decode_level=pikepdf.StreamDecodeLevel.none)
    assert _failed(check_pdfa(kept)) == {"no_lzw"}


def test_info_xmp_mismatch_fails(bundle: bytes) -> None:
    def title(pdf: pikepdf.Pdf) -> None:
        pdf.docinfo.Title = pikepdf.String("Tiêu đề khác")

    def date(pdf: pikepdf.Pdf) -> None:
        pdf.docinfo.CreationDate = pikepdf.String("D:20260506070809Z")

    assert _failed(check_pdfa(_edit(bundle, title))) == {"metadata_consistency"}
    assert _failed(check_pdfa(_edit(bundle, date))) == {"metadata_consistency"}


def test_missing_archive_field_and_page_count(bundle: bytes) -> None:
    def drop(pdf: pikepdf.Pdf) -> None:
        xmp = pdf.Root.Metadata.read_bytes()
        start = xmp.index(b"<sohoa:retentionPeriod>")
        end = xmp.index(b"</sohoa:retentionPeriod>") + len(b"</sohoa:retentionPeriod>")
        pdf.Root.Metadata.write(xmp[:start] + xmp[end:])

    report = check_pdfa(_edit(bundle, drop))
    assert _failed(report) == {"archive_metadata"}
    assert "retentionPeriod" in report.failed()[0].detail
    fewer = check_pdfa(_edit(bundle, lambda pdf: pdf.pages.remove(pdf.pages[1])))
    assert _failed(fewer) == {"archive_metadata"}


def test_reads_final_revision_of_incremental_update(bundle: bytes) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(bundle))
    del writer.root["/OutputIntents"]
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(bundle)
    assert _failed(check_pdfa(updated)) == {"output_intent"}


def test_broken_xmp_reported(bundle: bytes) -> None:
    broken = _edit(bundle, lambda pdf: pdf.Root.Metadata.write(b"<x:xmpmeta"),
                   fix_metadata_version=False)
    report = check_pdfa(broken)
    assert {"xmp_syntax", "pdfa_identification", "archive_metadata"} <= _failed(report)


def test_garbage_is_reported_not_raised() -> None:
    report = check_pdfa(b"this is not a pdf")
    assert not report.ok and "readable" in _failed(report)


def test_pdf_dates() -> None:
    tz7 = timezone(timedelta(hours=7))
    assert parse_pdf_date("D:20261120091500+07'00'") == datetime(2026, 11, 20, 9, 15, tzinfo=tz7)
    assert parse_pdf_date("D:20261120021500Z") == datetime(2026, 11, 20, 2, 15,
                                                           tzinfo=UTC)
    assert parse_pdf_date("garbage") is None
