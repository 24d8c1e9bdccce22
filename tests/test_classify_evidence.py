"""The open-set decision: a catalog type only on positive evidence of it.

Pages are drawn here (a decision of a People's Committee, a citizen ID card
filling the frame, the same card's number quoted in a letter), read by the
real page stage (cleaning + Tesseract) and classified by the shipped model.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lab.synth import PageSpec
from models.catalog import load_catalog
from models.schemas import UNKNOWN
from pipeline.assemble import plan_dossier
from pipeline.classify.evidence import Evidence, EvidenceConfig, decide, open_set
from pipeline.classify.group import DocumentGroup
from pipeline.classify.interfaces import PageText
from pipeline.classify.trained import TrainedClassifier
from pipeline.outcome import PageOutcome
from pipeline.page import PageConfig, process_page
from pipeline.types import Candidate, PageRef, RawPage
from tests.reading import simulated_reading, typed_lines

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _draw(size: tuple[int, int], lines: list[tuple[str, int, bool]], *, dpi: int = 300) -> RawPage:
    """Lines of (text, point size, bold) drawn top-down, centred, on white paper."""
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    y = int(0.06 * size[1])
    for text, pt, bold in lines:
        font = ImageFont.truetype(BOLD if bold else FONT, round(pt * dpi / 72))
        w = d.textlength(text, font=font)
        x = max(10, int((size[0] - w) / 2)) if bold else int(0.08 * size[0])
        d.text((x, y), text, fill=(20, 20, 20), font=font)
        y += round(pt * dpi / 72 * 1.6)
    return RawPage(PageRef("page.png"), np.asarray(img), float(dpi))


def _read(raw: RawPage) -> PageText:
    done = process_page(raw, config=PageConfig())
    assert done.ocr is not None
    return PageText(ocr=done.ocr, layout=done.layout, source=raw.ref.source)


@pytest.fixture(scope="module")
def model() -> TrainedClassifier:
    return TrainedClassifier.load(load_catalog())


A4 = (2480, 3508)
BODY = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; "
    "xét đề nghị của Trưởng phòng Tài nguyên và Môi trường về việc thu hồi "
    "thửa đất số 125, tờ bản đồ số 7 của bà Nguyễn Thị Hoa, căn cước công dân "
    "số 001203004567, để thực hiện dự án mở rộng đường giao thông liên xã."
)


def _wrapped(text: str, width: int = 70) -> list[tuple[str, int, bool]]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width:
            lines.append((cur, 12, False))
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return [*lines, (cur, 12, False)]


def test_an_official_decision_outside_the_catalog_is_not_given_a_catalog_type(
    model: TrainedClassifier,
) -> None:
    page = _read(_draw(A4, [
        ("ỦY BAN NHÂN DÂN XÃ AN KHÁNH", 12, True),
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, True),
        ("Độc lập - Tự do - Hạnh phúc", 12, True),
        ("QUYẾT ĐỊNH", 15, True),
        ("Về việc thu hồi đất để thực hiện dự án", 13, True),
        *_wrapped(BODY), *_wrapped(BODY), *_wrapped(BODY),
        ("CHỦ TỊCH", 12, True),
    ]))
    labels, groups = model.separate([page])
    assert len(groups) == 1
    assert groups[0].doc_type == UNKNOWN or groups[0].confidence < 0.6
    assert labels[0].confidence < 0.6


def test_a_citizen_id_card_filling_the_frame_is_found(model: TrainedClassifier) -> None:
    card = _draw((1012, 638), [
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 5, True),
        ("Độc lập - Tự do - Hạnh phúc", 5, True),
        ("CĂN CƯỚC CÔNG DÂN", 9, True),
        ("Số / No.: 001203004567", 8, False),
        ("Họ và tên / Full name: NGUYỄN THỊ HOA", 6, False),
        ("Ngày sinh / Date of birth: 12/03/2003", 6, False),
        ("Quê quán: Hà Nội", 6, False),
        ("Có giá trị đến: 12/03/2028", 5, False),
    ])
    labels, groups = model.separate([_read(card)])
    assert [g.doc_type for g in groups] == ["citizen_id"]
    assert groups[0].confidence >= 0.6
    assert labels[0].doc_type == "citizen_id"


def test_an_id_number_quoted_in_a_letter_is_no_card(model: TrainedClassifier) -> None:
    letter = _read(_draw(A4, [
        ("ỦY BAN NHÂN DÂN XÃ AN KHÁNH", 12, True),
        ("THÔNG BÁO", 15, True),
        *_wrapped(BODY), *_wrapped(BODY), *_wrapped(BODY), *_wrapped(BODY),
    ]))
    _, groups = model.separate([letter])
    assert not (groups[0].doc_type == "citizen_id" and groups[0].confidence >= 0.6)


# --- the decision itself, on values ------------------------------------------------
GROUP = DocumentGroup(
    "land_certificate", (0, 1), 0.97,
    (Candidate("land_certificate", 0.97), Candidate("cadastral_extract", 0.02)),
)


def test_no_evidence_makes_an_unknown_with_capped_candidates() -> None:
    out = decide(GROUP, Evidence({}))
    assert out.doc_type == UNKNOWN and out.confidence == 0.0
    assert out.candidates[0] == Candidate("land_certificate", EvidenceConfig().unproven_cap)
    assert out.page_indices == GROUP.page_indices


def test_evidence_for_the_model_type_keeps_its_confidence() -> None:
    assert decide(GROUP, Evidence({"land_certificate": 0.8})) == GROUP


def test_structure_of_another_type_wins_and_a_disagreeing_title_goes_to_review() -> None:
    card = decide(GROUP, Evidence({"citizen_id": 0.85}, frozenset({"citizen_id"})))
    assert (card.doc_type, card.confidence) == ("citizen_id", 0.85)
    titled = decide(GROUP, Evidence({"authorization": 0.9}))
    assert titled.doc_type == "authorization" and titled.confidence < 0.6


def test_a_continuation_page_takes_the_evidence_of_its_document(
    model: TrainedClassifier,
) -> None:
    finder = model.finder
    groups = open_set([GROUP], [Evidence({"land_certificate": 0.9}), Evidence({})], finder)
    assert groups == (GROUP,)
    alone = open_set([GROUP], [Evidence({}), Evidence({})], finder)
    assert alone[0].doc_type == UNKNOWN
    # one field label on each page: together they prove the type
    label = "nguoi su dung dat chu so huu tai san"
    other = "nhung thay doi sau khi cap giay chung nhan"
    split = [Evidence({}, labels={"land_certificate": frozenset({label})}),
             Evidence({}, labels={"land_certificate": frozenset({other})})]
    assert open_set([GROUP], split, finder) == (GROUP,)
    one = open_set([GROUP], split[:1] + [Evidence({})], finder)[0]  # not proven: in review
    assert one.doc_type == "land_certificate" and one.confidence < 0.6


def test_one_long_field_label_of_the_model_type_names_it_under_the_threshold() -> None:
    cap = EvidenceConfig().unproven_cap
    long_label = Evidence({}, labels={"land_certificate": frozenset(
        {"nhung thay doi sau khi cap giay chung nhan"})})
    named = decide(GROUP, long_label)
    assert (named.doc_type, named.confidence) == ("land_certificate", cap)
    assert all(c.score <= cap for c in named.candidates)
    # a short label turns up in ordinary prose ("... tài nguyên, đơn vị ..."): no type
    short = Evidence({}, labels={"land_certificate": frozenset({"so vao so"})})
    assert decide(GROUP, short).doc_type == UNKNOWN
    # a long label of a type the model did not see names nothing
    other = Evidence({}, labels={"death_reg_form": frozenset({"quan he voi nguoi da chet"})})
    assert decide(GROUP, other).doc_type == UNKNOWN
    # nor one the model is unsure of ("lý lịch tư pháp" met in a letter's prose)
    unsure = replace(GROUP, confidence=0.25)
    assert decide(unsure, long_label).doc_type == UNKNOWN


def test_two_forms_proven_alike_go_the_model_way_whatever_the_order() -> None:
    """Labels of two forms on one paper prove both equally: the model's belief
    decides, never the order in which the evidence was gathered."""
    for order in (("authorization", "cadastral_extract"), ("cadastral_extract", "authorization")):
        out = decide(GROUP, Evidence(dict.fromkeys(order, 0.65)))
        assert out.doc_type == "cadastral_extract"  # the model's 0.02 against nothing


def _typed_page(lines: list[str]) -> PageText:
    return PageText(typed_lines(lines))


def test_field_labels_and_form_codes_prove_a_form_whose_title_is_unreadable(
    model: TrainedClassifier,
) -> None:
    finder = model.finder

    def proven(lines: list[str]) -> set[str]:
        page = _typed_page(lines)
        return set(finder.proven(finder.page(page, model.features(page))).strength)

    assert proven([]) == set()  # a page without words proves nothing (and does not fail)
    two = ["Quan hệ với người được khai sinh: Mẹ",
           "Ngày, tháng, năm sinh bằng chữ: Ngày ba tháng mười"]
    assert "birth_reg_form" in proven(two)
    assert "birth_reg_form" not in proven(two[:1])  # one label is not enough
    assert "residence_change_form" in proven(["Mẫu CT01 ban hành kèm theo Thông tư"])
    # what land papers outside the catalog share with the certificate proves nothing
    assert not proven(["Thửa đất số: 125", "Tờ bản đồ số: 7", "Diện tích: 56,7 m2",
                       "Mục đích sử dụng: Đất ở tại đô thị"])


def test_a_torn_title_page_makes_its_requirement_doubtful_not_missing(
    model: TrainedClassifier,
) -> None:
    """The medical birth certificate's title is torn off: whether it is taken for
    the form's continuation or for an unknown paper, birth_proof is not reported
    missing; the dossier goes to review."""
    catalog = load_catalog()
    form = simulated_reading(
        PageSpec(doc_type="birth_reg_form", typed=True, seed=21), seed=1, junk_words=0
    )
    medical = simulated_reading(
        PageSpec(doc_type="birth_certificate_medical", typed=True, seed=22, fields=3),
        seed=2, junk_words=0,
    )
    cut = 0.3 * medical.ocr.height
    torn = PageText(
        ocr=replace(medical.ocr, words=tuple(w for w in medical.ocr.words if w.top > cut)),
        layout=medical.layout,
    )
    outcomes = [
        PageOutcome(ref=PageRef(f"00{i}.jpg"), ocr=p.ocr, layout=p.layout, image_ref="x")
        for i, p in enumerate((form, torn), start=1)
    ]
    plan = plan_dossier(
        outcomes, classifier=model, procedure=catalog.procedure("birth_registration"),
        facts={}, review_threshold=0.6,
    )
    assert "birth_proof" not in plan.checklist.provably_missing
    assert plan.status == "needs_review"
