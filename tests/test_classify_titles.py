"""TitleClassifier on synthetic OCR results (words with boxes), plus text folding."""

from __future__ import annotations

import random
import time

import pytest

from models.catalog import load_catalog
from pipeline.classify import PageClassifier, PageText, TitleClassifier, fold, strip_diacritics
from pipeline.types import OcrResult, Word

W, H = 2480, 3508  # A4 at 300 dpi
BODY = (
    "Họ, chữ đệm, tên người yêu cầu: Nguyễn Văn An",
    "Nơi cư trú: số 12 phố Hàng Bông, phường Hoàn Kiếm, thành phố Hà Nội",
    "Giấy tờ tùy thân: Căn cước số 001099012345 cấp ngày 01/02/2021",
    "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm.",
    "Làm tại Hà Nội, ngày 20 tháng 11 năm 2026",
)
WILDCARD_FILL = {"design_drawings": "MẶT BẰNG TẦNG 1", "divorce_decision": "SỐ 12/2023/HNGĐ-ST V/V"}


def _line(text: str, x: int, y: int, h: int, key: tuple[int, int, int]) -> list[Word]:
    out = []
    for t in text.split():
        w = int(len(t) * h * 0.6)
        out.append(Word(t, x, y, w, h, 90.0, *key))
        x += w + int(h * 0.4)
    return out


def make_page(
    titles: tuple[str, ...] = (),
    *,
    body: tuple[str, ...] = BODY,
    header: bool = True,
    body_top: int = 900,
    bottom: tuple[str, ...] = (),
) -> PageText:
    """Agency + motto header, title lines (60 px), body lines (40 px), optional bottom lines."""
    words: list[Word] = []
    if header:
        words += _line("ỦY BAN NHÂN DÂN", 150, 150, 40, (1, 1, 1))
        words += _line("XÃ AN KHÁNH", 200, 200, 40, (1, 1, 2))
        words += _line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 1100, 150, 40, (2, 1, 1))
        words += _line("Độc lập - Tự do - Hạnh phúc", 1300, 200, 40, (2, 1, 2))
    y = 450
    for i, t in enumerate(titles):
        words += _line(t, 400, y, 60, (3, 1, i + 1))
        y += 80
    y = max(y + 60, body_top)
    for i, t in enumerate(body):
        words += _line(t, 150, y, 40, (4, 1, i + 1))
        y += 70
    for i, t in enumerate(bottom):
        words += _line(t, 1500, 3000 + 70 * i, 40, (5, 1, i + 1))
    return PageText(OcrResult(tuple(words), W, H, 300.0, 90.0))


def _all_titles() -> list[tuple[str, str]]:
    out = []
    for dt in load_catalog().document_types:
        for t in dt.titles:
            out.append((dt.id, t.replace("…", WILDCARD_FILL.get(dt.id, ""))))
    return out


GLYPH_SWAPS = {"I": "l", "O": "0", "N": "H", "H": "N", "E": "F", "C": "G", "U": "V", "A": "4"}


