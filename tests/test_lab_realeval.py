"""``sohoa evaluate --real``: real files through the real stages, figures per file.

The folder is built here: a rendered page with its exact text (ground truth),
the sample dossier's two-page TIFF form and its ID card page as a dossier
folder (each file one handed-in document), and a damaged file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from flows.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "birth-complete"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
TEXT = [
    "Công văn về việc tổ chức tiếp công dân định kỳ",
    "Ủy ban nhân dân xã thông báo lịch tiếp công dân",
    "trong quý bốn như sau: thứ ba và thứ năm hằng tuần,",
    "buổi sáng từ bảy giờ ba mươi phút đến mười một giờ.",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real")
    img = Image.new("L", (2480, 3508), 255)
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 50)
    for i, line in enumerate(TEXT):
        d.text((250, 400 + 90 * i), line, font=font, fill=0)
    img.save(root / "letter.png", dpi=(300, 300))
    (root / "letter.gt.txt").write_text("\n".join(TEXT) + "\n", encoding="utf-8")
    dossier = root / "dossier"
    dossier.mkdir()
    shutil.copy(SAMPLES / "001-to-khai.tif", dossier / "001.tif")
    shutil.copy(SAMPLES / "004-can-cuoc.pdf", dossier / "002.pdf")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    rows = [
        "path\tkind\tdoc_type\tpages\timage\tdpi\tground_truth",
        "letter.png\tscan\tunknown\t1\t\t300\tletter.gt.txt",
        "dossier\tdossier\tunknown\t3\t\t\t",
        "dossier/001.tif\tscan\tbirth_reg_form\t2\t\t\t",
        "dossier/002.pdf\tscan\tcitizen_id\t1\t\t\t",
        "broken.jpg\tscan\tunknown\t1\t\t\t",
    ]
    (root / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_real_evaluation_figures(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", str(data), "--real", str(data / "labels.tsv"), "--json",
            "--cache", str(tmp_path / "cache")]
    assert main(argv) == 0
    out = capsys.readouterr()
    figures = json.loads(out.out)
    assert (figures["files"], figures["processed"], figures["refused"]) == (3, 2, 1)
    assert figures["crashed"] == 0
    assert figures["unknown_pages"] == 1 and figures["unknown_given_catalog_type"] == 0
    # the dossier: two handed-in files, the form's two pages one document
    assert figures["catalog_pages"] == 3
    assert figures["catalog_page_accuracy"] >= 2 / 3
    assert figures["boundary_agreement"] == 1.0
    cer = figures["cer"]["letter.png"]
    assert cer["bundle"] is not None and cer["bundle"] <= 0.02
    assert cer["bundle"] <= cer["raw_tesseract"] + 1e-9
    # nothing the pages say is printed
    for line in TEXT:
        for word in line.split()[2:5]:
            assert word not in out.out + out.err
    assert main(argv[:-3] + ["--cache", str(tmp_path / "cache")]) == 0  # cached, table form
    table = capsys.readouterr().out
    assert "letter.png" in table and "refused" in table
