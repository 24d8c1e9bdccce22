"""Deterministic rendering of synthetic Vietnamese administrative pages (A4, RGB).

A page is fully determined by its :class:`PageSpec` (same spec -> identical
pixels on the same machine/fonts). Text is laid out with real font metrics
(Pillow, basic layout engine) inside Decree 30/2020-style margins: the national
motto, an optional agency header, a bold centred title, labelled fields, body
paragraphs, a date line, a signature block and, for issued documents, a red
round seal. :class:`SynthPage` carries the exact rendered body text (one line
per rendered line) for CER measurement.
"""

from __future__ import annotations

import random

from lab.metrics import body_cer, cer, normalise_text
from lab.synth import texts
from lab.synth.canvas import (
    Layout,
    PageSpec,
    SynthPage,
    choose_font,
    draw_header,
    draw_signature,
    finish_page,
    is_issued,
    signature_height,
    union_box,
    wrap,
)
from lab.synth.kinds import render_typed

__all__ = ["PageSpec", "SynthPage", "body_cer", "cer", "normalise_text", "render_page"]


def _title(lay: Layout, title: str) -> None:
    font = lay.font(lay.body_pt + (3.0 if lay.body_pt <= 12 else 2.0), True)
    for line in wrap(title.upper(), font, lay.right - lay.left):
        lay.put(line, font, lay.left, lay.right, "center")
    lay.y += 4 * lay.mm


def _body_lines(lay: Layout, rng: random.Random, spec: PageSpec) -> list[tuple[str, float, float]]:
    """(text, indent px, extra space after px) of every field and paragraph line."""
    font = lay.font(lay.body_pt)
    width = lay.right - lay.left
    out: list[tuple[str, float, float]] = []
    for label, value in texts.form_fields(rng, spec.fields) if spec.fields else []:
        wrapped = wrap(f"{label} {value}", font, width)
        out += [(ln, 0.0, 0.0) for ln in wrapped]
    if out:
        out[-1] = (out[-1][0], 0.0, 3 * lay.mm)
    indent = 10 * lay.mm
    for para in texts.paragraphs(rng, spec.body_paragraphs):
        wrapped = wrap(para, font, width, indent)
        out += [(ln, indent if i == 0 else 0.0, 0.0) for i, ln in enumerate(wrapped)]
        out[-1] = (out[-1][0], out[-1][1], 1.5 * lay.mm)
    return out


def render_page(spec: PageSpec) -> SynthPage:
    """Render one synthetic page; deterministic in ``spec``."""
    if spec.typed and not spec.blank:
        return render_typed(spec)
    rng = random.Random(spec.seed)
    family = choose_font(spec, rng)
    lay = Layout(spec, rng, family)
    body: list[str] = []
    body_box: tuple[int, int, int, int] | None = None
    title = None if spec.continuation or spec.blank else spec.title
    if not spec.blank:
        issued = is_issued(spec)
        if not spec.continuation:
            agency = spec.agency_header if spec.agency_header is not None else issued
            draw_header(lay, rng, agency)
        if title:
            _title(lay, title)
        footer = spec.continuation and rng.random() < 0.6
        signed = not spec.continuation or rng.random() < 0.5
        limit = lay.bottom - (signature_height(lay) if signed else 0)
        limit -= lay.line_height(lay.font(lay.body_pt)) * (2 if footer else 0)
        font, first = lay.font(lay.body_pt), len(lay.boxes)
        for text, indent, after in _body_lines(lay, rng, spec):
            if lay.y + lay.line_height(font) > limit:
                break
            lay.put(text, font, lay.left, lay.right, "left", indent)
            lay.y += after
            body.append(text)
        if body:
            body_box = union_box(lay.boxes[first:])
        if signed:
            draw_signature(lay, rng, issued)
        if footer:
            lay.y = lay.bottom - lay.line_height(font)
            lay.put("Trang 2/2", font, lay.left, lay.right, "center")
    return finish_page(lay, spec, title=title, body=body, family=family, body_box=body_box)
