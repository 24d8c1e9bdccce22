"""A rendered synthetic page "read" through the OCR noise model, at a light noise level."""

from __future__ import annotations

import random

from lab.ocrsim import NoiseLevel, simulate_ocr
from lab.synth import PageSpec, render_page
from pipeline.classify import PageText
from pipeline.classify.layout import layout_features
from pipeline.types import OcrResult, Word


def simulated_reading(spec: PageSpec, *, seed: int, junk_words: int) -> PageText:
    """``spec`` rendered, then read with 0.5 % character and 5 % small-text errors."""
    page = render_page(spec)
    level = NoiseLevel(char=0.005, small=0.05, line_drop=0.0, junk_words=junk_words, conf=90)
    ocr = simulate_ocr(
        page.all_text.split("\n"),
        page.line_boxes,
        size=(page.image.shape[1], page.image.shape[0]),
        dpi=spec.dpi,
        rng=random.Random(seed),
        level=level,
    )
    return PageText(ocr=ocr, layout=layout_features(page.image, spec.dpi))


def typed_lines(lines: list[str]) -> OcrResult:
    """An A4 page at 300 dpi read as ``lines``, one OCR line each, top to bottom."""
    words = tuple(
        Word(text=t, left=200 + 120 * j, top=300 + 60 * i, width=110, height=40, conf=95.0,
             line=i + 1)
        for i, line in enumerate(lines)
        for j, t in enumerate(line.split())
    )
    return OcrResult(words=words, width=2480, height=3508, dpi=300, mean_conf=95.0)
