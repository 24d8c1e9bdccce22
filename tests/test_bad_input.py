"""Bad input through ``sohoa process`` (the CLI, embedded flow, real Tesseract and signing).

One mixed dossier holds good pages and every kind of bad file; it is processed
once and each bad file is checked for its outcome: named in the report with an
error, left out of the bundle, kept untouched in quarantine, and the rest of
the dossier processed. Manifest problems are separate (cheap) runs.
See docs/reliability.md for the table of outcomes.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import subprocess
import sys
import unicodedata
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from flows.cli import main
from flows.cli.process import page_files
from lab.synth.render import PageSpec, render_page

ROOT = Path(__file__).resolve().parents[1]
LONG = "hồ sơ công dân rất dài " * 8  # 251 bytes of UTF-8 with ".jpg" (the limit is 255)


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path_factory.getbasetemp() / "state"
    monkeypatch.setenv("SOHOA_STATE_DIR", str(state))
    return state


def run_cli(*args: object) -> int:
    return main([str(a) for a in args])


def load_report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


# --- file makers ---------------------------------------------------------------------------
def page_png(doc_type: str, title: str, seed: int, dpi: int = 300) -> bytes:
    page = render_page(PageSpec(doc_type=doc_type, title=title, seed=seed, dpi=dpi,
                                fields=3, body_paragraphs=1))
    buf = io.BytesIO()
    Image.fromarray(page.image).convert("L").save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def blank_png(size: tuple[int, int] = (1240, 1754)) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, 250).save(buf, format="PNG", dpi=(150, 150))
    return buf.getvalue()


def image_pdf(png: bytes) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(png)).save(buf, format="PDF", resolution=300.0)
    return buf.getvalue()


def scripted_pdf(png: bytes) -> bytes:
    """A scan wrapped with JavaScript (open action + page action), a form and an attachment."""
    pdf = pikepdf.open(io.BytesIO(image_pdf(png)))
    js = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('pwned')"))
    pdf.Root.OpenAction = pdf.make_indirect(js)
    pdf.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(
        Names=pikepdf.Array([pikepdf.String("init"), pdf.make_indirect(js)])))
    field = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Tx,
        T=pikepdf.String("citizen"), V=pikepdf.String("typed in"), Rect=[50, 50, 250, 80],
        P=pdf.pages[0].obj, AA=pikepdf.Dictionary(K=pdf.make_indirect(js))))
    pdf.pages[0].obj.Annots = pikepdf.Array([field])
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
    pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ not really")
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def encrypted_pdf(png: bytes, user: str) -> bytes:
    pdf = pikepdf.open(io.BytesIO(image_pdf(png)))
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(owner="owner-secret", user=user))
    return buf.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A PNG header declaring width x height, with almost no data behind it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))


def pdf_big_page(inches: float = 200.0) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(inches * 72, inches * 72))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def pdf_drawing_huge_image(side: int = 30000) -> bytes:
    """A letter page drawing an image that declares side x side pixels."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    image = pikepdf.Stream(pdf, zlib.compress(b"\xff" * 4096), Type=pikepdf.Name.XObject,
                           Subtype=pikepdf.Name.Image, Width=side, Height=side,
                           ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                           Filter=pikepdf.Name.FlateDecode)
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.obj.Contents = pdf.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def huge_tiff(side: int = 20000) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (side, side), 1).save(buf, format="TIFF", compression="group4")
    return buf.getvalue()


def docx_bytes() -> bytes:
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def image_bytes(fmt: str) -> bytes:
    noise = np.random.default_rng(3).integers(0, 255, (600, 500), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format=fmt)
    return buf.getvalue()


# --- the mixed dossier ----------------------------------------------------------------------
FORM = "001 tờ khai.png"  # a space and Vietnamese letters
COPY = "002 bản sao.png"  # the same bytes again
LOW_DPI = "003-thấp.png"
SCRIPTED = "004-scripted.pdf"
OWNER_LOCKED = "005-owner-locked.pdf"
PNG_AS_TIF = "006-png-named.tif"
NFD_NAME = "007-giấy-tờ.png"  # stored decomposed (NFD) on disk
MISSING = "099-not-there.png"  # listed in the manifest only

