"""Status rules of a dossier plan: what counts as provably missing."""

from __future__ import annotations

from datetime import UTC, datetime

from models.catalog import load_catalog
from pipeline.assemble import plan_dossier
from pipeline.classify.titles import TitleClassifier
from pipeline.outcome import PageOutcome
from pipeline.report import build_report
from pipeline.types import OcrResult, PageRef, Word


def titled_page(name: str, title: str) -> PageOutcome:
    words = tuple(
        Word(text=t, left=300 + 200 * i, top=400, width=180, height=60, conf=95.0, line=1)
        for i, t in enumerate(title.split())
    ) + tuple(
        Word(text=t, left=200 + 150 * i, top=900, width=130, height=35, conf=95.0, line=2)
        for i, t in enumerate(["Họ", "và", "tên", "người", "yêu", "cầu"])
    )
    ocr = OcrResult(words=words, width=2480, height=3508, dpi=300, mean_conf=95.0)
    return PageOutcome(ref=PageRef(name, 1), ocr=ocr, image_ref=f"/nowhere/{name}", dpi=300)


def plan(outcomes: list[PageOutcome]):  # type: ignore[no-untyped-def]
    catalog = load_catalog()
    return plan_dossier(outcomes, classifier=TitleClassifier(catalog),
                        procedure=catalog.procedure("birth_registration"), facts={},
                        review_threshold=0.6)


def report(p) -> dict:  # type: ignore[no-untyped-def]
    return build_report(p, dossier_id="X", procedure_id="birth_registration", branch="b",
                        facts={}, bundle_sha256=None, generated_at=datetime.now(UTC),
                        engine={}).model_dump(mode="json")


def test_missing_item_with_all_pages_read_is_incomplete() -> None:
    p = plan([titled_page("001.png", "TỜ KHAI ĐĂNG KÝ KHAI SINH")])
    assert p.status == "incomplete"
    assert report(p)["missing"] == ["birth_proof"]


def test_missing_item_with_an_unreadable_page_needs_review() -> None:
    p = plan([titled_page("001.png", "TỜ KHAI ĐĂNG KÝ KHAI SINH"),
              PageOutcome(ref=PageRef("002.jpg", 1), error="002.jpg is truncated")])
    assert p.status == "needs_review"
    r = report(p)
    assert r["missing"] == []
    assert {c["requirement"]: c["status"] for c in r["checklist"]}["birth_proof"] == "missing"
    assert [item["kind"] for item in r["review"]] == ["page"]


def test_every_page_unreadable_is_rejected() -> None:
    p = plan([PageOutcome(ref=PageRef("001.jpg", 1), error="truncated")])
    assert p.status == "rejected" and p.reason


def test_an_unknown_paper_that_can_satisfy_nothing_missing_is_no_question() -> None:
    letter = titled_page("001.png", "THƯ CẢM ƠN")  # no catalog title, no cue: unknown
    form = titled_page("002.png", "TỜ KHAI ĐĂNG KÝ KHAI SINH")
    proof = titled_page("003.png", "GIẤY CHỨNG SINH")
    p = plan([letter, form, proof])
    assert [d.doc_type for d in p.documents] == [
        "unknown", "birth_reg_form", "birth_certificate_medical"
    ]
    assert p.checklist.extras == (0,)
    assert p.status == "complete" and p.review_documents == ()
    assert report(p)["review"] == []
