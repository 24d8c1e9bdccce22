"""Text metrics shared by the lab's measurements: character error rate."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from rapidfuzz.distance import Levenshtein


def normalise_text(text: str) -> str:
    """NFC, all whitespace runs -> one space, stripped."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: Levenshtein distance / reference length (normalised text)."""
    ref, hyp = normalise_text(reference), normalise_text(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)


def body_cer(body_text: str, ocr_text: str) -> float:
    """CER of the body against the stretch of the page's OCR text that matches it best.

    The OCR text of a whole page also holds the motto, title, signature...: this
    is the edit distance between the (normalised) body and the best-matching
    substring of the OCR text (semi-global alignment), over the body length.
    """
    ref, hyp = normalise_text(body_text), normalise_text(ocr_text)
    if not ref or not hyp:
        return cer(ref, hyp)
    a = np.frombuffer(ref.encode("utf-32-le"), dtype=np.uint32)
    b = np.frombuffer(hyp.encode("utf-32-le"), dtype=np.uint32)
    cols = np.arange(len(b) + 1, dtype=np.int64)
    row = np.zeros(len(b) + 1, dtype=np.int64)  # the match may start anywhere in hyp
    for i, ch in enumerate(a, start=1):
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[:-1] + (b != ch), row[1:] + 1)
        # insertions along the row: row[j] = min_k<=j best[k] + (j - k)
        row = np.minimum.accumulate(best - cols) + cols
    return float(row.min()) / len(a)