# name -> (content maker, words the page error must contain)
BAD: dict[str, tuple[object, str]] = {
    "010-empty.png": (lambda: b"", "empty file"),
    "011-truncated.tif": (lambda: image_bytes("TIFF")[:20000], "truncated"),
    "012-truncated.jpg": (lambda: image_bytes("JPEG")[:3000], "truncated"),
    "013-truncated.png": (lambda: image_bytes("PNG")[:5000], "truncated"),
    "014-truncated.pdf": (lambda: image_pdf(blank_png())[:600], "cannot read the PDF"),
    "015-word.pdf": (docx_bytes, "not a TIFF, PNG, JPEG or PDF"),
    "016-password.pdf": (lambda: encrypted_pdf(blank_png(), user="citizen"), "password"),
    "017-bomb.png": (lambda: png_bomb(50000, 50000), "too large"),
    "018-bomb-page.pdf": (pdf_big_page, "too large"),
    "019-bomb-image.pdf": (pdf_drawing_huge_image, "too large"),
    "020-20000x20000.tif": (huge_tiff, "too large"),
    "021-1x1.png": (lambda: blank_png((1, 1)), "too small"),
    LONG.strip() + ".jpg": (lambda: image_bytes("JPEG")[:3000], "truncated"),
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("mixed") / "in"
    folder.mkdir()
    form = page_png("birth_reg_form", "TỜ KHAI ĐĂNG KÝ KHAI SINH", seed=11)
    files: dict[str, bytes] = {
        FORM: form,
        COPY: form,
        LOW_DPI: page_png("birth_certificate_medical", "GIẤY CHỨNG SINH", seed=12, dpi=120),
        SCRIPTED: scripted_pdf(page_png("citizen_id", "CĂN CƯỚC CÔNG DÂN", seed=13)),
        OWNER_LOCKED: encrypted_pdf(blank_png(), user=""),
        PNG_AS_TIF: blank_png(),
        unicodedata.normalize("NFD", NFD_NAME): blank_png(),
    }
    files.update({name: make() for name, (make, _) in BAD.items()})  # type: ignore[operator]
    for name, data in files.items():
        (folder / name).write_bytes(data)
    names = [FORM, COPY, LOW_DPI, SCRIPTED, OWNER_LOCKED, PNG_AS_TIF, NFD_NAME, *BAD, MISSING]
    (folder / "manifest.json").write_text(json.dumps({
        "dossier_id": "HN-CG-2026-000777", "procedure": "birth_registration",
        "branch": "cau-giay", "pages": names}, ensure_ascii=False), encoding="utf-8")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    out = folder.parent / "out"
    mp = pytest.MonkeyPatch()
    mp.setenv("SOHOA_STATE_DIR", str(tmp_path_factory.getbasetemp() / "state"))
    try:
        code = run_cli("process", folder, "--out", out)
    finally:
        mp.undo()
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert after == before, "the input folder was changed"
    return code, folder, out, files


def entries(report: dict, source: str) -> list[dict]:
    return [p for p in report["pages"] if p["source"] == source]


def quarantine_reason(out: Path) -> dict:
    """The one reason.json beside the quarantined inputs (docs/contracts.md §2's layout)."""
    return dict(json.loads((out / "quarantine" / "reason.json").read_text(encoding="utf-8")))


def test_mixed_dossier_is_processed_without_its_bad_parts(mixed) -> None:
    code, _, out, _ = mixed
    assert code == 0
    report = load_report(out)
    assert report["status"] == "needs_review"
    # nothing lost: every listed file has its entry, in manifest order
    listed = [FORM, COPY, LOW_DPI, SCRIPTED, OWNER_LOCKED, PNG_AS_TIF, NFD_NAME, *BAD, MISSING]
    assert list(dict.fromkeys(p["source"] for p in report["pages"])) == listed
    in_bundle = [p["source"] for p in report["pages"] if p["bundle_page"] is not None]
    assert in_bundle == [FORM, COPY, LOW_DPI, SCRIPTED]
    assert report["bundle"]["pages"] == 4
    assert run_cli("verify", out / "bundle.pdf") == 0
    # every unreadable page is named for review
    noted = {report["pages"][r["index"]]["source"] for r in report["review"] if r["kind"] == "page"}
    assert noted == {*BAD, MISSING}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_is_named_and_quarantined_untouched(mixed, name: str) -> None:
    _, folder, out, files = mixed
    report = load_report(out)
    (entry,) = entries(report, name)
    assert entry["bundle_page"] is None and entry["doc_type"] == "unknown"
    assert name in entry["error"] and BAD[name][1] in entry["error"]
    assert " at 0x" not in entry["error"]  # no library object reprs
    kept = out / "quarantine" / name
    assert kept.read_bytes() == files[name] == (folder / name).read_bytes()
    (reason,) = [f for f in quarantine_reason(out)["files"] if f["source"] == name]
    assert reason["reasons"][0]["error"] == entry["error"]


def test_page_missing_from_the_folder_is_named(mixed) -> None:
    _, _, out, _ = mixed
    (entry,) = entries(load_report(out), MISSING)
    assert entry["error"] == f"{MISSING}: listed in the manifest but not in the dossier"
    assert MISSING in [f["source"] for f in quarantine_reason(out)["files"]]
    assert not (out / "quarantine" / MISSING).exists()  # nothing to keep: never handed in


def test_same_page_twice_is_flagged_not_dropped(mixed) -> None:
    _, _, out, _ = mixed
    report = load_report(out)
    (first,), (second,) = entries(report, FORM), entries(report, COPY)
    assert first["duplicate_of"] is None and "duplicate" not in first["quality"]
    assert second["duplicate_of"] == f"{FORM}#1" and "duplicate" in second["quality"]
    assert first["bundle_page"] == 1 and second["bundle_page"] == 2


def test_low_resolution_scan_is_flagged_and_processed(mixed) -> None:
    _, _, out, _ = mixed
    (entry,) = entries(load_report(out), LOW_DPI)
    assert entry["error"] is None and entry["bundle_page"] == 3
    assert entry["dpi"] == pytest.approx(120) and "low_resolution" in entry["quality"]


def test_lying_extension_and_owner_locked_pdf_are_processed(mixed) -> None:
    _, _, out, _ = mixed
    report = load_report(out)
    for name in (PNG_AS_TIF, OWNER_LOCKED):  # content decides: a PNG named .tif is a PNG
        (entry,) = entries(report, name)
        assert entry["error"] is None and entry["blank"] is True
    assert not (out / "quarantine" / PNG_AS_TIF).exists()


def test_decomposed_file_name_is_reported_composed(mixed) -> None:
    _, folder, out, _ = mixed
    assert unicodedata.normalize("NFD", NFD_NAME) in {p.name for p in folder.iterdir()}
    (entry,) = entries(load_report(out), NFD_NAME)
    assert entry["source"] == unicodedata.normalize("NFC", NFD_NAME) and entry["error"] is None


def test_scripts_forms_and_attachments_never_reach_the_bundle(mixed) -> None:
    _, _, out, _ = mixed
    (entry,) = entries(load_report(out), SCRIPTED)
    assert entry["bundle_page"] == 4 and entry["doc_type"] == "citizen_id"  # rasterised, read
    with pikepdf.open(out / "bundle.pdf") as pdf:
        names = pdf.Root.get("/Names", pikepdf.Dictionary())
        assert "/JavaScript" not in names and "/EmbeddedFiles" not in names
        assert "/OpenAction" not in pdf.Root and "/AA" not in pdf.Root
        fields = list(pdf.Root.get("/AcroForm", pikepdf.Dictionary()).get("/Fields", []))
        assert fields and all(f.get("/FT") == "/Sig" for f in fields)  # only the signature
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                keys = set(obj.keys())
                assert not keys & {"/JS", "/JavaScript", "/EmbeddedFile", "/EF", "/AA"}
                assert obj.get("/S") not in ("/JavaScript", "/Launch")
    raw = (out / "bundle.pdf").read_bytes()
    assert b"pwned" not in raw and b"payload.exe" not in raw and b"typed in" not in raw


# --- bombs are refused before decoding ---------------------------------------------------
def test_bombs_are_refused_without_decoding(tmp_path: Path) -> None:
    """In a fresh interpreter: refusing each bomb leaves peak memory near the baseline."""
    makers = {"bomb.png": png_bomb(50000, 50000), "mid-bomb.png": png_bomb(12000, 12000),
              "page.pdf": pdf_big_page(), "image.pdf": pdf_drawing_huge_image(),
              "big.tif": huge_tiff()}
    for name, data in makers.items():
        (tmp_path / name).write_bytes(data)
    code = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from pipeline.errors import InputError\n"
        "from pipeline.imaging.ingest import load_page\n"
        "from pipeline.types import PageRef\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "for p in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    try:\n"
        "        load_page(PageRef(p.name), p.read_bytes())\n"
        "        print('LOADED', p.name)\n"
        "    except InputError as exc:\n"
        "        print('refused', exc)\n"
        "print('growth_mb', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, check=True)
    lines = proc.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[:-1]] == ["refused"] * len(makers), proc.stdout
    assert int(lines[-1].split()[1]) < 100, proc.stdout  # the 20000x20000 page alone is 400 MB