def garble(title: str, seed: int, every: int = 9) -> str:
    """OCR-like damage: about one wrong/missing letter per ``every`` letters, in long words."""
    rnd = random.Random(seed)
    words = strip_diacritics(title).split() if seed % 2 else title.split()
    budget = max(1, sum(len(w) for w in words) // every)
    long_idx = [i for i, w in enumerate(words) if len(w) >= 4]
    rnd.shuffle(long_idx)
    for i in long_idx[:budget]:
        w = words[i]
        j = rnd.randrange(1, len(w) - 1)
        if rnd.random() < 0.5:
            words[i] = w[:j] + w[j + 1 :]
        else:
            words[i] = w[:j] + GLYPH_SWAPS.get(w[j], "X") + w[j + 1 :]
    return " ".join(words)


@pytest.fixture(scope="module")
def clf() -> TitleClassifier:
    return TitleClassifier(load_catalog())


def test_fold_is_diacritic_and_punctuation_insensitive() -> None:
    assert fold("GIẤY  CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, …") == "giay chung nhan quyen su dung dat"
    assert fold("Độc lập - Tự do - Hạnh phúc") == "doc lap tu do hanh phuc"
    assert fold("ĐƯỜNG ƯƠM ỞỞ") == fold("duong uom oo")
    assert fold("P<VNMNGUYEN<<VAN") == "p vnmnguyen van"
    assert fold("ﬁle\tend\n") == "file end"  # NFKC undoes ligatures
    assert strip_diacritics("Căn cước Công dân") == "Can cuoc Cong dan"


def test_classifier_implements_the_protocol(clf: TitleClassifier) -> None:
    assert isinstance(clf, PageClassifier)


@pytest.mark.parametrize(("doc_type", "title"), _all_titles())
def test_every_catalog_title_is_recognised(clf: TitleClassifier, doc_type: str, title: str) -> None:
    label = clf.classify(make_page((title,)))
    assert (label.doc_type, label.starts_document) == (doc_type, True)
    assert label.confidence >= 0.9
    assert label.candidates[0].doc_type == doc_type
    assert len(label.candidates) <= 3


@pytest.mark.parametrize(("doc_type", "title"), _all_titles())
def test_titles_without_diacritics_are_recognised(
    clf: TitleClassifier, doc_type: str, title: str
) -> None:
    label = clf.classify(make_page((strip_diacritics(title),)))
    assert (label.doc_type, label.starts_document) == (doc_type, True)


@pytest.mark.parametrize(("doc_type", "title"), _all_titles())
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ocr_garbled_titles_are_recognised(
    clf: TitleClassifier, doc_type: str, title: str, seed: int
) -> None:
    damaged = garble(title, seed)
    assert fold(damaged) != fold(title) or len(title) < 9
    label = clf.classify(make_page((damaged,)))
    assert (label.doc_type, label.starts_document) == (doc_type, True), damaged


def test_title_wrapped_over_two_lines(clf: TitleClassifier) -> None:
    label = clf.classify(make_page(("TỜ KHAI CẤP GIẤY XÁC NHẬN", "TÌNH TRẠNG HÔN NHÂN")))
    assert (label.doc_type, label.starts_document) == ("marital_status_form", True)
    land = ("GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU", "TÀI SẢN GẮN LIỀN VỚI ĐẤT")
    assert clf.classify(make_page(land)).doc_type == "land_certificate"


def test_a_stacked_diacritic_read_twice_does_not_cost_a_short_word(
    clf: TitleClassifier,
) -> None:
    """Tesseract reads "BỔ" as "BỔỐ": the short title word "bổ" is there, read with a
    letter twice; a different short word still costs its penalty."""
    title = ("TỜ KHAI ĐĂNG KÝ THAY ĐỔI, CẢI CHÍNH, BỔỐ SUNG", "THÔNG TIN HỘ TỊCH")
    [hit] = [h for h in clf.title_hits(make_page(title)) if h.doc_type == "civil_change_form"]
    assert hit.match >= 0.95
    other = ("TỜ KHAI ĐĂNG KÝ THAY ĐỔI, CẢI CHÍNH, BA SUNG", "THÔNG TIN HỘ TỊCH")
    [miss] = [h for h in clf.title_hits(make_page(other)) if h.doc_type == "civil_change_form"]
    assert miss.match < 0.85


def test_wildcard_title_over_three_lines(clf: TitleClassifier) -> None:
    lines = ("BẢN ÁN SỐ 12/2023/HNGĐ-ST", "NGÀY 15-3-2023", "V/V LY HÔN")
    label = clf.classify(make_page(lines))
    assert (label.doc_type, label.starts_document) == ("divorce_decision", True)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT", "land_certificate"),
        ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "marital_status_cert"),
        ("TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "marital_status_form"),
        ("GIẤY KHAI SINH", "birth_certificate"),
        ("TỜ KHAI ĐĂNG KÝ KHAI SINH", "birth_reg_form"),
        ("TỜ KHAI ĐĂNG KÝ KHAI TỬ", "death_reg_form"),
        ("CĂN CƯỚC", "citizen_id"),
        ("CĂN CƯỚC CÔNG DÂN", "citizen_id"),
        ("GIẤY PHÉP XÂY DỰNG", "building_permit"),
        ("ĐƠN ĐỀ NGHỊ CẤP GIẤY PHÉP XÂY DỰNG", "building_permit_application"),
        ("GIẤY CHỨNG SINH", "birth_certificate_medical"),
        ("GIẤY CHỨNG NHẬN KẾT HÔN", "marriage_certificate"),
        ("TRÍCH LỤC KHAI SINH", "birth_certificate"),
        ("TRÍCH LỤC BẢN ĐỒ ĐỊA CHÍNH", "cadastral_extract"),
    ],
)
def test_confusable_titles_resolve_to_the_most_specific(
    clf: TitleClassifier, title: str, expected: str
) -> None:
    label = clf.classify(make_page((title,)))
    assert label.doc_type == expected
    # the runner-up, if any, is clearly behind: no ambiguity penalty applied
    assert label.confidence >= 0.9


def test_motto_alone_is_never_a_title(clf: TitleClassifier) -> None:
    for page in (
        make_page(()),
        make_page((), body=()),
        make_page(
            ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"), header=False
        ),
        make_page(("CONG HOA XA HOI CHU NGHIA VIET NAM",), header=False, body=()),
    ):
        label = clf.classify(page)
        assert (label.doc_type, label.starts_document, label.confidence) == ("unknown", False, 0.0)


