"""The classifier's hashed n-grams equal scikit-learn's ``HashingVectorizer``, to the bit.

The shipped model was trained on scikit-learn's vectors: a column or a weight that
differs would silently change every decision. scikit-learn is the reference here
(it stays installed for training); the run time does not import it.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from lab.synth import PageSpec
from models.catalog import load_catalog
from pipeline.classify.features import FeatureExtractor, FeatureSpace
from pipeline.classify.hashing import char_wb_ngrams, hashed_counts, word_ngrams
from tests.reading import simulated_reading

WORD = re.compile(r"(?u)\b[a-z]{2,}\b")
EDGE_TEXTS = [
    "", "   ", "a", "ab", "abc", "a b  c\t\td\n\ne", "Cộng hòa xã hội chủ nghĩa Việt Nam",
    "giấy chứng nhận quyền sử dụng đất | số: 123/ab", "ĐĂNG KÝ KẾT HÔN\u00a0\u00a0 x",
    "dong 1\r\n  dong 2 \u3000 ba", "x" * 40, "😀 emoji ở đây", "ngày 01/02/2026 - trang 2/3",
]


def _random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạếềểễệốồổỗộớờởỡợ0123456789.,:/|-" + " " * 12
    spaces = [" ", "  ", "\n", "\t", " \n "]
    return ["".join(rng.choice(alphabet) if rng.random() > 0.05 else rng.choice(spaces)
                    for _ in range(rng.randint(0, 400))) for _ in range(n)]


def _same(ours: sp.csr_matrix, theirs: sp.csr_matrix) -> None:
    assert ours.shape == theirs.shape
    assert np.array_equal(ours.toarray(), theirs.toarray())  # exact, not approximately


@pytest.mark.parametrize(("ngrams", "bits"), [((2, 4), 14), ((3, 5), 14), ((2, 5), 13)])
def test_character_ngrams_hash_as_scikit_learn(ngrams: tuple[int, int], bits: int) -> None:
    texts = EDGE_TEXTS + _random_texts(40, seed=bits + ngrams[0])
    theirs = HashingVectorizer(analyzer="char_wb", ngram_range=ngrams, n_features=2**bits,
                               alternate_sign=False, norm="l2", lowercase=False)
    ours = hashed_counts(texts, lambda t: char_wb_ngrams(t, ngrams), 2**bits)
    _same(ours, theirs.transform(texts))


def test_word_ngrams_hash_as_scikit_learn() -> None:
    texts = EDGE_TEXTS + [t.replace("đ", "d") for t in _random_texts(40, seed=7)]
    theirs = HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=2**12,
                               alternate_sign=False, norm="l2", lowercase=False,
                               token_pattern=WORD.pattern)
    ours = hashed_counts(texts, lambda t: word_ngrams(t, (1, 2), WORD), 2**12)
    _same(ours, theirs.transform(texts))
    assert word_ngrams("ab cd ef", (2, 2), WORD) == ["ab cd", "cd ef"]


def test_the_feature_matrix_of_read_pages_is_the_one_the_model_was_trained_on() -> None:
    catalog = load_catalog()
    extract = FeatureExtractor(catalog).extract
    pages = [simulated_reading(PageSpec(doc_type=t, title=None, seed=i), seed=i, junk_words=2)
             for i, t in enumerate(["birth_reg_form", "citizen_id", "land_certificate"])]
    feats = [extract(p.ocr, p.layout) for p in pages]
    space = FeatureSpace(n_types=len(catalog.document_types), word_bits=12)
    kw = {"alternate_sign": False, "norm": "l2", "lowercase": False}
    reference = sp.hstack([
        HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), n_features=2**14, **kw)
        .transform([f.text_nfc for f in feats]),
        HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=2**14, **kw)
        .transform([f.text_folded for f in feats]),
        HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=2**13, **kw)
        .transform([f.title_zone for f in feats]) * 1.5,
        HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=2**12,
                          token_pattern=WORD.pattern, **kw).transform([f.text_folded
                                                                         for f in feats]),
        sp.csr_matrix(space.dense(feats)),
    ], format="csr")
    assert reference.nnz > 1000
    _same(space.matrix(feats), reference)


def test_classifying_does_not_import_scikit_learn() -> None:
    code = ("import sys\nfrom flows.dossier import page_classifier\npage_classifier()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"
