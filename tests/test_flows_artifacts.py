"""What supervisors read first: the summary artifact tells what is missing, what might be,
what is uncertain and what was decided."""

from __future__ import annotations

from flows.artifacts import summary
from models.review import DocumentAnswer, ReviewAnswer
from models.schemas import Report
from pipeline.outcome import PageOutcome
from pipeline.types import PageRef
from tests.test_assemble import plan, report, titled_page
from tests.test_review import applied


def test_a_dossier_in_doubt_says_what_might_be_missing() -> None:
    bad = PageOutcome(ref=PageRef("002.jpg", 1), error="002.jpg is truncated")
    r = Report.model_validate(report(plan([titled_page("001.png", "TỜ KHAI ĐĂNG KÝ KHAI SINH"),
                                           bad])))
    assert r.status == "needs_review" and r.missing == ()
    text = summary(r)
    assert "Missing: nothing" in text  # nothing provably missing ...
    assert "Might be missing (a person must check): birth_proof" in text  # ... but this
    assert "## Uncertain (1)" in text and "page 002.jpg#1: 002.jpg is truncated" in text


def test_decisions_are_listed() -> None:
    p = plan([titled_page("001.png", "THƯ CẢM ƠN"),
              titled_page("002.png", "TỜ KHAI ĐĂNG KÝ KHAI SINH")])
    done = applied(p, ReviewAnswer(reviewer="Nguyễn Văn A", documents=(
        DocumentAnswer(document=0, doc_type="birth_certificate_medical"),)))
    text = summary(Report.model_validate(report(done)))
    assert "# X: complete" in text and "## Uncertain (0)" in text
    assert "Nguyễn Văn A: type bundle pages 1 unknown → birth_certificate_medical" in text


