"""Document separation: boundaries from titles, page numbers and content continuity."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lab.synth import PageSpec
from models.catalog import load_catalog
from pipeline.assemble import classify_pages
from pipeline.classify import PageText, fold
from pipeline.classify.features import N_LAYOUT, FeatureExtractor, PageFeatures
from pipeline.classify.separation import (
    BARE,
    BIAS,
    N_SEP,
    Separator,
    _sep_row,
    files_are_documents,
    segment,
)
from pipeline.classify.trained import TrainedClassifier
from tests.reading import simulated_reading, typed_lines

TYPES = ("a", "b", "design_drawings")


def feats(title: float, page_number: tuple[int, int] | None = None) -> PageFeatures:
    return PageFeatures(
        "", "", "", (title, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0,) * N_LAYOUT, page_number
    )


def title_rule() -> Separator:
    """Starts exactly when a title is found (weight on 'title >= 0.75', negative bias)."""
    w = np.zeros(N_SEP)
    w[1], w[BIAS] = 10.0, -5.0
    return Separator(w, TYPES)


def test_first_page_starts_and_untitled_pages_continue() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.5, 0.4, 0.1], [0.1, 0.85, 0.05]])
    seg = segment(title_rule(), [feats(0.0), feats(0.0), feats(0.9)], probs)
    assert seg.starts == (True, False, True)
    assert [g.page_indices for g in seg.groups] == [(0, 1), (2,)]
    assert [g.doc_type for g in seg.groups] == ["a", "b"]
    first = seg.groups[0]
    # confidence is the weaker of the type probability and the boundary certainty
    assert first.confidence <= 1.0 - seg.start_probs[1] + 1e-6
    assert first.candidates[0].doc_type == "a" and len(first.candidates) == 3


def test_bare_page_feature() -> None:
    """No title, motto or agency header: bare, unless the page reads as a drawing sheet."""
    open_p = np.array([0.9, 0.05, 0.05])
    row = _sep_row(feats(0.0), np.array([0.8, 0.1, 0.1]), open_p, 0, (2,))
    assert row[BARE] == 1.0 and row[BIAS] == 1.0
    assert _sep_row(feats(0.9), np.array([0.8, 0.1, 0.1]), open_p, 0, (2,))[BARE] == 0.0
    assert _sep_row(feats(0.0), np.array([0.1, 0.1, 0.8]), open_p, 0, (2,))[BARE] == 0.0
    shape = (0.0,) * 5 + (1.0,) + (0.0,) * (N_LAYOUT - 6)  # shape[5]: national motto
    motto = PageFeatures("", "", "", (0.0,) * 3, (0.0,) * 3, shape, None)
    assert _sep_row(motto, np.array([0.8, 0.1, 0.1]), open_p, 0, (2,))[BARE] == 0.0


def test_an_agency_header_is_a_line_that_opens_with_the_agency() -> None:
    """The separator's agency-header number (shape[6]): an addressee ("Kính gửi: Ủy ban
    nhân dân ...", at the top of a continuation page too) or a sentence naming an
    agency is no header; a page read as headed by an agency looks like a new document."""
    extract = FeatureExtractor(load_catalog()).extract
    body = ["Thửa đất đã được sử dụng ổn định, phù hợp với quy hoạch sử dụng đất."]
    headed = ["ỦY BAN NHÂN DÂN", "PHƯỜNG HÀNG BỒ", "Số: 690/GP", *body]
    assert extract(typed_lines(headed)).shape[6] == 1.0
    assert extract(typed_lines(["- BỆNH VIỆN BẠCH MAI", *body])).shape[6] == 1.0
    addressed = ["Kính gửi: Ủy ban nhân dân phường Kim Mã", *body]
    assert extract(typed_lines(addressed)).shape[6] == 0.0
    named = ["Giấy báo tử là căn cứ để đăng ký khai tử tại Ủy ban nhân dân cấp xã.", *body]
    assert extract(typed_lines(named)).shape[6] == 0.0


def test_document_type_weighs_the_first_page_most() -> None:
    probs = np.array([[0.9, 0.1, 0.0], [0.35, 0.65, 0.0], [0.35, 0.65, 0.0]])
    seg = segment(title_rule(), [feats(0.0)] * 3, probs)
    assert len(seg.groups) == 1 and seg.groups[0].doc_type == "a"


def _page(doc_type: str, seed: int, **kw: object) -> PageText:
    spec = PageSpec(
        doc_type=doc_type, typed=True, seed=seed, dpi=100, font="Liberation Serif", style=3, **kw
    )  # type: ignore[arg-type]
    return simulated_reading(spec, seed=seed, junk_words=2)


def test_shipped_model_separates_a_realistic_sequence() -> None:
    clf = TrainedClassifier.load(load_catalog())
    pages = [
        _page("lease_agreement", 501, page_number=(1, 3)),
        _page("lease_agreement", 502, continuation=True, page_number=(2, 3)),
        _page("lease_agreement", 503, continuation=True, page_number=(3, 3)),
        _page("citizen_id", 504),
        _page("citizen_id", 505),  # a second person's card: a new document
        _page("design_drawings", 506),
        _page("design_drawings", 507),  # the next sheet of the same drawing set
        _page("land_certificate", 508, title_fade=0.0),
    ]
    labels, groups = classify_pages(pages, clf)
    assert [(g.doc_type, g.page_indices) for g in groups] == [
        ("lease_agreement", (0, 1, 2)),
        ("citizen_id", (3,)),
        ("citizen_id", (4,)),
        ("design_drawings", (5, 6)),
        ("land_certificate", (7,)),
    ]
    assert [lb.starts_document for lb in labels] == [
        True,
        False,
        False,
        True,
        True,
        True,
        False,
        True,
    ]
    assert all(g.confidence >= 0.6 for g in groups)


def test_files_are_documents_only_when_some_file_has_several_pages() -> None:
    assert files_are_documents(["a.tif", "b.jpg", "c.png"]) is None  # one page per file
    assert files_are_documents([]) is None
    assert files_are_documents(["a.pdf", "a.pdf", "b.jpg", "c.pdf", "c.pdf"]) == (
        True, False, True, True, False
    )


def test_in_a_dossier_of_document_files_files_start_documents_and_stay_whole() -> None:
    model = TrainedClassifier.load(load_catalog())
    form = simulated_reading(
        PageSpec(doc_type="birth_reg_form", typed=True, seed=3), seed=1, junk_words=0
    )
    titled = simulated_reading(
        PageSpec(doc_type="land_certificate", typed=True, seed=4), seed=2, junk_words=0
    )
    bare = PageText(ocr=replace(form.ocr, words=form.ocr.words[-12:]), layout=form.layout)
    pages = [form, bare, bare, titled]
    sources = ["a.pdf", "a.pdf", "b.pdf", "b.pdf"]
    feats = [model.features(p) for p in pages]
    probs = model.probabilities(feats)
    seg = segment(model.separator, feats, probs, file_starts=files_are_documents(sources))
    # b.pdf starts with a bare page; inside it, a sure catalog title still opens one
    assert seg.starts[:3] == (True, False, True)
    assert max(feats[3].titles) >= 0.75 and seg.start_probs[3] >= 0.9
    assert seg.starts[3] is True
    # a page with the motto but no readable title, inside a file, stays in its
    # file's document even where the model alone would split there
    death = simulated_reading(
        PageSpec(doc_type="death_reg_form", typed=True, seed=5), seed=3, junk_words=0
    )
    title_line = {w.line_key for w in death.ocr.words if fold(w.text) == "khai"}
    untitled = PageText(
        ocr=replace(death.ocr, words=tuple(
            w for w in death.ocr.words if w.line_key not in title_line
        )),
        layout=death.layout,
    )
    f2 = [feats[0], model.features(untitled)]
    p2 = model.probabilities(f2)
    assert max(f2[1].titles) < 0.75
    assert segment(model.separator, f2, p2).starts[1] is True
    assert segment(model.separator, f2, p2, file_starts=(True, False)).starts[1] is False
    free = segment(model.separator, feats, probs)
    assert free.starts[2] is False  # without the files, the bare page continues
