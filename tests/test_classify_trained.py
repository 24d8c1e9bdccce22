"""Trained classifier: reproducible training, artifact integrity, shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lab.ocrsim import corrupt
from lab.synth import PageSpec
from lab.training import TrainConfig, train
from models.catalog import load_catalog
from pipeline.classify import PageClassifier, PageText, TitleClassifier
from pipeline.classify.trained import (
    DEFAULT_DIR,
    MANIFEST,
    TrainedClassifier,
    classifier_version,
    default_classifier,
    load_model,
    save_model,
)
from pipeline.errors import CatalogError, ModelArtifactError
from tests.reading import simulated_reading

TINY = TrainConfig(dossiers=8, seed=3, workers=1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    save_model(train(load_catalog(), TINY), folder)
    return folder


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def test_training_is_reproducible(tiny: Path, tmp_path: Path) -> None:
    save_model(train(load_catalog(), TINY), tmp_path)
    assert _manifest(tmp_path)["weights"]["sha256"] == _manifest(tiny)["weights"]["sha256"]


def test_saved_artifact_has_one_weights_file_named_by_content(tiny: Path, tmp_path: Path) -> None:
    weights = load_model(tiny, load_catalog())
    save_model(weights, tmp_path)
    first = _manifest(tmp_path)["weights"]["file"]
    changed = type(weights)(
        **{
            **weights.__dict__,
            "temperature": weights.temperature * 2,
            "intercept": weights.intercept + 1.0,
        }
    )
    save_model(changed, tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted([MANIFEST, _manifest(tmp_path)["weights"]["file"]])
    assert _manifest(tmp_path)["weights"]["file"] != first
    assert not list(tmp_path.glob(".*tmp"))


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_corrupt_weights_are_a_clear_error(tiny: Path, tmp_path: Path) -> None:
    folder = _copy(tiny, tmp_path / "m")
    wfile = folder / _manifest(folder)["weights"]["file"]
    data = bytearray(wfile.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wfile.write_bytes(bytes(data))
    with pytest.raises(ModelArtifactError, match="corrupt"):
        TrainedClassifier.load(load_catalog(), folder)
    wfile.unlink()
    with pytest.raises(ModelArtifactError, match="missing or corrupt"):
        default_classifier(load_catalog(), folder)  # present manifest: no silent fallback


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 99}, "format 99 is not supported"),
        ({"types": ["birth_reg_form"]}, "other document types"),
        ({"weights": None}, "unreadable"),
    ],
)
def test_incompatible_manifest_is_a_clear_error(
    tiny: Path, tmp_path: Path, change: dict, message: str
) -> None:
    folder = _copy(tiny, tmp_path / "m")
    manifest = {**_manifest(folder), **change}
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelArtifactError, match=message) as info:
        TrainedClassifier.load(load_catalog(), folder)
    assert isinstance(info.value, CatalogError) and not info.value.retryable


def test_a_model_without_word_ngrams_still_loads(tmp_path: Path) -> None:
    """Artifacts written before the word n-gram block (no ``word_bits``) and the
    bare-page separator feature (16 separator weights) load and work as they did."""
    cfg = TINY.model_copy(update={"word_bits": 0, "dossiers": 4})
    save_model(train(load_catalog(), cfg), tmp_path)
    weights = load_model(tmp_path, load_catalog())
    old = type(weights)(**{**weights.__dict__, "sep_weights": weights.sep_weights[:16]})
    save_model(old, tmp_path)  # as written before the bare-page separator feature
    manifest = _manifest(tmp_path)
    assert manifest["space"].pop("word_bits") == 0
    (tmp_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    clf = TrainedClassifier.load(load_catalog(), tmp_path)
    assert clf.weights.space.word_bits == 0
    assert clf.weights.coef.shape[1] == clf.weights.space.n_features()
    assert clf.weights.sep_weights[-1] == 0.0
    page = _read(PageSpec(doc_type="birth_certificate", seed=5, dpi=100))
    # the old model still ranks catalog types (the open-set decision may call it unknown)
    assert clf.classify(page).candidates[0].doc_type in clf.weights.types
    labels, groups = clf.separate([page, page])
    assert len(labels) == 2 and groups


def test_shipped_model_reads_word_ngrams() -> None:
    assert TrainedClassifier.load(load_catalog()).weights.space.word_bits > 0


def test_without_an_artifact_the_title_rules_are_used(tmp_path: Path) -> None:
    clf = default_classifier(load_catalog(), tmp_path)
    assert isinstance(clf, TitleClassifier)
    assert classifier_version(clf) == "title-rules"


def test_classifier_version_names_the_weights(tiny: Path) -> None:
    sha = _manifest(tiny)["weights"]["sha256"]
    assert classifier_version(TrainedClassifier.load(load_catalog(), tiny)) == f"trained:{sha[:12]}"


def _read(spec: PageSpec, seed: int = 0) -> PageText:
    return simulated_reading(spec, seed=seed, junk_words=3)


def test_shipped_model_loads_and_classifies_fast_enough_to_matter() -> None:
    catalog = load_catalog()
    assert (DEFAULT_DIR / MANIFEST).is_file(), "a trained model must be shipped"
    clf = default_classifier(catalog)
    assert isinstance(clf, TrainedClassifier) and isinstance(clf, PageClassifier)
    for doc_type, layout in [
        ("marriage_certificate", None),
        ("citizen_id", None),
        ("design_drawings", None),
        ("tax_payment_receipt", None),
    ]:
        spec = PageSpec(
            doc_type=doc_type,
            typed=True,
            seed=77,
            dpi=100,
            font="Noto Sans",
            style=3,
            layout=layout,
        )
        label = clf.classify(_read(spec))
        assert label.doc_type == doc_type, label
        assert 0.0 < label.confidence <= 1.0 and label.candidates[0].doc_type == doc_type
        probs = [c.score for c in label.candidates]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0 + 1e-6


def test_noise_model_corrupts_at_about_the_asked_rate() -> None:
    import random

    from lab.metrics import cer

    text = "Tôi cam đoan những nội dung khai trên đây là đúng sự thật " * 20
    assert corrupt(text, 0.0, random.Random(1)) == text
    rates = [cer(text, corrupt(text, 0.05, random.Random(s))) for s in range(5)]
    assert 0.02 < float(np.mean(rates)) < 0.08
