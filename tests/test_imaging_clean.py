"""Tests of pipeline.imaging.clean on rendered Vietnamese A4 pages, degraded like scans."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache

import cv2
import numpy as np
import pydantic
import pytest
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from pipeline.imaging.clean import (
    CleanConfig,
    CleanedPage,
    binarize,
    clean_page,
    crop_border,
    denoise,
    deskew,
    detect_blank,
    detect_orientation,
    noise_level,
    normalize_illumination,
    ocr_scale,
    rotate,
    text_height,
)
from pipeline.types import PageRef, RawPage

FONT_DIR = "/usr/share/fonts/truetype"
FONTS = {
    "dejavu-sans": f"{FONT_DIR}/dejavu/DejaVuSans.ttf",
    "dejavu-serif": f"{FONT_DIR}/dejavu/DejaVuSerif.ttf",
    "noto-serif": f"{FONT_DIR}/noto/NotoSerif-Regular.ttf",
    "liberation-serif": f"{FONT_DIR}/liberation2/LiberationSerif-Regular.ttf",
}
BOLD = f"{FONT_DIR}/dejavu/DejaVuSerif-Bold.ttf"
HEADER = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
TITLE = "TỜ KHAI ĐĂNG KÝ KHAI SINH"
PARAS = (
    "Căn cứ Luật Hộ tịch ngày 20 tháng 11 năm 2014 và Nghị định số 123/2015/NĐ-CP quy định "
    "chi tiết một số điều và biện pháp thi hành Luật Hộ tịch, Ủy ban nhân dân phường xác nhận "
    "các thông tin dưới đây là đúng sự thật.",
    "Họ, chữ đệm, tên người yêu cầu: Nguyễn Thị Hồng Nhung. Ngày, tháng, năm sinh: mười lăm "
    "tháng tám năm một nghìn chín trăm chín mươi hai. Nơi cư trú: số nhà 18, ngõ 25, phố Trần "
    "Duy Hưng, phường Trung Hòa, quận Cầu Giấy, thành phố Hà Nội.",
    "Giấy tờ tùy thân: Căn cước công dân do Cục Cảnh sát quản lý hành chính về trật tự xã hội "
    "cấp. Quan hệ với người được khai sinh: mẹ đẻ. Đề nghị cơ quan đăng ký khai sinh cho người "
    "dưới đây.",
    "Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật, được sự thỏa "
    "thuận nhất trí của các bên liên quan theo quy định pháp luật. Tôi chịu hoàn toàn trách "
    "nhiệm trước pháp luật về nội dung cam đoan của mình.",
)


# --- synthetic scans ---------------------------------------------------------------
def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    lines: list[str] = []
    cur = ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if cur and draw.textlength(trial, font=font) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    return [*lines, cur] if cur else lines


@cache
def render(font: str = "dejavu-serif", dpi: int = 300, paras: int = 4, ink: int = 0,
           paper: int = 255) -> tuple[np.ndarray, str]:
    """A grey A4 page of Vietnamese text and its text (line by line)."""
    w, h = round(8.27 * dpi), round(11.69 * dpi)
    img = Image.new("L", (w, h), paper)
    draw = ImageDraw.Draw(img)

    def px(pt: float) -> int:
        return round(pt * dpi / 72)

    body = ImageFont.truetype(FONTS[font], px(12))
    y, margin = round(0.8 * dpi), round(0.9 * dpi)
    lines: list[str] = []
    for text, size, step in ((HEADER[0], 13, 20), (HEADER[1], 13, 40), (TITLE, 15, 34)):
        f = ImageFont.truetype(BOLD, px(size))
        draw.text(((w - draw.textlength(text, font=f)) / 2, y), text, font=f, fill=ink)
        lines.append(text)
        y += px(step)
    for para in PARAS[:paras]:
        for line in _wrap(draw, para, body, w - 2 * margin):
            draw.text((margin, y), line, font=body, fill=ink)
            lines.append(line)
            y += px(18)
        y += px(8)
    return np.asarray(img), "\n".join(lines)


def degrade(page: np.ndarray, *, skew: float = 0.0, turn: int = 0, border: int = 0,
            noise: float = 0.0, salt: float = 0.0, light: float = 0.0, blur: float = 0.0,
            seed: int = 0) -> np.ndarray:
    """Scan-like damage. ``skew``: counter-clockwise degrees; ``turn``: the page lies
    turned ``turn`` degrees counter-clockwise (so cleaning must rotate it clockwise)."""
    rng = np.random.default_rng(seed)
    a = page
    if skew:
        turned = Image.fromarray(a).rotate(skew, resample=Image.Resampling.BILINEAR, fillcolor=255)
        a = np.asarray(turned)
    a = np.rot90(a, turn // 90).astype(np.float32)
    if light:
        h, w = a.shape
        yy, xx = np.mgrid[0:h, 0:w]
        a = a * (1 - light * (xx / w * 0.6 + yy / h * 0.4))
    if blur:
        a = cv2.GaussianBlur(a, (0, 0), blur)
    if border:
        canvas = np.full((a.shape[0] + 2 * border, a.shape[1] + 2 * border), 25, np.float32)
        canvas[border:-border, border:-border] = a
        a = canvas
    if noise:
        a = a + rng.normal(0, noise, a.shape)
    out = np.clip(a, 0, 255).astype(np.uint8)
    if salt:
        m = rng.random(out.shape)
        out[m < salt / 2] = 0
        out[m > 1 - salt / 2] = 255
    return out


def clean(image: np.ndarray, dpi: float = 300.0, assumed: bool = False) -> CleanedPage:
    return clean_page(RawPage(PageRef("scan.tif"), image, dpi, assumed), config=CleanConfig())


def blank_page(*, tone: int = 242, dpi: int = 300) -> np.ndarray:
    return np.full((round(11.69 * dpi), round(8.27 * dpi)), tone, np.uint8)


# --- conventions ---------------------------------------------------------------------
def test_rotate_is_clockwise_in_quarter_turns() -> None:
    a = np.zeros((2, 3), np.uint8)
    a[0, 0] = 1  # top-left
    assert rotate(a, 90).shape == (3, 2) and rotate(a, 90)[0, 1] == 1  # -> top-right
    assert rotate(a, 180)[1, 2] == 1
    assert rotate(a, 270)[2, 0] == 1  # -> bottom-left
    assert rotate(a, 0) is a and rotate(a, 360)[0, 0] == 1
    with pytest.raises(ValueError):
        rotate(a, 45)


def test_config_is_frozen() -> None:
    config = CleanConfig()
    assert config.max_skew_angle == 15.0 and config.min_dpi == 200
    with pytest.raises(pydantic.ValidationError):
        config.max_skew_angle = 20.0  # type: ignore[misc]


# --- orientation ---------------------------------------------------------------------
@pytest.mark.parametrize("font", sorted(FONTS))
@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_orientation_for_each_font_and_quarter_turn(font: str, turn: int) -> None:
    page, _ = render(font, dpi=150)
    found = detect_orientation(degrade(page, turn=turn, skew=1.5), dpi=150)
    assert found.rotation == turn
    assert found.confidence > 0.8


def test_orientation_confidence_is_low_without_text() -> None:
    rng = np.random.default_rng(3)
    dots = np.full((1754, 1240), 255, np.uint8)
    for y, x in rng.integers(50, 1190, (400, 2)):
        cv2.circle(dots, (int(x), int(y)), 6, 0, -1)  # isotropic marks: no line direction
    assert detect_orientation(dots, dpi=150).confidence < 0.5
    assert detect_orientation(blank_page(dpi=150), dpi=150).confidence == 0.0


def _table_page() -> np.ndarray:
    """A ruled table of names and places (a form) at 150 dpi."""
    names = ("Nguyễn Văn Bình", "Trần Thị Hoa", "Lê Minh Đức", "Phạm Quang Huy", "Đỗ Thị Lan",
             "Vũ Hoàng Nam", "Bùi Thanh Tâm", "Hoàng Gia Bảo", "Ngô Thị Yến", "Đặng Văn Khải")
    places = ("Hà Nội", "Hải Phòng", "Đà Nẵng", "Huế", "Cần Thơ", "Nam Định", "Thái Bình",
              "Vinh", "Quy Nhơn", "Nha Trang")
    img = Image.fromarray(blank_page(tone=250, dpi=150))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONTS["dejavu-serif"], 21)
    for r in range(len(names) + 1):
        draw.line([(125, 250 + r * 60), (1125, 250 + r * 60)], fill=0, width=2)
    for x in (125, 350, 750, 1125):
        draw.line([(x, 250), (x, 250 + len(names) * 60)], fill=0, width=2)
    for r, (name, place) in enumerate(zip(names, places, strict=True)):
        y = 250 + r * 60 + 15
        draw.text((140, y), f"{r + 1}", font=font, fill=0)
        draw.text((365, y), name, font=font, fill=0)
        draw.text((765, y), place, font=font, fill=0)
    return np.asarray(img)


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_orientation_of_a_ruled_table(turn: int) -> None:
    found = detect_orientation(degrade(_table_page(), turn=turn, skew=-1.0), dpi=150)
    assert found.rotation == turn and found.confidence > 0.8


def test_orientation_confidence_reflects_the_evidence() -> None:
    page, _ = render(dpi=150)
    full = detect_orientation(page, dpi=150).confidence
    one_line = np.full_like(page, 255)
    one_line[310:350] = page[310:350]  # a single line of body text
    single = detect_orientation(one_line, dpi=150).confidence
    assert full > 0.9 and single < 0.75


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_clean_page_turns_the_page_upright(turn: int) -> None:
    page, _ = render()
    cleaned = clean(degrade(page, turn=turn, skew=-2.0, noise=6))
    assert cleaned.rotation == turn
    assert cleaned.orientation_confidence > 0.8
    assert cleaned.ocr.shape[:2] == page.shape  # portrait again
    assert cleaned.archive_dpi == 200.0  # the archive copy: reduced to 200 dpi
    assert cleaned.archive.shape[:2] == tuple(round(n * 2 / 3) for n in page.shape)
    assert abs(cleaned.skew - -2.0) <= 0.5
    # the title block is at the top again
    top, bottom = cleaned.ocr[: page.shape[0] // 2], cleaned.ocr[page.shape[0] // 2 :]
    assert (top == 0).sum() > 3 * (bottom == 0).sum()


# --- skew -------------------------------------------------------------------------------
@pytest.mark.parametrize("angle", [3.0, -3.0, 10.0, -10.0, 15.0, -15.0])
def test_skew_is_found_and_removed(angle: float) -> None:
    page, _ = render()
    cleaned = clean(degrade(page, skew=angle))
    assert abs(cleaned.skew - angle) <= 0.5
    assert cleaned.rotation == 0
    # after deskewing, a second pass finds (almost) no skew left
    again = clean(cleaned.archive, dpi=cleaned.archive_dpi)
    assert abs(again.skew) <= 0.3


def test_deskew_stage_function() -> None:
    page, _ = render(dpi=150)
    result = deskew(degrade(page, skew=-7.0), max_angle=15.0, dpi=150)
    assert abs(result.angle - -7.0) <= 0.5
    assert abs(deskew(result.image, dpi=150).angle) <= 0.3


# --- border, lighting, noise, binarisation --------------------------------------------------
def test_dark_scanner_border_is_removed() -> None:
    page, _ = render()
    scan = degrade(page, border=150, skew=4.0)
    cleaned = clean(scan)
    h, w = cleaned.ocr.shape[:2]
    assert h <= page.shape[0] + 10 and w <= page.shape[1] + 10
    assert h >= page.shape[0] - 300 and w >= page.shape[1] - 300  # the paper is kept
    strips = [cleaned.archive[:15], cleaned.archive[-15:], cleaned.archive[:, :15],
              cleaned.archive[:, -15:]]
    assert all(float(s.mean()) > 240 for s in strips)
    assert all(float((s == 0).mean()) < 0.01 for s in (cleaned.ocr[:15], cleaned.ocr[:, -15:]))


def test_crop_border_stage_function() -> None:
    page, _ = render(dpi=150)
    cropped = crop_border(degrade(page, border=60), dpi=150)
    left, top, right, bottom = cropped.box
    assert 55 <= left <= 70 and 55 <= top <= 70
    assert cropped.image.shape == (bottom - top, right - left)
    assert float(cropped.image[:5].mean()) > 240


def test_uneven_lighting_is_evened_out() -> None:
    page, _ = render()
    cleaned = clean(degrade(page, light=0.6))
    paper = cleaned.archive
    corners = [paper[50:150, 50:150], paper[-150:-50, -150:-50], paper[50:150, -150:-50]]
    levels = [float(np.median(c)) for c in corners]
    assert max(levels) - min(levels) < 12 and min(levels) > 235
    normalized = normalize_illumination(degrade(page, light=0.6), dpi=300)
    assert float(np.median(normalized[-150:-50, -150:-50])) > 235


def test_salt_and_pepper_noise_is_removed_for_ocr() -> None:
    page, _ = render()
    noisy = degrade(page, salt=0.04, noise=10)
    cleaned = clean(noisy)
    empty = cleaned.ocr[-900:-300, 300:-300]  # below the text: paper only
    assert float((empty == 0).mean()) < 0.0005
    assert float((noisy[-900:-300, 300:-300] < 128).mean()) > 0.01
    smoothed = denoise(noisy)
    assert float((smoothed[-900:-300, 300:-300] < 128).mean()) < 0.001
    assert denoise(page) is page  # clean pages are left alone


def test_ocr_image_is_binary_and_the_archive_the_same_page_at_200_dpi() -> None:
    page, _ = render()
    cleaned = clean(degrade(page, skew=2.0, light=0.3, border=60))
    assert cleaned.ocr.dtype == np.uint8 and cleaned.ocr_dpi == 300.0
    scale = cleaned.archive_dpi / cleaned.dpi
    assert scale == pytest.approx(2 / 3, abs=0.001)
    for full, reduced in zip(cleaned.ocr.shape, cleaned.archive.shape[:2], strict=True):
        assert abs(full * scale - reduced) <= 2  # the same crop of the same page
    assert set(np.unique(cleaned.ocr)) <= {0, 255}
    assert 0.01 < float((cleaned.ocr == 0).mean()) < 0.2
    assert set(np.unique(binarize(page))) <= {0, 255}


@pytest.mark.parametrize("dpi", [300, 600])
def test_the_archive_copy_is_a_faithful_reduction(dpi: int) -> None:
    page, _ = render(dpi=dpi)  # clean: the archive copy is the page, only reduced
    cleaned = clean(page, dpi=dpi)
    assert cleaned.pristine and cleaned.archive.shape[:2] == tuple(
        round(n * 200 / dpi) for n in page.shape)
    size = cleaned.archive.shape[1::-1]
    by_area = cv2.resize(page, size, interpolation=cv2.INTER_AREA)
    # bilinear from 300 dpi, by area from 600: either within 40 dB of averaging by area
    # (taking every other pixel, say, gives about 20 dB on text)
    assert cv2.PSNR(cleaned.archive, by_area) > 40
    assert cv2.PSNR(cv2.resize(page, size, interpolation=cv2.INTER_NEAREST), by_area) < 30


def test_a_coarse_scan_keeps_its_resolution_in_the_archive() -> None:
    page, _ = render(dpi=150)
    cleaned = clean(degrade(page, skew=2.0), dpi=150)
    assert cleaned.archive_dpi == 150.0  # never enlarged to 200 dpi
    assert cleaned.archive.shape[:2] == page.shape


def test_colour_is_kept_in_the_archive_image() -> None:
    page, _ = render()
    rgb = np.ascontiguousarray(np.dstack([page] * 3))
    rgb[..., 2] = np.minimum(rgb[..., 2], 225)  # yellowish paper
    center = (1800, 2900)
    cv2.circle(rgb, center, 220, (200, 20, 30), 14)  # a red seal
    cv2.circle(rgb, center, 150, (200, 20, 30), 8)
    cleaned = clean(rgb)
    assert cleaned.archive.ndim == 3 and cleaned.rotation == 0
    f = cleaned.archive_dpi / cleaned.dpi  # the archive copy is reduced to 200 dpi
    x, y = round(center[0] * f), round((center[1] - 220) * f)
    ring = cleaned.archive[y - 2 : y + 3, x - 3 : x + 4]
    assert float(ring[..., 0].mean()) > 150 and float(ring[..., 1].mean()) < 90
    paper = cleaned.archive[-200:-100, 100:200].reshape(-1, 3).mean(axis=0)
    assert paper.min() > 240  # colour cast of the paper evened out


# --- blank pages ---------------------------------------------------------------------------
def _show_through() -> np.ndarray:
    page, _ = render()
    mirrored = page[:, ::-1].astype(np.float32)
    return (236 + (mirrored / 255.0) * 14).astype(np.uint8)  # faint text seen from the back


@pytest.mark.parametrize(
    "scan",
    [
        pytest.param(lambda: blank_page(), id="plain"),
        pytest.param(lambda: degrade(blank_page(), noise=18, salt=0.03, border=120, light=0.4),
                     id="noise-border-light"),
        pytest.param(lambda: degrade(_show_through(), noise=8, border=60, skew=3),
                     id="show-through"),
    ],
)
def test_blank_pages_are_detected(scan: object) -> None:
    image = scan()  # type: ignore[operator]
    cleaned = clean(image)
    assert cleaned.blank
    assert cleaned.rotation == 0 and cleaned.orientation_confidence == 0.0


def _little_text(kind: str) -> np.ndarray:
    img = Image.fromarray(blank_page(tone=245))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONTS["dejavu-serif"], 50)
    if kind == "one-line":
        draw.text((300, 600), "Nguyễn Văn An", font=font, fill=20)
    elif kind == "signature":
        pts = [(1500 + 12 * i, 2600 + int(60 * np.sin(i / 3.0))) for i in range(40)]
        draw.line(pts, fill=30, width=6)
        draw.line([(1480, 2700), (1990, 2640)], fill=30, width=5)
    else:  # photocopy of an ID card
        draw.rounded_rectangle((400, 500, 1410, 1140), radius=40, outline=60, width=4, fill=215)
        draw.rectangle((450, 650, 700, 980), fill=120)
        for i, text in enumerate(("CĂN CƯỚC CÔNG DÂN", "Họ và tên: TRẦN VĂN BÌNH", "Số: 001")):
            draw.text((740, 620 + 90 * i), text, font=ImageFont.truetype(BOLD, 34), fill=30)
    return np.asarray(img)


@pytest.mark.parametrize("kind", ["one-line", "signature", "id-card"])
def test_pages_with_little_content_are_not_blank(kind: str) -> None:
    cleaned = clean(degrade(_little_text(kind), noise=8, light=0.3))
    assert not cleaned.blank


def test_detect_blank_stage_function() -> None:
    page, _ = render(dpi=150)
    assert detect_blank(blank_page(tone=255, dpi=150), dpi=150)
    assert not detect_blank(page, dpi=150)


# --- quality -------------------------------------------------------------------------------
def test_quality_of_a_good_scan_has_no_flags() -> None:
    page, _ = render()
    quality = clean(page).quality
    assert quality.flags == ()
    assert quality.dpi == 300 and not quality.dpi_assumed
    assert quality.contrast > 0.8 and quality.blur < 0.2


def test_quality_flags_low_resolution_and_assumed_dpi() -> None:
    page, _ = render(dpi=150)
    quality = clean(page, dpi=150, assumed=True).quality
    assert "low_resolution" in quality.flags and "dpi_assumed" in quality.flags
    assert "blurry" not in quality.flags and quality.dpi_assumed


def test_quality_flags_blur_and_low_contrast() -> None:
    page, _ = render()
    blurry = clean(degrade(page, blur=3.0)).quality
    assert "blurry" in blurry.flags and blurry.blur > 0.35
    slight = clean(degrade(page, blur=0.8)).quality
    assert "blurry" not in slight.flags
    faded, _ = render(ink=160, paper=215)
    low = clean(faded).quality
    assert "low_contrast" in low.flags and low.contrast < 0.35
    assert not clean(faded).blank


# --- end to end with Tesseract ------------------------------------------------------------------
def _tesseract(image: np.ndarray) -> str:
    tesseract = shutil.which("tesseract")
    assert tesseract, "tesseract must be installed"
    ok, png = cv2.imencode(".png", image)
    assert ok
    env = {"OMP_THREAD_LIMIT": "1", "PATH": os.environ.get("PATH", "/usr/bin")}
    done = subprocess.run(
        [tesseract, "-", "-", "-l", "vie", "--dpi", "300"],
        input=png.tobytes(), capture_output=True, env=env, timeout=120, check=True,
    )
    return done.stdout.decode("utf-8")


def _cer(found: str, truth: str) -> float:
    return Levenshtein.normalized_distance(" ".join(found.split()), " ".join(truth.split()))


def test_tesseract_reads_the_cleaned_page_much_better() -> None:
    page, truth = render(paras=2)
    scan = degrade(page, skew=4.0, light=0.6, noise=20, salt=0.03, border=100)
    raw_cer = _cer(_tesseract(scan), truth)
    cleaned_cer = _cer(_tesseract(clean(scan).ocr), truth)
    assert cleaned_cer < 0.03
    assert raw_cer > cleaned_cer + 0.05


def test_small_text_is_enlarged_as_the_whole_page_measures_it() -> None:
    """Large pages are measured on a quarter of their lines first; that sample only
    ever says "large enough". Small text on a large page is enlarged by what the
    whole page measures, as before; ordinary 300-dpi text is not enlarged."""
    config = CleanConfig()
    ordinary, _ = render(dpi=300)
    assert ordinary.shape[0] >= 1600
    height = text_height(ordinary)
    assert height is not None and height >= config.ocr_min_text_px
    assert ocr_scale(ordinary, config=config) == 1.0
    small, _ = render(dpi=110)  # 12 pt at 110 dpi: glyphs well under 16 px
    padded = np.pad(small, ((0, 3500 - small.shape[0]), (0, 0)), constant_values=255)
    whole = text_height(padded)
    assert whole is not None and whole < config.ocr_min_text_px
    expected = round(min(config.ocr_max_upscale, config.ocr_text_px / whole), 3)
    assert ocr_scale(padded, config=config) == expected > 1.0


def test_a_clean_bilevel_or_rendered_page_is_read_as_it_came() -> None:
    page, _ = render()
    bilevel = np.where(page < 128, 0, 255).astype(np.uint8)
    for image in (page, bilevel):
        assert noise_level(image) < 0.0005  # text strokes are not impulse noise
        cleaned = clean(image)
        assert cleaned.pristine
        assert cleaned.ocr is not None and np.array_equal(cleaned.ocr, image)
    for scanned in (degrade(page, noise=6), degrade(page, light=0.3), degrade(page, salt=0.02)):
        cleaned = clean(scanned)
        assert not cleaned.pristine
        assert set(np.unique(cleaned.ocr)) <= {0, 255}