def test_body_mention_does_not_start_a_document(clf: TitleClassifier) -> None:
    body = (*BODY[:2], "Kèm theo bản sao giấy khai sinh của người được đăng ký.", *BODY[2:])
    label = clf.classify(make_page((), body=body, body_top=1700))
    assert label.starts_document is False
    caps = ("CĂN CỨ BẢN SAO GIẤY KHAI SINH VÀ GIẤY TỜ KHÁC CÓ LIÊN QUAN ĐÃ NỘP",)
    label = clf.classify(make_page((), body=BODY, bottom=caps))
    assert label.starts_document is False


def test_heading_that_mentions_a_short_title_does_not_start_one(clf: TitleClassifier) -> None:
    label = clf.classify(make_page(("II. THÔNG TIN HỘ CHIẾU",)))
    assert label.starts_document is False
    assert label.confidence < 0.75


def test_short_words_of_wildcard_titles_must_match(clf: TitleClassifier) -> None:
    assert clf.classify(make_page(("BẢN VIẾT TAY",))).starts_document is False
    assert clf.classify(make_page(("BẢN VẼ KẾT CẤU",))).doc_type == "design_drawings"


def test_drawing_title_block_at_the_bottom_with_cues(clf: TitleClassifier) -> None:
    page = make_page((), header=False, body=(), bottom=("BẢN VẼ MẶT BẰNG TẦNG 1", "Tỷ lệ 1:100"))
    label = clf.classify(page)
    assert (label.doc_type, label.starts_document) == ("design_drawings", True)
    # the same caps line without the cue stays below the start threshold (outside title zone)
    no_cue = clf.classify(make_page((), header=False, body=(), bottom=("BẢN VẼ MẶT BẰNG",)))
    assert no_cue.starts_document is False
    assert no_cue.candidates and no_cue.candidates[0].doc_type == "design_drawings"


def test_passport_machine_readable_zone_starts_a_passport(clf: TitleClassifier) -> None:
    mrz = (
        "P<VNMNGUYEN<<VAN<AN<<<<<<<<<<<<<<<<<<<<<<<<<",
        "C1234567<8VNM9001011M3001012<<<<<<<<<<<<<<04",
    )
    label = clf.classify(make_page((), header=False, body=mrz))
    assert (label.doc_type, label.starts_document) == ("passport", True)


def test_untitled_page_with_cues_continues_with_a_guess(clf: TitleClassifier) -> None:
    body = ("Bên ủy quyền: ông Nguyễn Văn An", "Bên được ủy quyền: bà Trần Thị Bình", *BODY)
    label = clf.classify(make_page((), body=body))
    assert label.starts_document is False
    assert label.doc_type == "authorization"
    assert 0 < label.confidence < 0.75


def test_cues_raise_confidence_of_a_garbled_title(clf: TitleClassifier) -> None:
    damaged = "GIAY UY QUYFN"
    plain = clf.classify(make_page((damaged,)))
    cued = clf.classify(make_page((damaged,), body=("Bên ủy quyền: ông An", *BODY)))
    assert plain.doc_type == cued.doc_type == "authorization"
    assert cued.confidence > plain.confidence


def test_classification_time_per_page(
    clf: TitleClassifier, capsys: pytest.CaptureFixture[str]
) -> None:
    page = make_page(("TỜ KHAI ĐĂNG KÝ KHAI SINH",), body=BODY * 8)
    n = 50
    t0 = time.perf_counter()
    for _ in range(n):
        label = clf.classify(page)
    per_page = (time.perf_counter() - t0) / n * 1000
    assert label.doc_type == "birth_reg_form"
    with capsys.disabled():
        print(f"\n[classify] {len(page.ocr.words)} words: {per_page:.2f} ms/page")


def test_motto_on_the_same_ocr_line_as_a_title_is_cut_away(clf: TitleClassifier) -> None:
    # Tesseract sometimes merges side-by-side blocks into one line; the motto must not
    # dilute the title (nor be read as one).
    merged = ("CỘNG HOÀ XÃ HỘI CHỦ NGHỈA VIỆT NAM GIẤY KHAI SINH",)
    label = clf.classify(make_page(merged, header=False))
    assert (label.doc_type, label.starts_document) == ("birth_certificate", True)
    assert label.confidence >= 0.9


def test_page_without_words_is_unknown(clf: TitleClassifier) -> None:
    empty = PageText(OcrResult((), W, H, 300.0, 0.0))
    assert clf.classify(empty) == clf.classify(make_page((), header=False, body=()))
    assert clf.classify(empty).doc_type == "unknown"
