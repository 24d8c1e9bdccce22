"""Grouping page labels into documents."""

from __future__ import annotations

import pytest

from pipeline.classify import DocumentGroup, group_documents
from pipeline.classify.group import CONFLICT_FACTOR
from pipeline.types import Candidate, PageLabel


def title(doc_type: str, conf: float = 0.95) -> PageLabel:
    return PageLabel(doc_type, conf, True, (Candidate(doc_type, conf),))


def cont(doc_type: str = "unknown", conf: float = 0.0, *cands: Candidate) -> PageLabel:
    return PageLabel(doc_type, conf, False, tuple(cands))


def test_no_pages_no_documents() -> None:
    assert group_documents([]) == ()


def test_continuation_pages_join_the_previous_document() -> None:
    groups = group_documents([title("birth_reg_form"), cont(), title("citizen_id"), cont(), cont()])
    assert [(g.doc_type, g.page_indices) for g in groups] == [
        ("birth_reg_form", (0, 1)),
        ("citizen_id", (2, 3, 4)),
    ]
    assert all(g.confidence == 0.95 for g in groups)


def test_leading_untitled_pages_form_an_unknown_document() -> None:
    hint = Candidate("authorization", 0.3)
    groups = group_documents([cont(), cont("authorization", 0.3, hint), title("death_notice")])
    assert groups[0] == DocumentGroup("unknown", (0, 1), 0.0, (hint,))
    assert (groups[1].doc_type, groups[1].page_indices) == ("death_notice", (2,))


def test_two_titled_pages_of_the_same_type_are_two_documents() -> None:
    groups = group_documents([title("citizen_id"), title("citizen_id")])
    assert [g.page_indices for g in groups] == [(0,), (1,)]


def test_continuation_that_looks_like_another_type_lowers_confidence() -> None:
    groups = group_documents(
        [title("authorization", 0.9), cont("passport", 0.3, Candidate("passport", 0.3)), cont()]
    )
    (g,) = groups
    assert g.page_indices == (0, 1, 2)
    assert g.confidence == pytest.approx(0.9 * CONFLICT_FACTOR, abs=1e-4)
    assert "passport" in {c.doc_type for c in g.candidates}
    # a continuation guessing the same type does not lower it
    (same,) = group_documents([title("authorization", 0.9), cont("authorization", 0.3)])
    assert same.confidence == 0.9
    (twice,) = group_documents(
        [title("authorization", 0.9), cont("passport", 0.3), cont("passport", 0.3)]
    )
    assert twice.confidence == pytest.approx(0.9 * CONFLICT_FACTOR**2, abs=1e-4)


def test_group_candidates_are_the_best_three() -> None:
    label = PageLabel(
        "land_certificate",
        0.8,
        True,
        (
            Candidate("land_certificate", 0.8),
            Candidate("building_permit", 0.6),
            Candidate("passport", 0.5),
        ),
    )
    (g,) = group_documents(
        [label, cont("cadastral_extract", 0.3, Candidate("cadastral_extract", 0.3))]
    )
    assert [c.doc_type for c in g.candidates] == ["land_certificate", "building_permit", "passport"]
