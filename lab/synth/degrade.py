"""Deterministic scanner-like degradations of a rendered page (RGB uint8 in and out).

Order follows a real flatbed/ADF scan: uneven lighting on the paper, the paper
lying skewed on a dark scanner background (dark border), the page fed upside
down or sideways (rotation), optics blur, sensor noise with a few dust
specks, then JPEG compression. :func:`moderate` gives the "moderately degraded
300-dpi" parameters that a decent cleaning stage must be able to undo.
"""

from __future__ import annotations

import random

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator


class DegradeSpec(BaseModel):
    """Degradation parameters; all zero/None = identity."""

    model_config = ConfigDict(frozen=True)

    rotation: int = 0  # clockwise quarter turns in degrees: 0, 90, 180, 270
    skew_deg: float = Field(default=0.0, ge=-45, le=45)  # counter-clockwise, degrees
    border_px: int = Field(default=0, ge=0)  # dark scanner background around the page
    noise: float = Field(default=0.0, ge=0, le=1)  # gaussian sigma 20*noise + specks
    blur: float = Field(default=0.0, ge=0, le=10)  # gaussian sigma in pixels
    jpeg_quality: int | None = Field(default=None, ge=5, le=100)
    uneven_light: float = Field(default=0.0, ge=0, le=1)  # gradient + vignette strength
    # --- how papers really arrive (all off by default) ---
    crop_content: bool = False  # keep only the inked region: a card filling the frame
    yellow: float = Field(default=0.0, ge=0, le=1)  # aged, yellowed paper
    perspective: float = Field(default=0.0, ge=0, le=0.2)  # phone photo: corners moved
    scale: float = Field(default=1.0, gt=0.1, le=1)  # resampled: 0.4 of 300 dpi = 120 dpi
    bilevel: bool = False  # black and white scan
    seed: int = 0

    @field_validator("rotation")
    @classmethod
    def _quarter_turns(cls, v: int) -> int:
        if v not in (0, 90, 180, 270):
            raise ValueError("rotation must be 0, 90, 180 or 270")
        return v


def arrival(seed: int, *, card: bool = False) -> DegradeSpec:
    """A page as branches really receive it, deterministic in ``seed``: a card
    photographed or scanned filling the frame, a phone photo (perspective,
    uneven light), a 100-150 dpi scan, a bilevel scan, yellowed paper, or a
    moderate scan; never sideways."""
    rng = random.Random(f"arrival:{seed}")
    base = moderate(seed).model_copy(update={"rotation": 0})
    kind = rng.choices(
        ("frame", "photo", "lowres", "bilevel", "yellow", "scan"),
        weights=(3 if card else 0, 2, 2, 2, 2, 2),
    )[0]
    if kind == "frame":
        return base.model_copy(update={"crop_content": True, "border_px": 0, "skew_deg": 0.0,
                                       "perspective": round(rng.uniform(0, 0.04), 3)})
    if kind == "photo":
        return base.model_copy(update={"perspective": round(rng.uniform(0.02, 0.06), 3),
                                       "border_px": 0, "uneven_light": 0.7})
    if kind == "lowres":
        return base.model_copy(update={"scale": rng.choice((1 / 3, 0.4, 0.5)), "blur": 0.6})
    if kind == "bilevel":
        return DegradeSpec(skew_deg=base.skew_deg / 2, bilevel=True, seed=seed)
    if kind == "yellow":
        return base.model_copy(update={"yellow": round(rng.uniform(0.4, 1.0), 2)})
    return base


def moderate(seed: int) -> DegradeSpec:
    """Moderately degraded 300-dpi scan parameters, deterministic in ``seed``.

    Skew within +/-5 degrees, a dark border, light noise, blur sigma 0.8-1.2,
    JPEG quality 50-75, uneven light, and the page upside down for 1 seed in 4.
    """
    rng = random.Random(f"moderate:{seed}")
    skew = rng.uniform(0.5, 5.0) * rng.choice((-1, 1))
    return DegradeSpec(
        rotation=180 if rng.random() < 0.25 else 0,
        skew_deg=round(skew, 2),
        border_px=rng.randint(40, 120),
        noise=round(rng.uniform(0.2, 0.4), 3),
        blur=round(rng.uniform(0.8, 1.2), 3),
        jpeg_quality=rng.randint(50, 75),
        uneven_light=round(rng.uniform(0.3, 0.6), 3),
        seed=seed,
    )


