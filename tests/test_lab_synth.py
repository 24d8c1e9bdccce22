"""Synthetic pages: determinism, layout inside margins, text material, degradations."""

from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
import pytest

from lab.synth import (
    DegradeSpec,
    PageSpec,
    body_cer,
    cer,
    degrade,
    moderate,
    render_page,
    texts,
)
from lab.synth.canvas import available_fonts, wrap
from lab.synth.degrade import arrival
from pipeline.errors import MissingDependency

TITLE = "TỜ KHAI ĐĂNG KÝ KHAI SINH"


@pytest.fixture(scope="module")
def small_page():
    # 100 dpi keeps the degradation tests fast; layout is the same in millimetres
    return render_page(PageSpec(title=TITLE, doc_type="birth_reg_form", seed=3, dpi=100))


def test_all_six_font_families_are_available():
    assert set(available_fonts()) == {
        "DejaVu Sans",
        "DejaVu Serif",
        "Noto Sans",
        "Noto Serif",
        "Liberation Sans",
        "Liberation Serif",
    }


def test_same_spec_gives_identical_pixels_and_text():
    spec = PageSpec(title="GIẤY KHAI SINH", doc_type="birth_certificate", seed=42, dpi=150)
    a, b = render_page(spec), render_page(spec)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.body_text == b.body_text and a.all_text == b.all_text


def test_different_seeds_differ():
    a = render_page(PageSpec(title=TITLE, seed=1, dpi=100))
    b = render_page(PageSpec(title=TITLE, seed=2, dpi=100))
    assert a.body_text != b.body_text
    assert a.image.tobytes() != b.image.tobytes()


@pytest.mark.parametrize("seed", [0, 5])
def test_a4_at_dpi_and_text_inside_margins(seed):
    spec = PageSpec(title=TITLE, seed=seed, dpi=150, fields=14, body_paragraphs=12)
    page = render_page(spec)
    h, w = page.image.shape[:2]
    assert (w, h) == (round(210 / 25.4 * 150), round(297 / 25.4 * 150))
    assert page.image.dtype == np.uint8 and page.image.shape[2] == 3
    left, top, right, bottom = page.margins_px
    assert left >= round(30 / 25.4 * 150) - 1 and right >= round(20 / 25.4 * 150) - 1
    assert page.line_boxes
    for l_, t_, r_, b_ in page.line_boxes:
        assert left - 2 <= l_ and r_ <= w - right + 2
        assert top - 2 <= t_ and b_ <= h - bottom + 2
    # too much content is cut, never drawn outside the page
    assert len(page.body_text.splitlines()) < 14 + 12 * 3


def test_page_structure_and_body_text():
    page = render_page(PageSpec(title=TITLE, seed=9, fields=5, body_paragraphs=2))
    lines = page.all_text.splitlines()
    assert lines[0] == texts.MOTTO and lines[1] == texts.MOTTO_SUB
    assert TITLE in lines
    assert page.body_text.splitlines()[0].startswith("Họ, chữ đệm, tên: ")
    assert page.body_text in page.all_text
    assert re.search(r"Hà Nội, ngày \d\d tháng \d\d năm 2026", page.all_text)
    assert unicodedata.is_normalized("NFC", page.all_text)
    # the body region is ink, the area under the signature block is not
    assert page.body_box is not None
    x0, y0, x1, y1 = page.body_box
    assert page.image[y0:y1, x0:x1].min() < 80


def test_issued_page_has_red_seal_and_form_has_none():
    issued = render_page(PageSpec(title="GIẤY KHAI SINH", seed=4, dpi=100))
    form = render_page(PageSpec(title=TITLE, seed=4, dpi=100))

    def red_pixels(img: np.ndarray) -> int:
        r, g, b = (img[..., i].astype(int) for i in range(3))
        return int(((r - g > 80) & (r - b > 80)).sum())

    assert red_pixels(issued.image) > 200
    assert red_pixels(form.image) == 0
    assert "ỦY BAN NHÂN DÂN" in issued.all_text.splitlines()[0]


