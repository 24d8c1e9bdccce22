"""Typed synthetic pages: every catalog document type in its own layout.

``render_typed`` draws a page whose content comes from the type's
:class:`~lab.synth.doctypes.Profile`: forms and certificates (``text``),
forms with a grid table (``table``), ID cards / passports photocopied small on
an A4 page (``card``), architectural drawings with a title block
(``drawing``) and cadastral extracts with a parcel map and coordinate table
(``map``). ``style`` (0-3) varies the look (numbered fields, dotted leaders,
boxed title, form number line...), ``title_fade`` makes the title faint and
damaged, ``page_number`` prints "Trang k/n". Deterministic in the spec.
"""

from __future__ import annotations

import random

import numpy as np

from lab.synth import doctypes, outside, texts
from lab.synth.canvas import (
    Layout,
    PageSpec,
    SynthPage,
    choose_font,
    damage,
    draw_header,
    draw_signature,
    faded,
    finish_page,
    signature_height,
    text_at,
    union_box,
    wrap,
)
from lab.synth.doctypes import Profile
from lab.synth.sheets import drawing_page, parcel_map
from pipeline.classify.text import strip_diacritics


def _title(lay: Layout, rng: random.Random, title: str, spec: PageSpec) -> None:
    font = lay.font(
        lay.body_pt + (3.0 if lay.body_pt <= 12 else 2.0) + (1 if spec.style == 1 else 0), True
    )
    fill = faded(lay, min(0.8, spec.title_fade))
    first = len(lay.boxes)
    for line in wrap(title.upper(), font, (lay.right - lay.left) * (0.8 if spec.style == 3 else 1)):
        x = (lay.left + lay.right - font.getlength(line)) / 2
        text_at(lay, x, lay.y, line, font, fill)
        lay.y += lay.line_height(font)
    box = union_box(lay.boxes[first:])
    if spec.style == 3:
        pad = round(2 * lay.mm)
        lay.draw.rectangle(
            [box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad],
            outline=lay.ink,
            width=max(1, round(lay.dpi / 150)),
        )
    damage(lay, rng, box, spec.title_fade)
    lay.y += 4 * lay.mm


def _form_no(lay: Layout, rng: random.Random, profile: Profile) -> None:
    if not profile.form_no:
        return
    font = lay.font(lay.body_pt - 1, False)
    text = doctypes.fill(rng.choice(profile.form_no), rng)
    text_at(lay, lay.right - font.getlength(text), lay.y, text, font)
    lay.y += lay.line_height(font)


def _header(lay: Layout, rng: random.Random, spec: PageSpec, profile: Profile) -> None:
    if spec.style in (1, 3) or rng.random() < 0.3:
        _form_no(lay, rng, profile)
    agency = profile.issued and spec.style != 2
    if agency and profile.subtitle:
        lay.agency = ("", profile.subtitle[0]) if rng.random() < 0.5 else lay.agency
    draw_header(lay, rng, agency)


def _body_line(lay: Layout, x: float, text: str, font, limit: float, body: list[str]) -> bool:
    """Write one body line at ``x`` and move down, if it fits above ``limit``."""
    if lay.y + lay.line_height(font) > limit:
        return False
    text_at(lay, x, lay.y, text, font)
    body.append(text)
    lay.y += lay.line_height(font)
    return True


