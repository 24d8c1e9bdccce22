"""Checklist evaluation and dossier status."""

from __future__ import annotations

from models.catalog import load_catalog
from pipeline.checklist import ChecklistResult, decide_status, evaluate_checklist
from pipeline.classify import DocumentGroup
from pipeline.types import Candidate

MIN = 0.75


def doc(doc_type: str, conf: float = 0.95, *cands: str) -> DocumentGroup:
    return DocumentGroup(doc_type, (0,), conf, tuple(Candidate(c, 0.6) for c in cands))


def run(
    procedure: str, docs: list[DocumentGroup], facts: dict[str, bool] | None = None
) -> ChecklistResult:
    return evaluate_checklist(
        load_catalog().procedure(procedure), docs, facts or {}, min_confidence=MIN
    )


def statuses(res: ChecklistResult) -> dict[str, tuple[str, tuple[int, ...]]]:
    return {it.requirement: (it.status, it.documents) for it in res.items}


def test_complete_birth_registration() -> None:
    docs = [doc("birth_reg_form"), doc("birth_certificate_medical"), doc("citizen_id")]
    res = run("birth_registration", docs)
    assert statuses(res) == {
        "form": ("satisfied", (0,)),
        "birth_proof": ("satisfied", (1,)),
        "authorization": ("not_applicable", ()),
        "identity": ("optional", (2,)),
    }
    assert res.missing == () and res.extras == ()
    assert decide_status(res, uncertain=False) == "complete"
    assert decide_status(res, uncertain=True) == "needs_review"


def test_one_of_requirement_accepts_any_listed_type() -> None:
    for proof in ("birth_certificate_medical", "birth_witness_statement", "birth_self_declaration"):
        res = run("birth_registration", [doc("birth_reg_form"), doc(proof)])
        assert statuses(res)["birth_proof"] == ("satisfied", (1,))
    res = run(
        "permanent_residence",
        [doc("residence_change_form"), doc("lease_agreement"), doc("land_certificate")],
    )
    assert statuses(res)["lawful_residence"] == ("satisfied", (1, 2))


def test_required_item_missing_makes_the_dossier_incomplete() -> None:
    res = run("birth_registration", [doc("birth_reg_form")])
    assert statuses(res)["birth_proof"] == ("missing", ())
    assert res.missing == ("birth_proof",) and res.doubtful == ()
    assert decide_status(res, uncertain=False) == "incomplete"
    assert decide_status(res, uncertain=True) == "incomplete"  # provably missing wins


def test_conditional_requirement_follows_the_fact() -> None:
    docs = [doc("birth_reg_form"), doc("birth_certificate_medical")]
    assert statuses(run("birth_registration", docs, {"by_representative": True}))[
        "authorization"
    ] == (
        "missing",
        (),
    )
    assert statuses(run("birth_registration", docs, {"by_representative": False}))["authorization"][
        0
    ] == ("not_applicable")
    with_auth = run(
        "birth_registration", [*docs, doc("authorization")], {"by_representative": True}
    )
    assert statuses(with_auth)["authorization"] == ("satisfied", (2,))


def test_not_applicable_item_still_lists_a_present_document_and_it_is_no_extra() -> None:
    res = run(
        "birth_registration",
        [doc("birth_reg_form"), doc("birth_certificate_medical"), doc("authorization")],
    )
    assert statuses(res)["authorization"] == ("not_applicable", (2,))
    assert res.extras == ()
    assert decide_status(res, uncertain=False) == "complete"


def test_optional_is_never_missing() -> None:
    res = run("birth_registration", [doc("birth_reg_form"), doc("birth_witness_statement")])
    assert statuses(res)["identity"] == ("optional", ())
    assert "identity" not in res.missing
    assert decide_status(res, uncertain=False) == "complete"


def test_extras_are_listed_and_not_errors() -> None:
    docs = [
        doc("birth_reg_form"),
        doc("land_certificate"),
        doc("birth_self_declaration"),
        doc("unknown", 0.0),
    ]
    res = run("birth_registration", docs)
    assert res.extras == (1, 3)
    assert res.missing == ()
    assert decide_status(res, uncertain=True) == "needs_review"  # the unknown document is uncertain


def test_missing_item_possibly_hidden_in_an_uncertain_document_needs_review() -> None:
    # an unreadable document whose candidates include the missing type
    docs = [doc("birth_reg_form"), doc("unknown", 0.0, "birth_self_declaration")]
    res = run("birth_registration", docs)
    item = {it.requirement: it for it in res.items}["birth_proof"]
    assert item.status == "missing" and item.possible == (1,)
    assert res.doubtful == ("birth_proof",) and res.provably_missing == ()
    assert decide_status(res, uncertain=True) == "needs_review"
    assert decide_status(res, uncertain=False) == "needs_review"


def test_confident_documents_do_not_create_doubt() -> None:
    # a confident land certificate whose runner-up was the missing type: still provably missing
    docs = [doc("birth_reg_form"), doc("land_certificate", 0.95, "birth_self_declaration")]
    res = run("birth_registration", docs)
    assert res.doubtful == () and decide_status(res, uncertain=False) == "incomplete"


def test_low_confidence_document_of_the_missing_type_elsewhere_does_not_hide_other_gaps() -> None:
    docs = [doc("birth_reg_form", 0.5, "birth_certificate")]  # uncertain, but no proof candidate
    res = run("birth_registration", docs)
    assert statuses(res)["form"] == ("satisfied", (0,))
    assert res.provably_missing == ("birth_proof",)
    assert decide_status(res, uncertain=True) == "incomplete"


def test_every_procedure_is_complete_with_one_document_per_requirement() -> None:
    cat = load_catalog()
    for proc in cat.procedures:
        facts = dict.fromkeys(proc.facts_used(), True)
        docs = [doc(r.any_of[0]) for r in proc.requirements]
        res = evaluate_checklist(proc, docs, facts, min_confidence=MIN)
        assert res.missing == () and res.extras == (), proc.id
        assert decide_status(res, uncertain=False) == "complete"
        empty = evaluate_checklist(proc, [], facts, min_confidence=MIN)
        required = [r.id for r in proc.requirements if r.kind == "required"]
        assert empty.missing == tuple(required), proc.id
        assert decide_status(empty, uncertain=False) == "incomplete"
