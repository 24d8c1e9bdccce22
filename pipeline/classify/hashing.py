"""Hashed n-gram counts of texts: scikit-learn's ``HashingVectorizer``, without scikit-learn.

The classifier's text features are character n-grams within words (``char_wb``) and
word 1-2-grams, hashed with MurmurHash3 (32 bits, seed 0) into a fixed number of
columns, counted, then scaled to unit length: what ``HashingVectorizer(analyzer=...,
alternate_sign=False, norm="l2", lowercase=False)`` computes, to the bit
(tests/test_classify_hashing.py compares them). scikit-learn takes about half a second
of CPU to import (it loads SciPy's statistics), in every process that classifies a
page, where the whole transform needs one hash function (``mmh3``); it still trains
the model (``lab/``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import mmh3
import numpy as np
import scipy.sparse as sp

_INT32_MIN = -(2**31)


def char_wb_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams inside words, each word padded with one space either side
    (a word shorter than n counted once whole)."""
    low, high = ngram_range
    grams: list[str] = []
    for word in text.split():  # scikit-learn first folds runs of white space: the same words
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if size <= n:
                grams.append(padded)
                break
            grams.extend(padded[i:i + n] for i in range(size - n + 1))
    return grams


def word_ngrams(text: str, ngram_range: tuple[int, int], token_pattern: re.Pattern[str]
                ) -> list[str]:
    """The pattern's tokens and their n-grams joined by one space."""
    tokens = token_pattern.findall(text)
    low, high = ngram_range
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def _column(gram: str, n_features: int) -> int:
    h = mmh3.hash(gram, 0, signed=True)
    if h == _INT32_MIN:  # as scikit-learn's _hashing_fast (|-2**31| overflows an int32)
        return (2**31 - 1 - (n_features - 1)) % n_features
    return abs(h) % n_features


def hashed_counts(texts: Sequence[str], grams: Callable[[str], Iterable[str]],
                  n_features: int) -> sp.csr_matrix:
    """One row per text: its n-grams' counts by hashed column, scaled to unit length
    (an empty row stays zero)."""
    indptr: list[int] = [0]
    indices: list[int] = []
    data: list[float] = []
    for text in texts:
        row: Counter[int] = Counter()
        for gram, count in Counter(grams(text)).items():
            row[_column(gram, n_features)] += count
        columns = sorted(row)
        values = np.array([row[c] for c in columns], dtype=np.float64)
        norm = np.sqrt(np.sum(values * values))
        indices.extend(columns)
        data.extend(values / norm if norm else values)
        indptr.append(len(indices))
    return sp.csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int32),
                          np.asarray(indptr, dtype=np.int32)), shape=(len(texts), n_features))
