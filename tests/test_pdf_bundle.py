"""A 3-page bundle from rendered Vietnamese pages OCR'd by real Tesseract,
checked with poppler, qpdf (pikepdf), Ghostscript, pyHanko and check_pdfa."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.errors import PdfError
from pipeline.pdf import (
    ArchiveMetadata,
    Bookmark,
    BundlePage,
    build_bundle,
    check_pdfa,
    encode_page_image,
)
from pipeline.pdf.bundle import PRODUCER
from pipeline.pdf.xmp import build_xmp
from pipeline.types import Word

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
VN = timezone(timedelta(hours=7))
CREATED = datetime(2026, 11, 20, 9, 15, tzinfo=VN)
PAGES = [
    ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
     "TỜ KHAI ĐĂNG KÝ KHAI SINH", "Kính gửi: Ủy ban nhân dân phường Cầu Giấy",
     "Họ, chữ đệm, tên người yêu cầu: Nguyễn Văn Hùng", "Nơi cư trú: số 12 phố Trần Duy Hưng"],
    ["GIẤY CHỨNG SINH", "Họ và tên mẹ: Trần Thị Thu Hằng", "Năm sinh: 1995, dân tộc Kinh",
     "Đã sinh con vào lúc 8 giờ 30 phút ngày 12 tháng 3 năm 2026",
     "Tại: Bệnh viện Phụ sản Hà Nội", "Giới tính của con: Nữ, cân nặng 3200 gam"],
    ["VĂN BẢN ỦY QUYỀN", "Tôi là Nguyễn Văn Hùng, cha của cháu bé",
     "Ủy quyền cho bà Lê Thị Mai thực hiện việc đăng ký khai sinh",
     "Người được ủy quyền có trách nhiệm nộp đủ giấy tờ",
     "Hà Nội, ngày 15 tháng 3 năm 2026", "Người ủy quyền ký và ghi rõ họ tên"],
]
OUTLINE = [Bookmark("Tờ khai đăng ký khai sinh", 0), Bookmark("Giấy chứng sinh", 1),
           Bookmark("Văn bản ủy quyền", 2)]


def render_page(lines: list[str], *, seal: bool) -> np.ndarray:
    """An A4 page at 300 dpi with DejaVu Sans text, light noise and maybe a red seal."""
    img = Image.new("RGB", (2480, 3508), (250, 250, 248))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 46)
    for i, line in enumerate(lines):
        draw.text((240, 260 + i * 110), line, font=font, fill=(25, 25, 25))
    if seal:
        draw.ellipse((1600, 2700, 2200, 3300), outline=(205, 30, 30), width=12)
        draw.text((1690, 2980), "ỦY BAN NHÂN DÂN", font=font, fill=(205, 30, 30))
    arr = np.asarray(img).astype(np.int16)
    noise = np.random.default_rng(len(lines[0])).normal(0, 3, arr.shape).astype(np.int16)
    return np.clip(arr + noise, 0, 255).astype(np.uint8)


def tesseract_words(image: np.ndarray) -> tuple[Word, ...]:
    """Real Tesseract (vie, psm 3) TSV, level-5 rows -> Word."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.png"
        Image.fromarray(image).save(path)
        out = subprocess.run(["tesseract", str(path), "-", "-l", "vie", "--psm", "3", "tsv"],
                             capture_output=True, env=env, timeout=120, check=True)
    rows = csv.DictReader(io.StringIO(out.stdout.decode("utf-8")), delimiter="\t",
                          quoting=csv.QUOTE_NONE)
    words = []
    for row in rows:
        if row["level"] != "5" or not (row.get("text") or "").strip():
            continue
        words.append(Word(unicodedata.normalize("NFC", row["text"]), int(row["left"]),
                          int(row["top"]), int(row["width"]), int(row["height"]),
                          float(row["conf"]), int(row["block_num"]), int(row["par_num"]),
                          int(row["line_num"])))
    return tuple(words)


def meta(pages: int = 3) -> ArchiveMetadata:
    return ArchiveMetadata(
        dossier_code="HN-CG-2026-000123", title="Hồ sơ đăng ký khai sinh",
        retention_period="Vĩnh viễn", access_level="Hạn chế", start_date=date(2026, 3, 12),
        end_date=date(2026, 3, 15), keywords=("khai sinh", "hộ tịch"), document_count=3,
        sheet_count=3, page_count=pages, physical_condition="Bình thường",
        procedure_id="birth_registration", procedure_code="1.001193", branch="cau-giay",
    )


