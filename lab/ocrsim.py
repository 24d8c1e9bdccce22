"""A model of Tesseract's errors, to train on rendered text without running OCR.

Reading thousands of generated pages with Tesseract takes hours on two cores;
instead, training pages are rendered at low resolution and their known text
lines (with boxes) are turned into an :class:`~pipeline.types.OcrResult`
through this noise model. Its rates were set by hand against real Tesseract
readings of 56 degraded, cleaned 300-dpi synthetic pages: body text is read
almost perfectly (CER well under 1%), small card text (< 8 pt) and faint
titles much worse, seals and signatures add a few junk "words", and now and
then a line is lost or two are merged.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.types import OcrResult, Word

# Visual confusions seen in Tesseract vie output (one direction each is enough).
_CONFUSE = {
    "ư": "u",
    "ơ": "o",
    "ă": "a",
    "â": "a",
    "ê": "e",
    "ô": "o",
    "đ": "d",
    "Đ": "D",
    "l": "1",
    "I": "l",
    "O": "0",
    "0": "O",
    "rn": "m",
    "m": "rn",
    "ó": "ỏ",
    "ộ": "ô",
    "ị": "i",
    "ạ": "a",
    "ệ": "ê",
    "ễ": "ê",
    "ừ": "ư",
    "ờ": "ơ",
    "c": "e",
    "e": "c",
    "h": "b",
    "5": "S",
    "1": "l",
    ",": ".",
    ".": ",",
    "Ầ": "Â",
    "Ơ": "O",
    "Ư": "U",
    "Ế": "É",
}
_JUNK = ("—", "|", "ị", "Ầ", "ẻ", "`", "'", "~", "ˆ", "..", "ñ", "x", "ÿ", "=", "®", "ạ")


@dataclass(frozen=True)
class NoiseLevel:
    """Per-page noise parameters (drawn by :func:`page_noise`)."""

    char: float  # per-character error rate of normal body text
    small: float  # extra rate for text under ~8 pt (cards, title blocks)
    line_drop: float  # a whole line lost
    junk_words: int  # junk "words" from seals, signatures, photos, rules
    conf: float  # typical word confidence


def page_noise(rng: random.Random) -> NoiseLevel:
    heavy = rng.random() < 0.15
    return NoiseLevel(
        char=rng.uniform(0.005, 0.04) if heavy else rng.uniform(0.0, 0.012),
        small=rng.uniform(0.02, 0.2),
        line_drop=rng.uniform(0.0, 0.05),
        junk_words=rng.randint(0, 12),
        conf=rng.uniform(75, 95),
    )


def _strip_one_mark(ch: str) -> str:
    d = unicodedata.normalize("NFD", ch)
    if len(d) > 1:
        return unicodedata.normalize("NFC", d[:-1])
    return ch


def corrupt(text: str, rate: float, rng: random.Random) -> str:
    """Character-level OCR errors at ``rate`` per character."""
    if rate <= 0:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if rng.random() >= rate or ch == " ":
            out.append(ch)
            i += 1
            continue
        op = rng.random()
        two = text[i : i + 2]
        if op < 0.4:
            out.append(_strip_one_mark(ch) if ch != _strip_one_mark(ch) else _CONFUSE.get(ch, ch))
        elif op < 0.65:
            if two in _CONFUSE:
                out.append(_CONFUSE[two])
                i += 2
                continue
            out.append(_CONFUSE.get(ch, rng.choice("aeioun.,")))
        elif op < 0.8:
            pass  # deleted
        elif op < 0.9:
            out.append(ch + rng.choice("'.,ií"))
        else:
            out.append(ch + " ")  # a split word
        i += 1
    return "".join(out)


def _words(
    text: str, box: tuple[int, int, int, int], conf: float, key: int, rng: random.Random
) -> list[Word]:
    left, top, right, bottom = box
    tokens = text.split()
    if not tokens:
        return []
    total = max(1, sum(len(t) for t in tokens) + len(tokens) - 1)
    per = (right - left) / total
    out, x = [], float(left)
    for t in tokens:
        w = max(1, round(len(t) * per))
        out.append(
            Word(
                t,
                round(x),
                top,
                w,
                max(1, bottom - top),
                max(0.0, min(99.0, rng.gauss(conf, 6))),
                key,
                1,
                1,
            )
        )
        x += w + per
    return out


def simulate_ocr(
    lines: Sequence[str],
    boxes: Sequence[tuple[int, int, int, int]],
    *,
    size: tuple[int, int],
    dpi: float,
    rng: random.Random,
    level: NoiseLevel | None = None,
    title_lines: Sequence[str] = (),
    title_fade: float = 0.0,
) -> OcrResult:
    """A plausible Tesseract reading of a page whose true lines and boxes are known."""
    level = level or page_noise(rng)
    width, height = size
    small_px = 8 / 72 * dpi * 0.72  # glyph box height of 8-pt text
    rows: list[list[Word]] = []
    key = 0
    titles = {t for t in title_lines}
    for text, box in zip(lines, boxes, strict=True):
        rate, drop = level.char, level.line_drop
        if box[3] - box[1] < small_px:
            rate += level.small
            drop += level.small / 3
        if text in titles and title_fade > 0:
            rate += title_fade * rng.uniform(0.3, 1.0)
            drop += title_fade * 0.5
        if rng.random() < drop:
            continue
        key += 1
        read = corrupt(text, min(rate, 0.8), rng)
        rows.append(_words(read, box, level.conf - 150 * rate, key, rng))
    for _ in range(level.junk_words):
        key += 1
        x, y = rng.randrange(max(1, width)), rng.randrange(max(1, height))
        junk = Word(
            rng.choice(_JUNK),
            x,
            y,
            max(2, width // 100),
            max(2, height // 150),
            rng.uniform(10, 60),
            key,
            1,
            1,
        )
        rows.insert(rng.randint(0, len(rows)), [junk])
    words = [w for row in rows for w in row]
    confs = [w.conf for w in words]
    return OcrResult(tuple(words), width, height, dpi, sum(confs) / len(confs) if confs else 0.0)