def test_continuation_and_blank_pages():
    cont = render_page(PageSpec(title=TITLE, continuation=True, seed=12, dpi=100))
    assert cont.title is None
    assert texts.MOTTO not in cont.all_text and TITLE not in cont.all_text
    assert cont.body_text
    blank = render_page(PageSpec(title=TITLE, blank=True, seed=12, dpi=100))
    assert blank.body_text == "" and blank.all_text == "" and blank.title is None
    assert blank.image.min() >= 240


def test_unknown_font_is_a_missing_dependency():
    with pytest.raises(MissingDependency):
        render_page(PageSpec(title=TITLE, font="Comic Sans MS"))


def test_wrap_respects_width():
    from lab.synth.canvas import load_font as _load_font

    font = _load_font("DejaVu Sans", False, 40)
    text = texts.paragraph(random.Random(1), 4) + " Supercalifragilisticexpialidocious" * 2
    lines = wrap(text, font, 500, indent=60)
    assert " ".join(lines).split() != []
    assert font.getlength(lines[0]) <= 440
    assert all(font.getlength(ln) <= 500 for ln in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_id_numbers_and_people_are_consistent():
    rng = random.Random(5)
    for _ in range(50):
        p = texts.random_person(rng)
        assert re.fullmatch(r"\d{12}", p.id_number)
        digit = int(p.id_number[3])
        assert digit // 2 == (0 if p.birth_date.year < 2000 else 1)
        assert digit % 2 == (1 if p.sex == "Nữ" else 0)
        assert p.id_number[4:6] == f"{p.birth_date.year % 100:02d}"
        assert len(p.full_name.split()) >= 3
    assert len(set(texts.SENTENCES)) >= 40
    fields = texts.form_fields(random.Random(1), 20)
    assert len(fields) == 20 and fields[0][0] == "Họ, chữ đệm, tên:"


def test_cer_helpers():
    assert cer("Hà Nội", "Hà Nội") == 0.0
    assert cer("abcd", "abce") == pytest.approx(0.25)
    body = "Giới tính: Nữ\nDân tộc: Kinh"
    ocr = "CỘNG HÒA XÃ HỘI\nGiới tính: Nữ Dân tộc: Kinh\nHà Nội, ngày 01"
    assert body_cer(body, ocr) == 0.0
    assert body_cer(body, "Giới tính: Nu Dân tộc: Kinh") == pytest.approx(1 / 27)
    assert body_cer(body, "") == 1.0
    # a sentence repeated in the body must not end the matched stretch early
    rep = "Một câu lặp lại ở đây.\nCâu giữa khác hẳn.\nMột câu lặp lại ở đây."
    assert body_cer(rep, "TIÊU ĐỀ " + rep + " Hà Nội, ngày 01") == 0.0
    # a page whose OCR lost the second half scores about 50 %
    assert body_cer(rep, "Một câu lặp lại ở đây.") > 0.4


def test_degrade_identity_and_rotation(small_page):
    img = small_page.image
    assert np.array_equal(degrade(img, DegradeSpec()), img)
    turned = degrade(img, DegradeSpec(rotation=90))
    assert turned.shape == (img.shape[1], img.shape[0], 3)
    assert np.array_equal(turned, np.rot90(img, -1))
    assert np.array_equal(degrade(img, DegradeSpec(rotation=180)), img[::-1, ::-1])
    with pytest.raises(ValueError):
        DegradeSpec(rotation=45)


def test_degrade_border_skew_blur_noise_jpeg(small_page):
    img = small_page.image
    bordered = degrade(img, DegradeSpec(border_px=30, seed=1))
    assert bordered.shape == (img.shape[0] + 60, img.shape[1] + 60, 3)
    assert bordered[:20, :20].max() < 80  # dark scanner background
    skewed = degrade(img, DegradeSpec(skew_deg=4.0, seed=1))
    assert skewed.shape[0] > img.shape[0] and skewed.shape[1] > img.shape[1]
    assert skewed[0, 0].max() < 80  # a corner is background, not paper
    blurred = degrade(img, DegradeSpec(blur=1.5))
    assert blurred.shape == img.shape and not np.array_equal(blurred, img)
    noisy = degrade(img, DegradeSpec(noise=0.5, seed=2)).astype(int)
    assert 5 < np.abs(noisy - img).mean() < 20
    lit = degrade(img, DegradeSpec(uneven_light=1.0, seed=3))
    assert lit.mean() < img.mean() - 10
    jpeg = degrade(img, DegradeSpec(jpeg_quality=50))
    assert 0 < np.abs(jpeg.astype(int) - img).mean() < 5


def test_degrade_deterministic_and_accepts_grey(small_page):
    spec = moderate(8)
    a = degrade(small_page.image, spec)
    assert np.array_equal(a, degrade(small_page.image, spec))
    assert not np.array_equal(a, degrade(small_page.image, moderate(9)))
    grey = degrade(small_page.image[..., 0], DegradeSpec(border_px=5))
    assert grey.ndim == 3 and grey.dtype == np.uint8


def test_moderate_parameters():
    specs = [moderate(s) for s in range(40)]
    assert specs == [moderate(s) for s in range(40)]
    for s in specs:
        assert abs(s.skew_deg) <= 5 and s.border_px > 0 and s.noise > 0
        assert 0.8 <= s.blur <= 1.2 and s.jpeg_quality is not None
        assert 50 <= s.jpeg_quality <= 75 and s.uneven_light > 0
        assert s.rotation in (0, 180)
    upside_down = sum(s.rotation == 180 for s in specs)
    assert 4 <= upside_down <= 16


def test_heldout_set_is_the_same_whatever_the_number_of_workers(tmp_path):
    from lab.synth.corpus import heldout_config, write_heldout
    from models.catalog import load_catalog

    cfg = heldout_config().model_copy(update={"dpi": 100})
    one = write_heldout(tmp_path / "one", load_catalog(), 3, seed=5, cfg=cfg)
    two = write_heldout(tmp_path / "two", load_catalog(), 3, seed=5, cfg=cfg, workers=2)
    assert [p.name for p in one] == [p.name for p in two]
    for a, b in zip(one, two, strict=True):
        files = sorted(f.name for f in a.iterdir())
        assert files == sorted(f.name for f in b.iterdir()) and "labels.json" in files
        for name in files:  # PDF files carry the time they were written
            assert _undated(a / name) == _undated(b / name), (a.name, name)


def _undated(path):
    import re

    return re.sub(rb"\(D:\d{14}Z\)", b"()", path.read_bytes())


def test_degrade_as_papers_really_arrive(small_page):
    img = small_page.image
    framed = degrade(img, DegradeSpec(crop_content=True))
    assert framed.shape[0] < img.shape[0] and framed.shape[1] < img.shape[1]
    yellowed = degrade(img, DegradeSpec(yellow=1.0)).astype(int)
    paper = yellowed[2:6, 2:6].reshape(-1, 3).mean(axis=0)
    assert paper[0] > 240 and paper[2] < 200  # red kept, blue lost: yellow
    photo = degrade(img, DegradeSpec(perspective=0.1, seed=4))
    assert photo.shape == img.shape and photo[0, 0].max() < 200  # a corner shows the table
    low = degrade(img, DegradeSpec(scale=0.5))
    assert low.shape[:2] == (round(img.shape[0] * 0.5), round(img.shape[1] * 0.5))
    bilevel = degrade(img, DegradeSpec(bilevel=True, noise=0.3, seed=5))
    assert set(np.unique(bilevel)) <= {0, 255}
    kinds = [arrival(s, card=True) for s in range(60)]
    assert any(k.crop_content for k in kinds) and any(k.bilevel for k in kinds)
    assert any(k.scale < 1 for k in kinds) and any(k.perspective > 0.01 for k in kinds)
    assert not any(k.crop_content for k in (arrival(s) for s in range(60)))  # cards only
    assert all(k.rotation in (0, 180) and k == arrival(s, card=True)
               for s, k in enumerate(kinds))
