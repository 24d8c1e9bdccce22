"""A rendered synthetic page "read" through the OCR noise model, at a light noise level."""

from __future__ import annotations

import random

from lab.ocrsim import NoiseLevel, simulate_ocr
from lab.synth import PageSpec, render_page
from pipeline.classify import PageText
from pipeline.classify.layout import layout_features


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