@dataclass(frozen=True)
class Built:
    pdf: bytes
    pages: tuple[BundlePage, ...]
    path: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    images = [render_page(lines, seal=i == 0) for i, lines in enumerate(PAGES)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        ocr = list(pool.map(tesseract_words, images))
    pages = tuple(BundlePage(encode_page_image(img, dpi=300), words, 2480, 3508)
                  for img, words in zip(images, ocr, strict=True))
    pdf = build_bundle(pages, outline=OUTLINE, meta=meta(), created=CREATED)
    path = tmp_path_factory.mktemp("bundle") / "bundle.pdf"
    path.write_bytes(pdf)
    yield Built(pdf, pages, path)


def run(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, capture_output=True, timeout=120, check=False)


def test_ocr_fixture_found_the_text(built: Built) -> None:
    # guards the other tests: Tesseract read (nearly) all rendered words
    for page, lines in zip(built.pages, PAGES, strict=True):
        rendered = {unicodedata.normalize("NFC", t) for line in lines for t in line.split()}
        seen = {w.text for w in page.words}
        assert len(rendered & seen) >= 0.85 * len(rendered)


def test_pdftotext_returns_ocr_words_in_order(built: Built) -> None:
    for layout in ([], ["-layout"]):
        for index, page in enumerate(built.pages, start=1):
            out = run(["pdftotext", "-enc", "UTF-8", *layout, "-f", str(index), "-l",
                       str(index), str(built.path), "-"])
            assert out.returncode == 0
            text = unicodedata.normalize("NFC", out.stdout.decode("utf-8"))
            assert text.split() == [w.text for w in page.words]
    plain = run(["pdftotext", "-enc", "UTF-8", str(built.path), "-"]).stdout.decode("utf-8")
    lines = [" ".join(x.split()) for x in plain.splitlines()]
    assert "Độc lập - Tự do - Hạnh phúc" in lines
    assert lines.index("Độc lập - Tự do - Hạnh phúc") > lines.index(
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")


def test_pdfinfo_three_a4_pages(built: Built) -> None:
    info = run(["pdfinfo", str(built.path)]).stdout.decode("utf-8")
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    assert fields["Pages"].strip() == "3"
    assert "(A4)" in fields["Page size"]
    assert fields["PDF version"].strip() == "1.7"
    assert fields["Title"].strip() == "Hồ sơ đăng ký khai sinh"


def test_outline_titles_in_vietnamese(built: Built) -> None:
    with pikepdf.open(io.BytesIO(built.pdf)) as pdf, pdf.open_outline() as outline:
        titles = [item.title for item in outline.root]
        dests = [item.obj.get("/Dest") for item in outline.root if item.obj is not None]
        targets = [pikepdf.Page(d[0]).index for d in dests if isinstance(d, pikepdf.Array)]
        mode = pdf.Root.PageMode
    assert titles == [b.title for b in OUTLINE]
    assert targets == [0, 1, 2]
    assert mode == "/UseOutlines"


def test_check_pdfa_ok(built: Built) -> None:
    report = check_pdfa(built.pdf)
    assert report.ok, report.failed()
    assert {c.name for c in report.checks} >= {
        "pdfa_identification", "output_intent", "fonts_embedded", "archive_metadata",
        "metadata_consistency", "no_encryption", "no_javascript", "no_transparency"}


def test_page_images_small_and_dpi_kept(built: Built) -> None:
    with pikepdf.open(io.BytesIO(built.pdf)) as pdf:
        for page, src in zip(pdf.pages, built.pages, strict=True):
            image = page.Resources.XObject.Im0
            raw = image.read_raw_bytes()
            assert len(raw) < 250_000
            assert raw == src.image.data and image.Filter == "/DCTDecode"
            assert "/SMask" not in image
        spaces = [p.Resources.XObject.Im0.ColorSpace for p in pdf.pages]
    assert spaces == ["/DeviceRGB", "/DeviceGray", "/DeviceGray"]  # the seal page


def test_pdffonts_embedded(built: Built) -> None:
    rows = run(["pdffonts", str(built.path)]).stdout.decode().splitlines()[2:]
    assert rows and all(r.split()[-5] == "yes" for r in rows)  # emb column


def test_structure_and_header(built: Built) -> None:
    with pikepdf.open(io.BytesIO(built.pdf)) as pdf:
        assert pdf.check_pdf_syntax() == []
        assert not pdf.is_linearized
        assert len(pdf.trailer.ID) == 2
        assert "/Encrypt" not in pdf.trailer
    header = built.pdf.split(b"\n", 2)
    assert header[0] == b"%PDF-1.7" and all(b > 127 for b in header[1][1:5])


def test_ghostscript_renders(built: Built) -> None:
    out = run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-o", "/dev/null", "-sDEVICE=nullpage",
               str(built.path)])
    assert out.returncode == 0
    assert b"rror" not in out.stdout + out.stderr  # "Error"/"error" in gs repair notes


