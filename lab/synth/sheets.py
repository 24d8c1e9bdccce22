"""Typed synthetic sheets: architectural drawings with a title block, cadastral parcel maps."""

from __future__ import annotations

import math
import random

from lab.synth import texts
from lab.synth.canvas import (
    Layout,
    PageSpec,
    damage,
    faded,
    text_at,
)


def _floor_plan(lay: Layout, rng: random.Random, box: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = box
    wall = max(2, round(0.7 * lay.mm))
    lay.draw.rectangle(box, outline=lay.ink, width=wall)
    rooms = ["P. KHÁCH", "P. NGỦ 1", "P. NGỦ 2", "BẾP", "WC", "SÂN", "CẦU THANG", "P. THỜ"]
    rng.shuffle(rooms)
    xs = sorted(
        rng.uniform(x0 + 0.2 * (x1 - x0), x1 - 0.2 * (x1 - x0)) for _ in range(rng.randint(1, 2))
    )
    ys = sorted(
        rng.uniform(y0 + 0.2 * (y1 - y0), y1 - 0.2 * (y1 - y0)) for _ in range(rng.randint(1, 3))
    )
    for x in xs:
        lay.draw.line([(x, y0), (x, y1)], fill=lay.ink, width=wall)
    for y in ys:
        lay.draw.line([(x0, y), (x1, y)], fill=lay.ink, width=wall)
    font, small = lay.font(8, True), lay.font(7)
    cols, rows_ = [x0, *xs, x1], [y0, *ys, y1]
    k = 0
    for i in range(len(cols) - 1):
        for j in range(len(rows_) - 1):
            if k < len(rooms) and rng.random() < 0.8:
                text_at(
                    lay,
                    (cols[i] + cols[i + 1]) / 2 - 8 * lay.mm,
                    (rows_[j] + rows_[j + 1]) / 2,
                    rooms[k],
                    font,
                )
                k += 1
    for i in range(len(cols) - 1):  # dimension line above
        y = y0 - 8 * lay.mm
        lay.draw.line([(cols[i], y), (cols[i + 1], y)], fill=lay.ink, width=1)
        lay.draw.line([(cols[i], y - 2 * lay.mm), (cols[i], y + 2 * lay.mm)], fill=lay.ink, width=1)
        size = round((cols[i + 1] - cols[i]) / lay.mm * 40 / 100) * 100
        text_at(lay, (cols[i] + cols[i + 1]) / 2 - 4 * lay.mm, y - 4.5 * lay.mm, str(size), small)
    for _ in range(rng.randint(2, 5)):  # doors: quarter arcs
        cx, cy, r = rng.uniform(x0, x1), rng.uniform(y0, y1), 8 * lay.mm
        lay.draw.arc([cx - r, cy - r, cx + r, cy + r], 0, 90, fill=lay.ink, width=1)


def _title_block(lay: Layout, rng: random.Random, spec: PageSpec, title: str | None) -> None:
    mm = lay.mm
    x0, x1 = lay.right - 95 * mm, lay.right
    y0, y1 = lay.bottom - 45 * mm, lay.bottom
    w = max(1, round(lay.dpi / 150))
    lay.draw.rectangle([x0, y0, x1, y1], outline=lay.ink, width=w + 1)
    rows = [y0 + k * 9 * mm for k in range(6)]
    for y in rows[1:-1]:
        lay.draw.line([(x0, y), (x1, y)], fill=lay.ink, width=w)
    f, b = lay.font(7), lay.font(7.5, True)
    name = texts.full_name(rng, rng.choice(("Nam", "Nữ")))
    text_at(lay, x0 + 2 * mm, rows[0] + 2 * mm, f"CHỦ ĐẦU TƯ: {name}", f)
    text_at(
        lay,
        x0 + 2 * mm,
        rows[1] + 2 * mm,
        rng.choice(("CÔNG TY TNHH TƯ VẤN XÂY DỰNG HÀ THÀNH", "CÔNG TY CP KIẾN TRÚC AN PHÁT")),
        b,
    )
    if title:
        tf = lay.font(9, True)
        text_at(
            lay,
            x0 + 2 * mm,
            rows[2] + 2 * mm,
            title.upper(),
            tf,
            faded(lay, min(0.8, spec.title_fade)),
        )
        damage(lay, rng, lay.boxes[-1], spec.title_fade)
    text_at(
        lay,
        x0 + 2 * mm,
        rows[3] + 2 * mm,
        f"Tỷ lệ: 1:{rng.choice((50, 100, 200))}     Bản vẽ số: KT-{rng.randint(1, 20):02d}",
        f,
    )
    text_at(
        lay,
        x0 + 2 * mm,
        rows[4] + 2 * mm,
        f"Thiết kế: {texts.full_name(rng, 'Nam')}   Ngày: {rng.randint(1, 12):02d}/2025",
        f,
    )


def drawing_page(lay: Layout, rng: random.Random, spec: PageSpec, title: str | None) -> list[str]:
    mm = lay.mm
    w = max(2, round(lay.dpi / 100))
    lay.draw.rectangle(
        [lay.left - 10 * mm, lay.top - 10 * mm, lay.right + 10 * mm, lay.bottom + 5 * mm],
        outline=lay.ink,
        width=w,
    )
    top = lay.top + rng.uniform(15, 30) * mm
    _floor_plan(
        lay,
        rng,
        (lay.left + 10 * mm, top, lay.right - 10 * mm, lay.bottom - rng.uniform(60, 90) * mm),
    )
    _title_block(lay, rng, spec, title)
    return []


def parcel_map(lay: Layout, rng: random.Random, bottom: float) -> None:
    mm = lay.mm
    x0, y0, x1, y1 = lay.left, lay.y, lay.right, bottom
    lay.draw.rectangle([x0, y0, x1, y1], outline=lay.ink, width=max(1, round(lay.dpi / 150)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    pts = [
        (cx + math.cos(a) * rng.uniform(18, 30) * mm, cy + math.sin(a) * rng.uniform(15, 28) * mm)
        for a in sorted(rng.uniform(0, math.tau) for _ in range(rng.randint(4, 7)))
    ]
    lay.draw.polygon(pts, outline=lay.ink, width=max(2, round(lay.dpi / 100)))
    for k, (px, py) in enumerate(pts, start=1):
        text_at(lay, px + 1 * mm, py - 3 * mm, str(k), lay.font(7))
    for _ in range(rng.randint(4, 8)):  # neighbouring parcel boundaries
        a = (rng.uniform(x0, x1), rng.uniform(y0, y1))
        lay.draw.line(
            [a, (a[0] + rng.uniform(-40, 40) * mm, a[1] + rng.uniform(-30, 30) * mm)],
            fill=lay.ink,
            width=1,
        )
    text_at(lay, cx - 4 * mm, cy, str(rng.randint(1, 999)), lay.font(9, True))
    text_at(lay, x1 - 30 * mm, y1 - 6 * mm, f"Tỷ lệ 1:{rng.choice((200, 500, 1000))}", lay.font(8))
    lay.y = y1 + 4 * mm
