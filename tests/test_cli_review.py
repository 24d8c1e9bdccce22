"""``sohoa review``: a supervisor's decisions on a dossier the CLI processed (real OCR,
real signing): the new bundle's bookmarks and report follow them, the old version is kept,
the page results come from the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw

from flows.cli import main
from lab.synth.degrade import DegradeSpec
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec

#: The torn dossier's doubt comes from the classifier's guess for the torn page on its
#: own (``pipeline.classify.trained.PAGE_GUESS``): 0.94 for a wrong type as the
#: ``tesseract`` program reads it, 0.499 as the library does, just under the bar, so
#: the document would not be in doubt. These tests are about the review itself, so
#: the dossier is read as it was when they were written; a torn title page that no
#: model guess betrays is a known gap of the classifier (issue 12's closing note).
READS_WITH = "program"


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path_factory.getbasetemp() / "state"
    monkeypatch.setenv("SOHOA_STATE_DIR", str(state))
    monkeypatch.setenv("SOHOA_OCR_ENGINE", READS_WITH)
    return state


def torn_dossier(folder: Path, dossier_id: str = "REV-1") -> Path:
    """A form and a birth certificate whose title was torn off: one uncertain document."""
    files = [SynthFile(f"{seed:03d}.png", ((PageSpec(doc_type=t, title=title, seed=seed,
                                                     body_paragraphs=1, fields=3),
                                            DegradeSpec(seed=seed)),))
             for t, title, seed in (("birth_reg_form", "TỜ KHAI ĐĂNG KÝ KHAI SINH", 1),
                                    ("birth_certificate_medical", "GIẤY CHỨNG SINH", 2))]
    write_dossier(folder, files, manifest={"dossier_id": dossier_id, "branch": "cau-giay",
                                           "procedure": "birth_registration"})
    with Image.open(folder / "002.png") as im:
        page = im.convert("RGB")
    ImageDraw.Draw(page).rectangle([0, 0, page.width, page.height // 3], fill="white")
    page.save(folder / "002.png")
    return folder


def outline(pdf: Path) -> list[tuple[str, int]]:
    with pikepdf.open(pdf) as doc, doc.open_outline() as out:
        pages = [p.objgen for p in doc.pages]
        return [(item.title, pages.index(item.destination[0].objgen) + 1)
                for item in out.root]


def test_review_applies_decisions_and_keeps_the_previous_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["process", str(torn_dossier(tmp_path / "in")), "--out", str(out)]) == 0
    before = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert before["status"] != "complete" and before["review"]
    capsys.readouterr()

    assert main(["review", str(out)]) == 0  # the decisions file to fill in
    template = json.loads(capsys.readouterr().out)
    assert template["documents"] == [{"document": 0, "doc_type": "birth_reg_form"}]

    template["reviewer"] = "Trần Thị B"
    template["documents"].append({"document": 0, "doc_type": "birth_certificate_medical",
                                  "from_page": 2})
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps(template, ensure_ascii=False), encoding="utf-8")
    assert main(["review", str(out), "--decisions", str(decisions)]) == 0

    after = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert after["status"] == "complete" and after["review"] == [] and after["missing"] == []
    assert [(d["doc_type"], d["bundle_pages"]) for d in after["documents"]] == [
        ("birth_reg_form", [1]), ("birth_certificate_medical", [2])]
    assert [(d["reviewer"], d["action"], d["from"], d["to"]) for d in after["decisions"]] == [
        ("Trần Thị B", "split", "birth_reg_form", "birth_reg_form"),
        ("Trần Thị B", "split", "birth_reg_form", "birth_certificate_medical")]
    assert [p for _, p in outline(out / "bundle.pdf")] == [1, 2]
    assert main(["verify", str(out / "bundle.pdf")]) == 0
    (kept,) = (out / "versions").iterdir()
    assert json.loads((kept / "report.json").read_text(encoding="utf-8")) == before
    assert sorted(p.name for p in (kept / "originals").iterdir()) == [
        "001.png", "002.png", "manifest.json"]
    assert (kept / "bundle.pdf").read_bytes() != (out / "bundle.pdf").read_bytes()


def test_a_decisions_file_that_does_not_fit_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["process", str(torn_dossier(tmp_path / "in")), "--out", str(out)]) == 0
    report = (out / "report.json").read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text('{"reviewer": "", "documents": []}', encoding="utf-8")
    assert main(["review", str(out), "--decisions", str(bad)]) == 2
    assert "not a decisions file" in capsys.readouterr().err
    bad.write_text('{"reviewer": "B", "documents": [{"document": 7, "doc_type": "unknown"}]}',
                   encoding="utf-8")
    assert main(["review", str(out), "--decisions", str(bad)]) == 2
    assert "document 7: the dossier has 1 documents" in capsys.readouterr().err
    assert (out / "report.json").read_bytes() == report and not (out / "versions").exists()
