"""A supervisor's answer applied to a dossier plan: types, splits, merges, unreadable pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.catalog import load_catalog
from models.review import DocumentAnswer, PageAnswer, ReviewAnswer
from models.schemas import Report
from pipeline.assemble import Plan
from pipeline.outcome import PageOutcome
from pipeline.review import EXPIRED_REVIEWER, ReviewError, apply_review
from pipeline.types import PageRef
from tests.test_assemble import plan, report, titled_page

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
FORM = "TỜ KHAI ĐĂNG KÝ KHAI SINH"
PROOF = "GIẤY CHỨNG SINH"


def answer(*documents: DocumentAnswer, pages: tuple[PageAnswer, ...] = (),
           reviewer: str = "Nguyễn Văn A") -> ReviewAnswer:
    return ReviewAnswer(reviewer=reviewer, note="checked the paper", documents=documents,
                        pages=pages)


def applied(p: Plan, a: ReviewAnswer) -> Plan:
    catalog = load_catalog()
    return apply_review(p, a, doc_types=catalog.doc_type_ids,
                        procedure=catalog.procedure("birth_registration"), facts={},
                        review_threshold=0.6, at=AT)


def continuation(name: str) -> PageOutcome:
    """A page with no title: it continues the document before it."""
    return titled_page(name, "và những nội dung khác")


def test_typing_an_uncertain_document_completes_the_dossier_and_is_recorded() -> None:
    letter = titled_page("001.png", "THƯ CẢM ƠN")  # no evidence of any type: unknown
    p = plan([letter, titled_page("002.png", FORM)])
    assert p.status == "incomplete" and [d.doc_type for d in p.documents] == [
        "unknown", "birth_reg_form"]
    done = applied(p, answer(DocumentAnswer(document=0, doc_type="birth_certificate_medical")))
    assert done.status == "complete"
    assert [(d.doc_type, d.confidence) for d in done.documents] == [
        ("birth_certificate_medical", 1.0), ("birth_reg_form", p.documents[1].confidence)]
    r = Report.model_validate(report(done))
    assert r.status == "complete" and r.missing == () and r.review == ()
    (d,) = r.decisions
    assert (d.reviewer, d.action, d.from_, d.to, d.target, d.at) == (
        "Nguyễn Văn A", "type", "unknown", "birth_certificate_medical", "bundle pages 1", AT)
    assert report(done)["decisions"][0]["from"] == "unknown"  # the JSON says "from"


def test_a_split_starts_a_new_document_at_the_page_given() -> None:
    p = plan([titled_page("001.png", FORM), continuation("002.png")])
    assert [d.page_indices for d in p.documents] == [(0, 1)]
    done = applied(p, answer(DocumentAnswer(document=0, doc_type="birth_certificate_medical",
                                            from_page=2)))
    assert [(d.doc_type, d.page_indices) for d in done.documents] == [
        ("birth_reg_form", (0,)), ("birth_certificate_medical", (1,))]
    assert done.status == "complete"
    assert [(x.action, x.target) for x in done.decisions] == [("split", "bundle pages 2")]


def test_a_merge_joins_a_document_to_the_one_before() -> None:
    p = plan([titled_page("001.png", "THƯ CẢM ƠN"), titled_page("002.png", FORM),
              titled_page("003.png", PROOF)])
    done = applied(p, answer(DocumentAnswer(document=1, doc_type="birth_reg_form",
                                            merge_with_previous=True)))
    assert [(d.doc_type, d.page_indices) for d in done.documents] == [
        ("birth_reg_form", (0, 1)), ("birth_certificate_medical", (2,))]
    assert done.decided == frozenset({0})
    (d,) = done.decisions
    assert (d.action, d.from_, d.to, d.target) == (
        "merge", "unknown + birth_reg_form", "birth_reg_form", "bundle pages 1-2")


def test_an_unreadable_page_left_out_makes_the_missing_item_provable() -> None:
    bad = PageOutcome(ref=PageRef("002.jpg", 1), error="002.jpg is truncated")
    p = plan([titled_page("001.png", FORM), bad])
    assert p.status == "needs_review"
    done = applied(p, answer(pages=(PageAnswer(page=1, action="leave_out"),)))
    assert done.status == "incomplete" and done.review_pages == ()
    r = Report.model_validate(report(done))
    assert r.missing == ("birth_proof",) and r.rescan == ()
    assert [(x.action, x.target) for x in r.decisions] == [("leave_out", "page 002.jpg#1")]


def test_a_page_sent_back_for_scanning_makes_the_dossier_incomplete() -> None:
    bad = PageOutcome(ref=PageRef("003.jpg", 1), error="003.jpg is truncated")
    p = plan([titled_page("001.png", FORM), titled_page("002.png", PROOF), bad])
    assert p.status == "needs_review"
    done = applied(p, answer(pages=(PageAnswer(page=2, action="rescan_needed"),)))
    assert done.status == "incomplete"
    r = Report.model_validate(report(done))
    assert r.rescan == ("003.jpg#1",) and r.missing == () and r.review == ()


def test_an_expired_review_changes_nothing_but_says_so() -> None:
    p = plan([titled_page("001.png", FORM), titled_page("002.png", "THƯ CẢM ƠN")])
    done = applied(p, ReviewAnswer(reviewer=EXPIRED_REVIEWER, note="no answer within 60 min"))
    assert done.status == p.status and done.documents == p.documents
    assert [d.action for d in done.decisions] == ["expired"]


@pytest.mark.parametrize(("bad", "says"), [
    (answer(DocumentAnswer(document=5, doc_type="unknown")), "has 2 documents"),
    (answer(DocumentAnswer(document=1, doc_type="passport_x")), "not a catalog type"),
    (answer(DocumentAnswer(document=1, doc_type="unknown", from_page=1)), "not one of its pages"),
    (answer(DocumentAnswer(document=0, doc_type="unknown", merge_with_previous=True)),
     "nothing to merge"),
    (answer(DocumentAnswer(document=1, doc_type="unknown"),
            DocumentAnswer(document=1, doc_type="birth_reg_form")), "answered twice"),
    (answer(pages=(PageAnswer(page=0, action="leave_out"),)), "only an unreadable page"),
])
def test_answers_that_do_not_fit_the_dossier_are_refused(bad: ReviewAnswer, says: str) -> None:
    p = plan([titled_page("001.png", "THƯ CẢM ƠN"), titled_page("002.png", FORM)])
    with pytest.raises(ReviewError, match=says):
        applied(p, bad)


def test_an_empty_reviewer_is_no_answer() -> None:
    with pytest.raises(ValueError):
        ReviewAnswer(reviewer="")
