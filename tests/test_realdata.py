"""Issue 9's figures on the real development documents (``../shared/realdata-dev``).

The documents are never copied into the repository: the test reads them where
the workplace lays them beside the checkout, and is skipped where they are not.
Every file there is an official paper the catalog does not name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.realeval import evaluate_real, read_labels
from models.catalog import load_catalog
from pipeline.classify.trained import TrainedClassifier

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata-dev"

pytestmark = pytest.mark.skipif(
    not (REAL / "labels.tsv").is_file(), reason="real development documents not laid out here"
)


def test_real_documents_are_not_given_catalog_types_and_read_no_worse_than_raw() -> None:
    catalog = load_catalog()
    items = read_labels(REAL / "labels.tsv", REAL)
    ev = evaluate_real(REAL, items, TrainedClassifier.load(catalog), catalog, workers=2)
    f = ev.figures()
    assert f["crashed"] == 0 and f["processed"] >= f["files"] - 1
    assert f["unknown_pages"] >= 60
    assert f["unknown_given_catalog_type_rate"] <= 0.02
    assert f["boundary_agreement"] >= 0.95
    cer = f["cer"]
    assert len(cer) >= 5
    for path, c in cer.items():  # the bundle's text layer never reads worse than raw
        assert c["bundle"] <= c["raw_tesseract"], path
    assert cer["VietOCR3/vietsample1.tif"]["bundle"] <= 0.01
