"""Real PAdES signing and real offline validation of small PDF/A-like PDFs."""

from __future__ import annotations

import datetime as dt
import io
import re
import zlib
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers import SimpleSigner

from pipeline.errors import SigningError, VerificationError
from pipeline.sign import (
    SignMeta,
    ensure_dev_pki,
    load_signer,
    load_trust_roots,
    sign_file,
    sign_pdf,
    verify_signatures,
)

ORG = "Trung tâm Phục vụ hành chính công quận Cầu Giấy"
VN = dt.timedelta(hours=7)


# --- fixtures -------------------------------------------------------------------
def make_pdf(pages: int = 2) -> bytes:
    """A small PDF/A-2b-looking file: text + an image per page, XMP with pdfaid."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    pixels = bytes((x * 7 + y * 3) % 256 for y in range(32) for x in range(32))
    image = pdf.make_stream(zlib.compress(pixels))
    image.Type = pikepdf.Name.XObject
    image.Subtype = pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = 32, 32, 8
    image.ColorSpace = pikepdf.Name.DeviceGray
    image.Filter = pikepdf.Name.FlateDecode
    for i in range(pages):
        page = pdf.add_blank_page(page_size=(595, 842))
        page.Resources = pikepdf.Dictionary(
            Font=pikepdf.Dictionary(F1=font), XObject=pikepdf.Dictionary(Im1=image)
        )
        page.Contents = pdf.make_stream(
            b"BT /F1 24 Tf 72 760 Td (Hello page %d) Tj ET q 200 0 0 200 72 400 cm /Im1 Do Q"
            % (i + 1)
        )
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
        meta["dc:title"] = "Hồ sơ HN-CG-2026-000123"
    pdf.docinfo["/Title"] = "Hồ sơ HN-CG-2026-000123"
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, deterministic_id=True)
    return out.getvalue()


@pytest.fixture(scope="module")
def dev(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[SimpleSigner, list[asn1_x509.Certificate]]:
    pki = ensure_dev_pki(tmp_path_factory.mktemp("state"), organisation=ORG)
    return load_signer(pki.signer_p12, pki.passphrase()), load_trust_roots([pki.ca_cert])


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return make_pdf()


@pytest.fixture(scope="module")
def signed(unsigned: bytes, dev: tuple[SimpleSigner, list]) -> bytes:
    return sign_pdf(unsigned, signer=dev[0], meta=SignMeta(organisation=ORG, location="Hà Nội"))


def _sig_dict(pdf: pikepdf.Pdf) -> pikepdf.Object:
    fields = pdf.Root.AcroForm.Fields
    assert len(fields) == 1
    return fields[0]


# --- signing -----------------------------------------------------------------------
def test_sign_then_verify_ok(signed: bytes, unsigned: bytes, dev: tuple) -> None:
    report = verify_signatures(signed, trust_roots=dev[1])
    assert report.ok, report.problems
    assert report.signed and report.intact and report.valid and report.trusted
    assert report.covers_whole_file and report.modification_level == "NONE"
    assert report.signer == ORG
    assert report.signing_time is not None and report.signing_time.utcoffset() == VN
    assert abs(dt.datetime.now(dt.UTC) - report.signing_time) < dt.timedelta(minutes=10)
    assert report.problems == () and report.signature_count == 1
    assert signed.startswith(unsigned) and len(signed) > len(unsigned)


def test_signature_dictionary_and_widget_are_pdfa_friendly(signed: bytes) -> None:
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        field = _sig_dict(pdf)
        assert str(field.FT) == "/Sig" and str(field.T) == "SohoaSignature"
        assert int(field.F) & 4  # Print
        assert not int(field.F) & (1 | 2 | 32)  # not Invisible / Hidden / NoView
        assert [float(v) for v in field.Rect] == [0, 0, 0, 0]
        assert "/NeedAppearances" not in pdf.Root.AcroForm
        sig = field.V
        assert sig.SubFilter == pikepdf.Name("/ETSI.CAdES.detached")
        assert str(sig.Name) == ORG
        assert str(sig.Reason) == "Số hóa hồ sơ"
        assert str(sig.Location) == "Hà Nội"
        assert str(sig.M).endswith("+07'00'")
        assert field in [a for a in pdf.pages[0].Annots]
        assert str(pdf.Root.get("/Version", "/1.7")) != "/2.0"
        assert len(pdf.pages) == 2


def test_signing_leaves_info_and_xmp_untouched(signed: bytes, unsigned: bytes) -> None:
    with pikepdf.open(io.BytesIO(unsigned)) as before, pikepdf.open(io.BytesIO(signed)) as after:
        assert after.Root.Metadata.read_bytes() == before.Root.Metadata.read_bytes()
        assert dict(after.docinfo.items()) == dict(before.docinfo.items())
        meta = after.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"


def test_explicit_signing_time_is_written_in_vietnam_time(unsigned: bytes, dev: tuple) -> None:
    when = dt.datetime(2026, 11, 20, 2, 15, 30, tzinfo=dt.UTC)  # 09:15:30 in Hanoi
    out = sign_pdf(unsigned, signer=dev[0], meta=SignMeta(organisation=ORG, signing_time=when))
    with pikepdf.open(io.BytesIO(out)) as pdf:
        assert str(_sig_dict(pdf).V.M) == "D:20261120091530+07'00'"
    report = verify_signatures(out, trust_roots=dev[1])
    assert report.ok
    assert report.signing_time == when
    assert report.signing_time is not None
    assert report.signing_time.isoformat() == "2026-11-20T09:15:30+07:00"


def test_signing_a_file_appends_the_same_signature_as_signing_bytes(unsigned: bytes, dev: tuple,
                                                          tmp_path: Path) -> None:
    when = dt.datetime(2026, 11, 20, 2, 15, 30, tzinfo=dt.UTC)
    meta = SignMeta(organisation=ORG, signing_time=when)
    source, target = tmp_path / "bundle.pdf", tmp_path / "signed.pdf"
    source.write_bytes(unsigned)
    sign_file(source, target, signer=dev[0], meta=meta)
    signed = target.read_bytes()
    # the same revision as sign_pdf's, but for the random half of the new /ID
    assert signed.startswith(unsigned)
    assert len(signed) == len(sign_pdf(unsigned, signer=dev[0], meta=meta))
    report = verify_signatures(signed, trust_roots=dev[1])
    assert report.ok and report.signing_time == when


def test_naive_signing_time_is_rejected() -> None:
    with pytest.raises(ValidationError):
        SignMeta(organisation=ORG, signing_time=dt.datetime(2026, 1, 1, 9, 0))  # noqa: DTZ001
    with pytest.raises(ValidationError):
        SignMeta(organisation="")


def test_sign_garbage_is_signing_error(dev: tuple) -> None:
    with pytest.raises(SigningError):
        sign_pdf(
            b"%PDF-1.7\nthis is not really a pdf", signer=dev[0], meta=SignMeta(organisation=ORG)
        )


def test_second_signature_in_another_field_keeps_both_valid(signed: bytes, dev: tuple) -> None:
    twice = sign_pdf(
        signed, signer=dev[0], meta=SignMeta(organisation=ORG, field_name="Countersignature")
    )
    report = verify_signatures(twice, trust_roots=dev[1])
    assert report.signature_count == 2
    assert report.ok, report.problems
    assert report.modification_level == "FORM_FILLING"
    with pytest.raises(SigningError):  # the same field cannot be signed twice
        sign_pdf(signed, signer=dev[0], meta=SignMeta(organisation=ORG))


# --- tampering -----------------------------------------------------------------------
def _flip(data: bytes, pos: int, new: bytes) -> bytes:
    assert data[pos : pos + 1] != new
    return data[:pos] + new + data[pos + 1 :]


def test_flipped_byte_in_page_content_is_not_intact(signed: bytes, dev: tuple) -> None:
    pos = signed.index(b"Hello page 1")
    report = verify_signatures(_flip(signed, pos, b"J"), trust_roots=dev[1])
    assert report.signed and not report.intact and not report.valid and not report.ok
    assert any("altered" in p for p in report.problems)


def test_flipped_byte_in_xmp_is_not_intact(signed: bytes, dev: tuple) -> None:
    pos = signed.index(b"pdfaid:part")
    report = verify_signatures(_flip(signed, pos, b"q"), trust_roots=dev[1])
    assert not report.intact and not report.ok


def _contents_start(signed: bytes) -> int:
    """Offset of the first hex digit of /Contents, from the (only) /ByteRange."""
    match = re.search(rb"/ByteRange \[\s*0 (\d+) (\d+) (\d+)\s*\]", signed)
    assert match is not None
    gap_start = int(match.group(1))
    assert signed[gap_start : gap_start + 1] == b"<"
    return gap_start + 1


def test_flipped_byte_in_signature_value_is_invalid(signed: bytes, dev: tuple) -> None:
    start = _contents_start(signed)
    assert signed[start : start + 4] == b"3082"
    der_len = 4 + int(signed[start + 4 : start + 8], 16)
    pos = start + 2 * der_len - 6  # inside the signature value, before the zero padding
    new = b"0" if signed[pos : pos + 1] != b"0" else b"1"
    report = verify_signatures(_flip(signed, pos, new), trust_roots=dev[1])
    assert report.signed and report.intact and not report.valid and not report.ok
    assert any("signature value is invalid" in p for p in report.problems)


def test_garbage_inside_signature_container_is_reported(signed: bytes, dev: tuple) -> None:
    start = _contents_start(signed)
    report = verify_signatures(_flip(signed, start + 1, b"F"), trust_roots=dev[1])
    assert report.signed and not report.ok and not report.valid and not report.intact
    assert any("damaged" in p for p in report.problems)


def _append_update(signed: bytes, *, add_page: bool) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    content = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (Forged) Tj ET")
    )
    if add_page:
        page = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                generic.pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(v) for v in (0, 0, 595, 842)]
                ),
                generic.pdf_name("/Resources"): generic.DictionaryObject(),
                generic.pdf_name("/Contents"): content,
            }
        )
        writer.insert_page(page)
    else:
        page_ref, _res = writer.find_page_for_modification(1)
        page_obj = page_ref.get_object()
        page_obj["/Contents"] = content
        writer.update_container(page_obj)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("add_page", [True, False], ids=["page-added", "content-replaced"])
def test_incremental_change_after_signing_is_detected(
    signed: bytes, dev: tuple, add_page: bool
) -> None:
    tampered = _append_update(signed, add_page=add_page)
    assert tampered.startswith(signed)
    with pikepdf.open(io.BytesIO(tampered)) as pdf:
        assert len(pdf.pages) == (3 if add_page else 2)
    report = verify_signatures(tampered, trust_roots=dev[1])
    assert report.signed and report.intact  # the signed revision itself is untouched
    assert not report.covers_whole_file
    assert report.modification_level == "OTHER"
    assert not report.ok
    assert any("modified after signing" in p for p in report.problems)


def test_untrusted_root_is_not_trusted(signed: bytes, tmp_path: Path) -> None:
    other = ensure_dev_pki(tmp_path, organisation=ORG)
    report = verify_signatures(signed, trust_roots=load_trust_roots([other.ca_cert]))
    assert report.intact and not report.trusted and not report.valid and not report.ok
    assert any("trusted root" in p for p in report.problems)
    report = verify_signatures(signed, trust_roots=[])
    assert not report.trusted and not report.ok


def test_unsigned_pdf_reports_not_signed(unsigned: bytes, dev: tuple) -> None:
    report = verify_signatures(unsigned, trust_roots=dev[1])
    assert not report.signed and not report.ok and report.signature_count == 0
    assert report.problems


def test_garbage_is_verification_error(dev: tuple) -> None:
    with pytest.raises(VerificationError):
        verify_signatures(b"\x00garbage, not a PDF at all" * 10, trust_roots=dev[1])


# --- a "production" PKCS#12: EC P-256 key under an intermediate CA -------------------------
def _cert(
    subject: str, issuer_key: object, issuer: x509.Name | None, key: object, *, ca: bool
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject),
            x509.NameAttribute(NameOID.COMMON_NAME, subject),
        ]
    )
    ku = x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(ku, critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]


def test_production_pkcs12_with_intermediate_signs(unsigned: bytes, tmp_path: Path) -> None:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("Ban Cơ yếu (test root)", root_key, None, root_key, ca=True)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = _cert("CA trung gian (test)", root_key, root.subject, inter_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(ORG, inter_key, inter.subject, leaf_key, ca=False)
    passphrase = b"production-secret"
    p12 = tmp_path / "agency.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"agency",
            leaf_key,
            leaf,
            [inter],
            serialization.BestAvailableEncryption(passphrase),
        )
    )
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))

    signer = load_signer(p12, passphrase)
    out = sign_pdf(unsigned, signer=signer, meta=SignMeta(organisation=ORG))
    assert out.startswith(unsigned)
    with pikepdf.open(io.BytesIO(out)) as pdf:  # ECDSA must not turn the file into PDF 2.0
        assert str(pdf.Root.get("/Version", "/1.7")) == "/1.7"
        assert "/ISO_" not in pdf.Root.get("/Extensions", pikepdf.Dictionary())
    report = verify_signatures(out, trust_roots=load_trust_roots([root_pem]))
    assert report.ok, report.problems
    assert report.signer == ORG
    assert not verify_signatures(out, trust_roots=[]).trusted