def _fields(
    lay: Layout,
    rng: random.Random,
    spec: PageSpec,
    profile: Profile,
    limit: float,
    body: list[str],
) -> None:
    font = lay.font(lay.body_pt)
    width = lay.right - lay.left
    for k, (label, value) in enumerate(doctypes.typed_fields(profile, rng, spec.fields), start=1):
        if spec.style == 1:
            label = f"{k}. {label}"
        if spec.style == 2:
            dots = "." * max(3, 12 - len(value) // 4)
            line = f"{label} {dots}{value}"
        elif spec.style == 3:
            line = f"{label} {value}"
        else:
            line = f"{label} {value}".rstrip()
        for piece in wrap(line, font, width):
            if not _body_line(lay, lay.left, piece, font, limit, body):
                return
    lay.y += 2 * lay.mm


def _paragraphs(
    lay: Layout,
    rng: random.Random,
    spec: PageSpec,
    profile: Profile,
    limit: float,
    body: list[str],
) -> None:
    font = lay.font(lay.body_pt)
    indent = 10 * lay.mm
    for para in doctypes.typed_paragraphs(profile, rng, spec.body_paragraphs):
        for i, piece in enumerate(wrap(para, font, lay.right - lay.left, indent)):
            x = lay.left + (indent if i == 0 else 0)
            if not _body_line(lay, x, piece, font, limit, body):
                return
        lay.y += 1.5 * lay.mm


_TABLES: dict[str, tuple[str, ...]] = {
    "tax_payment_receipt": ("STT", "Nội dung khoản nộp NSNN", "Mã chương", "Mã NDKT", "Số tiền"),
    "family_minutes": ("STT", "Họ và tên", "Năm sinh", "Quan hệ với chủ hộ", "Ký tên"),
    "residence_change_form": ("TT", "Họ, chữ đệm và tên", "Ngày sinh", "Giới tính", "Quan hệ"),
    "hkd_application": ("STT", "Họ và tên thành viên", "Ngày sinh", "Số định danh"),
    "land_reg_application": ("STT", "Loại tài sản", "Diện tích (m²)", "Hình thức sở hữu"),
    "marriage_reg_form": ("Thông tin", "Bên nữ", "Bên nam"),
    "marriage_certificate": ("Thông tin", "Vợ", "Chồng"),
    "cadastral_extract": ("Điểm", "X (m)", "Y (m)", "Cạnh (m)"),
}


def _cell(doc_type: str, col: int, row: int, rng: random.Random) -> str:
    head = _TABLES.get(doc_type, ("", ""))[col]
    if col == 0:
        return (
            str(row + 1)
            if head in ("STT", "TT", "Điểm")
            else rng.choice(
                (
                    "Họ, chữ đệm, tên",
                    "Ngày sinh",
                    "Dân tộc",
                    "Quốc tịch",
                    "Nơi cư trú",
                    "Số định danh",
                )
            )
        )
    if "tên" in head or head in ("Bên nữ", "Bên nam", "Vợ", "Chồng"):
        return texts.full_name(rng, rng.choice(("Nam", "Nữ")))
    if "sinh" in head:
        return texts.format_date(texts.random_date(rng, 1950, 2020))
    if head.startswith(("X", "Y")):
        return f"{rng.randint(2300000, 2330000)}.{rng.randint(10, 99)}"
    if "Số tiền" in head or "Cạnh" in head or "Diện tích" in head:
        return f"{rng.randint(1, 999)}.{rng.randint(100, 999)}"
    if "Quan hệ" in head:
        return rng.choice(("Chủ hộ", "Vợ", "Con", "Mẹ"))
    if "Giới" in head:
        return rng.choice(("Nam", "Nữ"))
    if head.startswith("Mã"):
        return str(rng.randint(100, 999))
    if "Nội dung" in head:
        return rng.choice(("Lệ phí trước bạ nhà đất", "Tiền sử dụng đất", "Lệ phí cấp GCN"))
    if "định danh" in head:
        return f"001{rng.randint(0, 3)}{rng.randint(10**7, 10**8 - 1)}"
    return rng.choice(("Nhà ở", "Đất ở", "Sở hữu riêng", ""))


def _table(lay: Layout, rng: random.Random, doc_type: str, limit: float, body: list[str]) -> None:
    heads = _TABLES.get(doc_type)
    if heads is None:
        return
    font, bold = lay.font(lay.body_pt - 1), lay.font(lay.body_pt - 1, True)
    rows = rng.randint(3, 7)
    row_h = lay.line_height(font) + 1.5 * lay.mm
    if lay.y + row_h * (rows + 1) > limit:
        rows = int((limit - lay.y) / row_h) - 1
    if rows < 1:
        return
    width = lay.right - lay.left
    weights = [0.5 if h in ("STT", "TT", "Điểm") else 1.5 if len(h) > 12 else 1.0 for h in heads]
    xs = [lay.left + width * sum(weights[:i]) / sum(weights) for i in range(len(heads) + 1)]
    line_w = max(1, round(lay.dpi / 150))
    top = lay.y
    for r in range(rows + 2):
        y = top + r * row_h
        lay.draw.line([(xs[0], y), (xs[-1], y)], fill=lay.ink, width=line_w)
    for x in xs:
        lay.draw.line([(x, top), (x, top + (rows + 1) * row_h)], fill=lay.ink, width=line_w)
    for r in range(rows + 1):
        cells = []
        for c in range(len(heads)):
            text = heads[c] if r == 0 else _cell(doc_type, c, r - 1, rng)
            f = bold if r == 0 else font
            while text and f.getlength(text) > xs[c + 1] - xs[c] - 8:
                text = text[:-1]
            text_at(lay, xs[c] + 4, top + r * row_h + 0.7 * lay.mm, text, f)
            cells.append(text)
        body.append(" ".join(c for c in cells if c))
    lay.y = top + (rows + 1) * row_h + 4 * lay.mm


def _page_number(lay: Layout, rng: random.Random, spec: PageSpec) -> None:
    if spec.page_number is None:
        return
    k, n = spec.page_number
    font = lay.font(lay.body_pt - 1)
    variant = (spec.seed + spec.style) % 3
    text = f"Trang {k}/{n}" if variant < 2 else f"- {k} -"
    y = lay.bottom if variant != 2 else lay.top - 8 * lay.mm
    text_at(lay, (lay.left + lay.right - font.getlength(text)) / 2, y, text, font)


def _text_page(
    lay: Layout,
    rng: random.Random,
    spec: PageSpec,
    profile: Profile,
    title: str | None,
    layout: str,
) -> list[str]:
    body: list[str] = []
    if not spec.continuation:
        _header(lay, rng, spec, profile)
        if title:
            _title(lay, rng, title, spec)
    signed = not spec.continuation or rng.random() < 0.5
    limit = lay.bottom - (signature_height(lay) if signed else 0) - 6 * lay.mm
    if layout == "map" and not spec.continuation:
        _fields(
            lay, rng, spec.model_copy(update={"fields": min(spec.fields, 5)}), profile, limit, body
        )
        parcel_map(lay, rng, min(limit, lay.y + 95 * lay.mm))
    elif spec.fields:
        _fields(lay, rng, spec, profile, limit, body)
    if layout in ("table", "map"):
        _table(lay, rng, spec.doc_type or "", limit, body)
    if spec.body_paragraphs:
        _paragraphs(lay, rng, spec, profile, limit, body)
    if signed:
        lay.y = min(lay.y, limit)
        draw_signature(lay, rng, profile.issued)
    return body


# --- cards ---------------------------------------------------------------------
def _photo(lay: Layout, rng: random.Random, box: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = box
    shade = rng.randint(120, 170)
    lay.draw.rectangle(box, fill=(shade, shade, shade + 5), outline=lay.ink)
    cx, w = (x0 + x1) / 2, x1 - x0
    lay.draw.ellipse(
        [cx - w * 0.22, y0 + w * 0.18, cx + w * 0.22, y0 + w * 0.72], fill=(shade - 60,) * 3
    )
    lay.draw.ellipse(
        [cx - w * 0.42, y0 + w * 0.8, cx + w * 0.42, y1 + w * 0.5], fill=(shade - 50,) * 3
    )


def _mrz(rng: random.Random, kind: str, person: texts.Person) -> list[str]:
    parts = strip_diacritics(person.full_name).upper().split()
    name = f"{parts[0]}<<{'<'.join(parts[1:])}"
    born = person.birth_date.strftime("%y%m%d")
    if kind == "passport":
        no = f"C{rng.randint(10**6, 10**7 - 1)}"
        return [
            f"P<VNM{name}".ljust(44, "<")[:44],
            f"{no}<{rng.randint(0, 9)}VNM{born}{rng.randint(0, 9)}"
            f"{'M' if person.sex == 'Nam' else 'F'}3{rng.randint(10**4, 10**5 - 1)}".ljust(44, "<"),
        ]
    sex = "M" if person.sex == "Nam" else "F"
    line1 = f"IDVNM{person.id_number[3:]}{rng.randint(0, 9)}{person.id_number}<<{rng.randint(0, 9)}"
    line2 = f"{born}{rng.randint(0, 9)}{sex}3{rng.randint(10**4, 10**5 - 1)}VNM"
    return [line1[:30], line2.ljust(29, "<") + str(rng.randint(0, 9)), name.ljust(30, "<")[:30]]


def _card(
    lay: Layout,
    rng: random.Random,
    spec: PageSpec,
    x: float,
    y: float,
    side: str,
    title: str,
    person: texts.Person,
) -> None:
    mm = lay.mm
    passport = spec.doc_type == "passport"
    w, h = (125 * mm, 88 * mm) if passport else (85.6 * mm, 54 * mm)
    lay.draw.rounded_rectangle(
        [x, y, x + w, y + h], radius=3 * mm, outline=lay.ink, width=max(1, round(lay.dpi / 100))
    )
    small, tiny, bold = lay.font(6.5), lay.font(5.5), lay.font(7.5, True)
    if side == "front":
        text_at(lay, x + 24 * mm, y + 2 * mm, texts.MOTTO, lay.font(5.5, True))
        text_at(lay, x + 30 * mm, y + 5 * mm, texts.MOTTO_SUB, tiny)
        tfont = lay.font(9 if passport else 8.5, True)
        label = title + (" / PASSPORT" if passport and "PASS" not in title else "")
        text_at(lay, x + 24 * mm, y + 9 * mm, label, tfont, faded(lay, spec.title_fade * 0.6))
        if not passport:
            text_at(lay, x + 30 * mm, y + 13.5 * mm, "Citizen Identity Card", tiny)
        _photo(lay, rng, (x + 3 * mm, y + 14 * mm, x + 22 * mm, y + 39 * mm))
        rows = (
            [
                (
                    "Loại/Type: P   Mã số/Code: VNM   Số hộ chiếu/Passport No.:",
                    f"C{rng.randint(10**6, 10**7 - 1)}",
                )
            ]
            if passport
            else [("Số / No.:", person.id_number)]
        ) + [
            ("Họ và tên / Full name:", person.full_name.upper()),
            ("Ngày sinh / Date of birth:", texts.format_date(person.birth_date)),
            ("Giới tính / Sex:", f"{person.sex}   Quốc tịch / Nationality: Việt Nam"),
            ("Quê quán / Place of origin:", person.hometown),
            ("Nơi thường trú / Place of residence:", person.address[:48]),
            (
                "Có giá trị đến / Date of expiry:",
                texts.format_date(texts.random_date(rng, 2030, 2045)),
            ),
        ]
        if passport:
            rows.insert(4, ("Số GCMND / ID card No.:", person.id_number))
            rows.append(("Cơ quan cấp / Authority:", "CỤC QUẢN LÝ XUẤT NHẬP CẢNH"))
        yy = y + 16 * mm
        for lab, val in rows:
            if yy > y + h - (16 if passport else 5) * mm:
                break
            text_at(lay, x + 24 * mm, yy, lab, tiny)
            text_at(lay, x + 24 * mm, yy + 2.6 * mm, val, bold if "name" in lab else small)
            yy += 5.4 * mm
        if passport:
            mfont = lay.font(7.5)
            for k, line in enumerate(_mrz(rng, "passport", person)):
                text_at(lay, x + 4 * mm, y + h - (11 - 4.5 * k) * mm, line, mfont)
        return
    text_at(lay, x + 3 * mm, y + 3 * mm, "Đặc điểm nhân dạng / Personal identification:", tiny)
    text_at(
        lay,
        x + 3 * mm,
        y + 6 * mm,
        rng.choice(("Nốt ruồi cách 2 cm trên mép trái", "Sẹo chấm cách 1 cm dưới đuôi mắt phải")),
        small,
    )
    text_at(
        lay,
        x + 3 * mm,
        y + 10 * mm,
        "Ngày, tháng, năm / Date, month, year: "
        + texts.format_date(texts.random_date(rng, 2021, 2025)),
        tiny,
    )
    text_at(lay, x + 3 * mm, y + 13 * mm, "CỤC TRƯỞNG CỤC CẢNH SÁT", lay.font(6, True))
    text_at(
        lay, x + 3 * mm, y + 15.5 * mm, "QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", lay.font(6, True)
    )
    for k in range(2):
        bx = x + (55 + 15 * k) * mm
        lay.draw.rectangle([bx, y + 3 * mm, bx + 13 * mm, y + 19 * mm], outline=lay.ink)
        for j in range(8):
            lay.draw.arc(
                [bx + 2 * mm + j, y + 6 * mm + j, bx + 11 * mm - j, y + 17 * mm - j],
                200,
                340,
                fill=(90, 90, 90),
            )
    mfont = lay.font(7.5)
    for k, line in enumerate(_mrz(rng, "id", person)):
        text_at(lay, x + 4 * mm, y + (33 + 5.5 * k) * mm, line, mfont)


def _card_page(lay: Layout, rng: random.Random, spec: PageSpec, title: str | None) -> list[str]:
    person = texts.random_person(rng, max_year=2006)
    title = title or ("HỘ CHIẾU" if spec.doc_type == "passport" else "CĂN CƯỚC CÔNG DÂN")
    x = lay.left + rng.uniform(0, 25) * lay.mm
    y = lay.top + rng.uniform(5, 30) * lay.mm
    passport = spec.doc_type == "passport"
    part = "front" if passport else spec.card_part
    if spec.continuation and part == "both":
        part = "back"
    if part in ("both", "front"):
        _card(lay, rng, spec, x, y, "front", title, person)
        y += (100 if passport else 70) * lay.mm
    if part in ("both", "back"):
        _card(lay, rng, spec, x, y, "back", title, person)
        y += 70 * lay.mm
    if rng.random() < 0.5:  # certified copy stamp
        font = lay.font(9, True)
        yy = min(y, lay.bottom - 40 * lay.mm)
        text_at(
            lay,
            lay.left + 60 * lay.mm,
            yy,
            "CHỨNG THỰC BẢN SAO ĐÚNG VỚI BẢN CHÍNH",
            font,
            (60, 60, 160),
        )
        text_at(
            lay,
            lay.left + 60 * lay.mm,
            yy + 6 * lay.mm,
            f"Số chứng thực: {rng.randint(1, 9999)} Quyển số: {rng.randint(1, 20)}/2026-SCT/BS",
            lay.font(8),
            (60, 60, 160),
        )
    return []


def render_typed(spec: PageSpec) -> SynthPage:
    """Render a page of ``spec.doc_type`` from its profile (see the module docstring)."""
    profile = doctypes.BY_TYPE.get(spec.doc_type or "") or outside.BY_KIND[spec.doc_type or ""]
    rng = random.Random(spec.seed)
    family = choose_font(spec, rng)
    lay = Layout(spec, rng, family)
    layout = spec.layout or profile.layout
    title = None if spec.continuation else (spec.title or rng.choice(profile.titles))
    if layout == "drawing":
        title = spec.title or rng.choice(profile.titles)  # every sheet has its title block
        body = drawing_page(lay, rng, spec, title)
    elif layout == "card":
        body = _card_page(lay, rng, spec, title)
    else:
        body = _text_page(lay, rng, spec, profile, title, layout)
    _page_number(lay, rng, spec)
    image = np.asarray(lay.img, dtype=np.uint8).copy()
    if layout == "card":  # photocopy: a grey cast
        image = (image.astype(np.float32) * rng.uniform(0.9, 0.97)).astype(np.uint8)
    return finish_page(lay, spec, title=title, body=body, family=family, image=image)