def _uneven_light(img: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Multiply by a smooth field: linear gradient in a random direction + vignette."""
    h, w = img.shape[:2]
    sh, sw = max(2, h // 8), max(2, w // 8)  # smooth field: compute small, then resize
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    xx, yy = xx / (sw - 1) - 0.5, yy / (sh - 1) - 0.5
    ang = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(ang) * xx + np.sin(ang) * yy) + 0.5  # 0..1-ish
    cx, cy = rng.uniform(-0.2, 0.2, size=2)
    vig = ((xx - cx) ** 2 + (yy - cy) ** 2) * 2.0
    small = (1.0 - strength * 0.5 * (0.65 * grad + 0.35 * vig)).astype(np.float32)
    light = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    out = img.astype(np.float32) * np.clip(light, 0.3, 1.0)[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def _crop_content(img: np.ndarray) -> np.ndarray:
    """The inked region (card, stamp...) with a 3 % margin: what a phone photo or a
    card scanner gives of a card instead of an A4 sheet."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    ys, xs = np.nonzero(grey < 200)
    if len(xs) == 0:
        return img.copy()
    h, w = grey.shape
    my, mx = int(0.03 * h), int(0.03 * w)
    top, bottom = max(0, ys.min() - my), min(h, ys.max() + my)
    left, right = max(0, xs.min() - mx), min(w, xs.max() + mx)
    return np.ascontiguousarray(img[top:bottom, left:right])


def _perspective(img: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """A phone photo: the page's corners pulled in by up to ``amount`` of its size,
    on a table-coloured background."""
    h, w = img.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    pull = rng.uniform(0, amount, size=(4, 2)) * np.array([w, h], dtype=np.float32)
    sign = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float32)
    dst = (src + sign * pull).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    table = tuple(int(v) for v in rng.integers(90, 160, size=3))
    return cv2.warpPerspective(
        img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=table
    )


def _skew_on_background(
    img: np.ndarray, skew_deg: float, border_px: int, rng: np.random.Generator
) -> np.ndarray:
    """Rotate the page by ``skew_deg`` onto a dark background ``border_px`` wide."""
    h, w = img.shape[:2]
    shade = int(rng.integers(20, 60))
    background = (shade, shade, shade + 4)
    if skew_deg == 0 and border_px == 0:
        return img
    rad = np.deg2rad(abs(skew_deg))
    bw = int(np.ceil(w * np.cos(rad) + h * np.sin(rad))) + 2 * border_px
    bh = int(np.ceil(w * np.sin(rad) + h * np.cos(rad))) + 2 * border_px
    m = cv2.getRotationMatrix2D((w / 2, h / 2), skew_deg, 1.0)
    m[0, 2] += bw / 2 - w / 2
    m[1, 2] += bh / 2 - h / 2
    out = cv2.warpAffine(
        img,
        m,
        (bw, bh),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=background,
    )
    if border_px:  # page edge shadow: a soft dark line along the paper edge
        paper = cv2.warpAffine(
            np.full((h, w), 255, np.uint8), m, (bw, bh), flags=cv2.INTER_LINEAR, borderValue=0
        )
        edge = cv2.GaussianBlur(cv2.Canny(paper, 50, 150), (0, 0), 2.0).astype(np.float32)
        edge = np.clip(edge / max(float(edge.max()), 1.0), 0, 1)[:, :, None] * 0.5
        out = (out.astype(np.float32) * (1.0 - edge)).astype(np.uint8)
    return out


def _noise(img: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian luminance noise (sigma 20*amount) plus salt-and-pepper specks."""
    h, w = img.shape[:2]
    sigma = 20.0 * amount
    noisy = img.astype(np.float32) + rng.normal(0.0, sigma, size=(h, w, 1)).astype(np.float32)
    out = np.clip(noisy, 0, 255).astype(np.uint8)
    count = int(h * w * 0.0008 * amount)
    if count:
        ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
        out[ys, xs] = np.where(rng.random(count) < 0.5, 0, 255)[:, None].astype(np.uint8)
    return out


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("JPEG decoding failed")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def degrade(image: np.ndarray, spec: DegradeSpec) -> np.ndarray:
    """Apply ``spec`` to an RGB (or grey) uint8 page; returns a new RGB uint8 array."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"degrade needs a uint8 image, got {img.dtype}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    rng = np.random.default_rng(spec.seed)
    out = _crop_content(img) if spec.crop_content else img.copy()
    if spec.yellow > 0:
        tint = np.array([1.0, 1.0 - 0.07 * spec.yellow, 1.0 - 0.28 * spec.yellow], np.float32)
        out = np.clip(out.astype(np.float32) * tint, 0, 255).astype(np.uint8)
    if spec.perspective > 0:
        out = _perspective(out, spec.perspective, rng)
    if spec.uneven_light > 0:
        out = _uneven_light(out, spec.uneven_light, rng)
    out = _skew_on_background(out, spec.skew_deg, spec.border_px, rng)
    if spec.rotation:
        out = np.ascontiguousarray(np.rot90(out, k=-(spec.rotation // 90)))
    if spec.blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), spec.blur)
    if spec.scale < 1:
        h, w = out.shape[:2]
        size = (max(16, round(w * spec.scale)), max(16, round(h * spec.scale)))
        out = cv2.resize(out, size, interpolation=cv2.INTER_AREA)
    if spec.noise > 0:
        out = _noise(out, spec.noise, rng)
    if spec.bilevel:
        grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        out = cv2.cvtColor(np.where(grey < 150, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2RGB)
    if spec.jpeg_quality is not None:
        out = _jpeg(out, spec.jpeg_quality)
    return out
