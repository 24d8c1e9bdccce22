"""Text normalisation for diacritic-insensitive matching of Vietnamese text.

``fold`` is the one normal form every matcher in the classifier compares:
compatibility-composed (NFKC, which includes NFC and also undoes OCR ligatures
such as "ﬁ"), lower case, Vietnamese diacritics removed (``đ`` -> ``d``), and
every run of punctuation/whitespace collapsed to one space.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_D_MAP = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def strip_diacritics(s: str) -> str:
    """Remove combining marks (tones, hats, horns, breves) and map đ -> d; keeps case."""
    decomposed = unicodedata.normalize("NFD", s)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare).translate(_D_MAP)


def fold(s: str) -> str:
    """Normal form for matching: NFKC, lower case, no diacritics, single spaces.

    >>> fold("GIẤY  CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, …")
    'giay chung nhan quyen su dung dat'
    """
    s = unicodedata.normalize("NFKC", s).lower()
    s = strip_diacritics(s)
    return _NON_WORD.sub(" ", s).strip()


def caps_ratio(s: str) -> float:
    """Share of letters in ``s`` that are upper case (0.0 when there are no letters)."""
    letters = [c for c in s if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if c.isupper()) / len(letters)