# --- manifests ------------------------------------------------------------------------------
def good_folder(tmp_path: Path, manifest: bytes) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "001.png").write_bytes(blank_png())
    (folder / "manifest.json").write_bytes(manifest)
    return folder


MANIFESTS = {
    "not-json": (b'{"dossier_id": "HN-1", "procedure": ', "not valid JSON"),
    "unknown-procedure": (json.dumps({"dossier_id": "HN-1", "procedure": "no_such_thing",
                                      "branch": "cau-giay"}).encode(), "no_such_thing"),
    "dotdot-page": (json.dumps({"dossier_id": "HN-1", "procedure": "birth_registration",
                                "branch": "cau-giay", "pages": ["../../etc/passwd"]}).encode(),
                    "pages"),
    "dotdot-id": (json.dumps({"dossier_id": "../HN-1", "procedure": "birth_registration",
                              "branch": "cau-giay"}).encode(), "dossier_id"),
    "not-an-object": (b"[1, 2, 3]", "JSON object"),
}


@pytest.mark.parametrize("case", list(MANIFESTS))
def test_unusable_manifest_rejects_the_dossier(tmp_path: Path, case: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data, why = MANIFESTS[case]
    folder = good_folder(tmp_path, data)
    out = tmp_path / "out"
    assert run_cli("process", folder, "--out", out) == 2
    report = load_report(out)
    assert report["status"] == "rejected" and why in report["reason"]
    assert report["dossier_id"] == "in" and report["bundle"] is None
    assert (out / "quarantine" / "manifest.json").read_bytes() == data
    reason = quarantine_reason(out)  # the whole dossier, the deployed system's layout
    assert reason["reason"] == report["reason"]
    assert "manifest.json" in [f["source"] for f in reason["files"]]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sohoa: rejected:") and why in err[0]
    assert not (out / "bundle.pdf").exists()


def test_every_page_bad_is_rejected_with_a_reason(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(docx_bytes())
    (folder / "b.png").write_bytes(b"")
    out = tmp_path / "out"
    assert run_cli("process", folder, "--procedure", "birth_registration", "--out", out) == 2
    report = load_report(out)
    assert report["status"] == "rejected" and "2 of 2 unreadable" in report["reason"]
    assert sorted(p.name for p in (out / "quarantine").iterdir()) == [
        "a.pdf", "b.png", "reason.json"]
    assert [f["source"] for f in quarantine_reason(out)["files"]] == ["a.pdf", "b.png"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sohoa: rejected: no usable page")


def test_file_order_and_names_without_manifest_are_nfc(tmp_path: Path) -> None:
    for name in ("b.png", unicodedata.normalize("NFD", "á.png"), "a b.png"):
        (tmp_path / name).write_bytes(b"x")
    names = [Path(p).name for p in page_files(tmp_path, None)]
    assert [unicodedata.normalize("NFC", n) for n in names] == ["a b.png", "b.png", "á.png"]


# --- memory: what the flow holds per page ---------------------------------------------------
def test_page_results_carry_references_not_pixels(tmp_path: Path) -> None:
    """The bound behind the 500-page figure (bench/bench_memory.py): a page task hands
    the flow small values and a path to the encoded page image, never pixels."""
    from flows.tasks import process_page_task
    from pipeline.fileio import file_sha256
    from pipeline.inventory import PageJob
    from pipeline.page import PageConfig, stage_fingerprint
    from pipeline.storage import LocalStorage

    src = tmp_path / "input" / "001.png"
    src.parent.mkdir()
    src.write_bytes(page_png("birth_reg_form", "TỜ KHAI ĐĂNG KÝ KHAI SINH", seed=14, dpi=150))
    job = PageJob(source=src.name, bucket="input", key=src.name, sha256=file_sha256(src), page=1)
    outcome = process_page_task.fn(
        job, config=PageConfig(), made_by=stage_fingerprint(PageConfig()),
        storage=LocalStorage(tmp_path), work_dir=tmp_path / "work")
    assert outcome.error is None and outcome.image is not None
    assert outcome.image.data == b""  # the bytes are in the work area only
    assert outcome.image_ref and Path(outcome.image_ref).stat().st_size > 10_000
    assert not any(isinstance(v, np.ndarray) for v in vars(outcome).values())
