"""Typed synthetic pages (every catalog type, cards, drawings, tables) and labelled corpora."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from lab.synth import PageSpec, outside, render_page
from lab.synth.corpus import (
    HELDOUT_FONTS,
    LABELS_FILE,
    TRAIN_FONTS,
    CorpusConfig,
    heldout_config,
    page_truth,
    sample_dossier,
    write_labelled,
)
from lab.synth.doctypes import BY_TYPE
from models.catalog import load_catalog
from pipeline.checklist import evaluate_checklist
from pipeline.classify.group import DocumentGroup
from pipeline.classify.layout import layout_features


def typed(doc_type: str, **kw: object) -> PageSpec:
    return PageSpec(doc_type=doc_type, typed=True, dpi=100, **kw)  # type: ignore[arg-type]


def test_every_catalog_type_has_a_profile() -> None:
    assert set(BY_TYPE) == {dt.id for dt in load_catalog().document_types}


@pytest.mark.parametrize("doc_type", sorted(BY_TYPE))
def test_typed_title_page_prints_a_catalog_like_title(doc_type: str) -> None:
    page = render_page(typed(doc_type, seed=3, fields=6, body_paragraphs=1))
    assert page.title in BY_TYPE[doc_type].titles
    if BY_TYPE[doc_type].layout != "card":
        assert page.title.upper() in page.all_text.replace("\n", " ") or any(
            line in page.title.upper() for line in page.all_text.splitlines()
        )


def test_typed_rendering_is_deterministic() -> None:
    spec = typed("land_certificate", seed=11, style=2, page_number=(1, 2))
    a, b = render_page(spec), render_page(spec)
    assert a.image.tobytes() == b.image.tobytes() and a.all_text == b.all_text


def test_card_page_has_photo_and_machine_readable_zone() -> None:
    page = render_page(typed("citizen_id", seed=5))
    text = page.all_text
    assert "CĂN CƯỚC" in text and "IDVNM" in text and "Đặc điểm nhân dạng" in text
    lay = layout_features(page.image, 100)
    form = layout_features(render_page(typed("birth_reg_form", seed=5)).image, 100)
    assert lay.photo > form.photo + 0.005  # the dark photo box
    passport = render_page(typed("passport", seed=5))
    assert "P<VNM" in passport.all_text


def test_drawing_has_a_title_block_and_many_rules() -> None:
    page = render_page(typed("design_drawings", seed=2))
    assert "Tỷ lệ" in page.all_text and "Bản vẽ số" in page.all_text
    assert page.title and page.title.startswith("BẢN VẼ")
    lay = layout_features(page.image, 100)
    text = layout_features(render_page(typed("authorization", seed=2)).image, 100)
    assert lay.hlines + lay.vlines > 3 * (text.hlines + text.vlines)


def test_table_continuation_page_number_and_seal() -> None:
    tax = render_page(typed("tax_payment_receipt", seed=4, fields=4))
    assert "Mã chương" in tax.all_text and "STT" in tax.all_text
    cont = render_page(typed("lease_agreement", seed=4, continuation=True, page_number=(2, 3)))
    assert cont.title is None
    assert "Trang 2/3" in cont.all_text or "- 2 -" in cont.all_text
    assert "CỘNG HÒA" not in cont.all_text
    issued = layout_features(render_page(typed("building_permit", seed=4)).image, 100)
    assert issued.red > 0.001


def test_faint_title_is_lighter() -> None:
    def title_ink(fade: float) -> float:
        page = render_page(typed("judicial_record_form", seed=8, style=0, title_fade=fade))
        i = page.all_text.splitlines().index(page.title)
        x0, y0, x1, y1 = page.line_boxes[i]
        return float(np.mean(page.image[y0:y1, x0:x1] < 128))

    assert title_ink(0.6) < 0.6 * title_ink(0.0)


def test_sampled_dossiers_are_deterministic_and_consistent() -> None:
    catalog = load_catalog()
    cfg = CorpusConfig()
    for seed in range(30):
        plan = sample_dossier(catalog, seed, cfg)
        assert plan == sample_dossier(catalog, seed, cfg)
        assert all(p.font in TRAIN_FONTS for d in plan.documents for p in d.pages)
        docs = [DocumentGroup(d.doc_type, (i,), 1.0) for i, d in enumerate(plan.documents)]
        check = evaluate_checklist(
            catalog.procedure(plan.procedure), docs, plan.facts, min_confidence=0.6
        )
        assert set(check.missing) == set(plan.missing)
        truth = page_truth(plan)
        assert truth[0]["starts"] is True
        assert sum(bool(t["starts"]) for t in truth) == len(plan.documents)
    held = sample_dossier(catalog, 5, heldout_config())
    assert all(p.font in HELDOUT_FONTS and p.style == 3 for d in held.documents for p in d.pages)


def test_write_labelled_dossier(tmp_path) -> None:
    plan = sample_dossier(load_catalog(), 3, CorpusConfig(blank_rate=1.0, dpi=100))
    folder = write_labelled(tmp_path, plan)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    labels = json.loads((folder / LABELS_FILE).read_text(encoding="utf-8"))
    assert len(manifest["pages"]) == len(labels["pages"])
    assert all((folder / name).is_file() for name in manifest["pages"])
    assert "blank" in {p["doc_type"] for p in labels["pages"]}
    assert labels["missing"] == list(plan.missing)


def test_papers_outside_the_catalog_are_labelled_unknown(tmp_path) -> None:
    catalog = load_catalog()
    for kind, profile in outside.BY_KIND.items():
        page = render_page(typed(kind, seed=2))
        assert page.title in profile.titles and outside.truth(kind) == "unknown"
    realistic = heldout_config(realistic=True)
    plans = [sample_dossier(catalog, s, realistic) for s in range(20)]
    assert sum(any(d.doc_type.startswith("other:") for d in p.documents) for p in plans) >= 8
    for plan in plans:  # outside papers never change what is missing
        docs = [DocumentGroup(outside.truth(d.doc_type), (i,), 1.0)
                for i, d in enumerate(plan.documents)]
        check = evaluate_checklist(
            catalog.procedure(plan.procedure), docs, plan.facts, min_confidence=0.6
        )
        assert set(check.missing) == set(plan.missing)
    # the default corpora are unchanged by the option: no outside paper in them
    assert not any(d.doc_type.startswith("other:")
                   for s in range(40) for d in sample_dossier(catalog, s, CorpusConfig()).documents)
    plan = next(p for p in plans if any(d.doc_type.startswith("other:") for d in p.documents))
    small = tuple(
        replace(d, pages=tuple(s.model_copy(update={"dpi": 100}) for s in d.pages))
        for d in plan.documents
    )
    folder = write_labelled(tmp_path, replace(plan, documents=small))
    labels = json.loads((folder / LABELS_FILE).read_text(encoding="utf-8"))
    assert "unknown" in {p["doc_type"] for p in labels["pages"]}
    assert not any(str(p["doc_type"]).startswith("other:") for p in labels["pages"])