def test_xmp_metadata(built: Built) -> None:
    with pikepdf.open(io.BytesIO(built.pdf)) as pdf:
        meta_ = pdf.open_metadata()
        assert meta_["pdfaid:part"] == "2" and meta_["pdfaid:conformance"] == "B"
        assert meta_["dc:title"] == "Hồ sơ đăng ký khai sinh"
        assert meta_["xmp:CreateDate"] == "2026-11-20T09:15:00+07:00"
        xmp = pdf.Root.Metadata.read_bytes().decode("utf-8")
        assert "/Filter" not in pdf.Root.Metadata
    expected = build_xmp(meta(), created=CREATED, producer=PRODUCER, creator="cau-giay")
    assert xmp.encode("utf-8") == expected  # written byte for byte
    assert "<sohoa:retentionPeriod>Vĩnh viễn</sohoa:retentionPeriod>" in xmp
    assert "<sohoa:startDate>2026-03-12</sohoa:startDate>" in xmp
    assert "<pdfaSchema:prefix>sohoa</pdfaSchema:prefix>" in xmp


def test_output_intent_profile(built: Built) -> None:
    from PIL import ImageCms

    with pikepdf.open(io.BytesIO(built.pdf)) as pdf:
        intent = pdf.Root.OutputIntents[0]
        icc = intent.DestOutputProfile.read_bytes()
        assert intent.S == "/GTS_PDFA1" and intent.DestOutputProfile.N == 3
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
    assert profile.xcolor_space.strip() == "RGB" and icc[12:16] == b"mntr"
    assert icc[8] == 4 and icc[24:36] == bytes.fromhex("07e8 0001 0001 0000 0000 0000")


def test_deterministic(built: Built) -> None:
    again = build_bundle(built.pages, outline=OUTLINE, meta=meta(), created=CREATED)
    assert again == built.pdf
    later = build_bundle(built.pages, outline=OUTLINE, meta=meta(),
                         created=CREATED + timedelta(seconds=1))
    assert later != built.pdf


def test_still_pdfa_after_pyhanko_signature(built: Built) -> None:
    signed = _sign(built.pdf)
    assert signed.startswith(built.pdf)  # incremental update
    report = check_pdfa(signed)
    assert report.ok, report.failed()


def test_invalid_inputs_rejected(built: Built) -> None:
    with pytest.raises(PdfError):
        build_bundle(built.pages, outline=OUTLINE, meta=meta(pages=4), created=CREATED)
    with pytest.raises(PdfError):
        build_bundle(built.pages, outline=[Bookmark("x", 3)], meta=meta(), created=CREATED)
    with pytest.raises(PdfError):
        build_bundle(built.pages, outline=[], meta=meta(), created=datetime(2026, 1, 1))
    with pytest.raises(PdfError):
        build_bundle([], outline=[], meta=meta(), created=CREATED)


def test_a_long_bundle_is_written_from_pages_read_one_stage_at_a_time(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write_bundle takes a generator and never holds more than a stage of page images:
    a stage is written to disk before the pages of the next one are asked for."""
    from pipeline.pdf import bundle

    count = 2 * bundle.PAGES_PER_STAGE + 5
    asked: list[int] = []
    seen_at_stage: list[int] = []

    def pages() -> Iterator[BundlePage]:
        for i in range(count):
            asked.append(i)
            yield built.pages[i % 3]

    real_stage = bundle._write_stage

    def stage(staged: list[BundlePage], path: Path) -> Path:
        seen_at_stage.append(len(asked))
        return real_stage(staged, path)

    monkeypatch.setattr(bundle, "_write_stage", stage)
    out = tmp_path / "long.pdf"
    marks = [Bookmark("Đầu", 0), Bookmark("Cuối", count - 1)]
    bundle.write_bundle(pages(), out, outline=marks, meta=meta(pages=count), created=CREATED,
                        scratch=tmp_path)
    n = bundle.PAGES_PER_STAGE
    assert seen_at_stage == [n, 2 * n, count]  # never a page of the next stage early
    assert list(tmp_path.iterdir()) == [out]  # the staging files are gone
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == count
        for i, page in enumerate(pdf.pages):
            image = page.Resources.XObject.Im0
            assert image.read_raw_bytes() == built.pages[i % 3].image.data
        assert [item.title for item in pdf.open_outline().root] == ["Đầu", "Cuối"]
    text = run(["pdftotext", "-f", str(count), "-l", str(count), str(out), "-"]).stdout
    assert PAGES[(count - 1) % 3][0].split()[0] in text.decode()
    report = check_pdfa(out.read_bytes())
    assert report.ok, report.failed()


def _sign(pdf: bytes) -> bytes:
    from asn1crypto import keys, x509
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "UBND phường Cầu Giấy")])
    now = datetime.now(UTC)
    cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    acert = x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    akey = keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    signer = signers.SimpleSigner(signing_cert=acert, signing_key=akey,
                                  cert_registry=SimpleCertificateStore.from_certs([acert]))
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)),
                           signers.PdfSignatureMetadata(field_name="Sig1"), signer=signer)
    return out.getvalue()
