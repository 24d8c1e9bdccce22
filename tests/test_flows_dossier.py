"""End to end through the CLI: the real Prefect flow, Tesseract, PDF/A bundle, signature."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flows import dossier
from flows.cli import main
from lab.synth.degrade import DegradeSpec
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path_factory.getbasetemp() / "state"
    monkeypatch.setenv("SOHOA_STATE_DIR", str(state))
    return state


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def load_report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def complete(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("complete")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOHOA_STATE_DIR", str(tmp_path_factory.getbasetemp() / "state"))
    try:
        code = run_cli("process", SAMPLES / "birth-complete", "--out", out)
    finally:
        mp.undo()
    return code, out


def test_complete_sample_report(complete: tuple[int, Path]) -> None:
    code, out = complete
    assert code == 0
    report = load_report(out)
    assert report["status"] == "complete"
    assert report["dossier_id"] == "HN-CG-2026-000123"
    assert report["missing"] == []
    pages = report["pages"]
    # every input page accounted for, in input order
    assert [(p["source"], p["source_page"]) for p in pages] == [
        ("001-to-khai.tif", 1), ("001-to-khai.tif", 2), ("002-giay-chung-sinh.jpg", 1),
        ("003-mat-sau.png", 1), ("004-can-cuoc.pdf", 1),
    ]
    assert [p["bundle_page"] for p in pages] == [1, 2, 3, None, 4]
    blank = pages[3]
    assert blank["blank"] is True and blank["doc_type"] == "blank"
    assert pages[2]["rotation"] == 180
    assert abs(pages[0]["skew"] - 2.5) < 0.5
    assert pages[4]["dpi"] == pytest.approx(200, abs=5)
    assert [d["doc_type"] for d in report["documents"]] == [
        "birth_reg_form", "birth_certificate_medical", "citizen_id"]
    assert report["documents"][0]["bundle_pages"] == [1, 2]
    statuses = {c["requirement"]: c["status"] for c in report["checklist"]}
    assert statuses == {"form": "satisfied", "birth_proof": "satisfied",
                        "authorization": "not_applicable", "identity": "optional"}
    assert report["bundle"]["pages"] == 4 and report["bundle"]["signed"] is True
    # which model decided the types: the shipped artifact, by its content name
    manifest = json.loads((ROOT / "models/classifier/manifest.json").read_text(encoding="utf-8"))
    assert report["engine"]["classifier"] == f"trained:{manifest['weights']['sha256'][:12]}"
    assert manifest["weights"]["file"] == f"weights-{manifest['weights']['sha256'][:12]}.npz"


def test_complete_bundle_verifies_and_is_searchable(complete: tuple[int, Path]) -> None:
    _, out = complete
    bundle = out / "bundle.pdf"
    assert run_cli("verify", bundle) == 0
    text = subprocess.run(["pdftotext", str(bundle), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    assert "TỜ KHAI ĐĂNG KÝ KHAI SINH" in text
    assert "GIẤY CHỨNG SINH" in text
    outline = subprocess.run(["pdfinfo", str(bundle)], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    assert "Pages:           4" in outline


def test_verify_fails_on_a_flipped_byte(complete: tuple[int, Path], tmp_path: Path) -> None:
    _, out = complete
    data = bytearray((out / "bundle.pdf").read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    assert run_cli("verify", tampered) != 0


def test_incomplete_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("process", SAMPLES / "birth-incomplete", "--out", tmp_path) == 0
    report = load_report(tmp_path)
    assert report["status"] == "incomplete"
    assert report["missing"] == ["birth_proof", "authorization"]
    assert [d["doc_type"] for d in report["documents"]] == ["birth_reg_form",
                                                            "marriage_certificate"]
    assert report["extras"] == [1]
    assert "incomplete" in capsys.readouterr().out


def test_fact_flag_overrides_manifest(tmp_path: Path) -> None:
    assert run_cli("process", SAMPLES / "birth-incomplete", "--out", tmp_path,
                   "--fact", "by_representative=false") == 0
    report = load_report(tmp_path)
    assert report["missing"] == ["birth_proof"]
    assert report["facts"] == {"by_representative": False}


def test_bad_file_is_quarantined_and_flagged(tmp_path: Path) -> None:
    dossier = tmp_path / "in"
    write_dossier(dossier, [SynthFile("001.pdf", (
        (PageSpec(doc_type="birth_reg_form", title="TỜ KHAI ĐĂNG KÝ KHAI SINH", seed=7),
         DegradeSpec(seed=7)),
        (PageSpec(doc_type="birth_certificate_medical", title="GIẤY CHỨNG SINH", seed=8),
         DegradeSpec(rotation=90, seed=8)),
    ))])
    (dossier / "002.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = tmp_path / "out"
    assert run_cli("process", dossier, "--procedure", "birth_registration", "--out", out) == 0
    report = load_report(out)
    assert report["status"] == "needs_review"
    assert [(p["source"], p["source_page"]) for p in report["pages"]] == [
        ("001.pdf", 1), ("001.pdf", 2), ("002.jpg", 1)]
    assert report["pages"][1]["rotation"] == 270  # turned 90° clockwise: 270° more rights it
    bad = report["pages"][2]
    assert bad["error"] and "002.jpg" in bad["error"] and bad["bundle_page"] is None
    assert (out / "quarantine" / "002.jpg").read_bytes() == (dossier / "002.jpg").read_bytes()
    reason = json.loads((out / "quarantine" / "reason.json").read_text())
    assert [f["source"] for f in reason["files"]] == ["002.jpg"]
    assert (out / "originals" / "001.pdf").read_bytes() == (dossier / "001.pdf").read_bytes()
    assert [d["doc_type"] for d in report["documents"]] == [
        "birth_reg_form", "birth_certificate_medical"]


def test_unusable_dossier_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dossier = tmp_path / "in"
    dossier.mkdir()
    (dossier / "001.tif").write_bytes(b"PK\x03\x04 a word file, not a tiff")
    out = tmp_path / "out"
    assert run_cli("process", dossier, "--procedure", "birth_registration", "--out", out) != 0
    report = load_report(out)
    assert report["status"] == "rejected" and report["reason"]
    assert not (out / "bundle.pdf").exists()


def test_unknown_procedure_is_a_one_line_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli("process", SAMPLES / "birth-complete", "--procedure", "no_such", "--out",
                   tmp_path)
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such" in err[0] and "birth_registration" in err[0]


def test_single_file_input(tmp_path: Path) -> None:
    src = tmp_path / "one"
    shutil.copytree(SAMPLES / "birth-incomplete", src)
    out = tmp_path / "out"
    assert run_cli("process", src / "001.jpg", "--procedure", "birth_registration",
                   "--out", out) == 0
    report = load_report(out)
    assert [p["source"] for p in report["pages"]] == ["001.jpg"]
    assert report["missing"] == ["birth_proof"]


def test_a_runs_bundle_scratch_is_cleared_and_one_left_by_a_dead_run_too(tmp_path: Path) -> None:
    import os
    import time

    from flows.dossier import STALE_SCRATCH_S, scratch_folder

    root = tmp_path / "work" / "bundles"
    dead, busy = root / "tmp-dead", root / "tmp-busy"  # a crashed run's; a running one's
    for folder in (dead, busy):
        folder.mkdir(parents=True)
        (folder / "bundle.pdf").write_bytes(b"%PDF-")
    old = time.time() - STALE_SCRATCH_S - 60
    os.utime(dead, (old, old))
    with scratch_folder(tmp_path / "work") as folder:
        (folder / "signed.pdf").write_bytes(b"%PDF-")
        assert folder.parent == root and not dead.exists() and busy.exists()
    assert not folder.exists() and sorted(root.iterdir()) == [busy]


def test_the_classifier_is_read_once_per_process_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "classifier"
    shutil.copytree(dossier.CLASSIFIER_DIR, folder)
    monkeypatch.setattr(dossier, "CLASSIFIER_DIR", folder)
    first = dossier.page_classifier()
    assert dossier.page_classifier() is first  # every run of the process: the same
    manifest = folder / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    os.utime(manifest, ns=(stamp + 10**9, stamp + 10**9))  # as `sohoa train` rewrites it
    assert dossier.page_classifier() is not first  # the next run reads the new model
