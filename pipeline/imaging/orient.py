"""Page orientation (0/90/180/270) and skew estimation from an ink mask.

Everything here works on a small binary ink mask (about 100-150 dpi): text lines
make the projection profile of the ink sharp when projected along their
direction, which gives both the axis of the lines (0/180 vs 90/270) and the
skew. Up vs down comes from the shape of each text line: Vietnamese/Latin text
has much more ink above the x-height band (ascenders, capitals, diacritics)
than below it (few descenders), and lines start at a common left margin while
they end ragged.

Conventions (used by the whole imaging package):

* ``rotation`` is the clockwise quarter-turn, in degrees (0/90/180/270), that
  makes the page upright: ``rotate(image, rotation)``.
* ``skew`` is the angle of the text lines in the upright page, in degrees,
  positive counter-clockwise (lines rising to the right). Deskewing rotates the
  page by ``skew`` degrees clockwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "LineGeometry",
    "Orientation",
    "detect_orientation",
    "estimate_lines",
    "remove_rules",
    "rotate",
]

_MAX_POINTS = 60_000
_MIN_POINTS = 400


@dataclass(frozen=True)
class Orientation:
    """``rotation``: clockwise degrees to apply to make the page upright."""

    rotation: int
    confidence: float


@dataclass(frozen=True)
class LineGeometry:
    """What the ink mask says about the text lines of a page.

    ``rotation``/``confidence`` as in :class:`Orientation`; ``skew`` in degrees
    (see module doc); ``axis_confidence`` is how sure we are the lines are
    horizontal vs vertical, ``updown_confidence`` how sure about up vs down.
    """

    rotation: int
    confidence: float
    skew: float
    axis_confidence: float = 0.0
    updown_confidence: float = 0.0


def rotate(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate by ``rotation`` degrees CLOCKWISE (a multiple of 90)."""
    k = (int(rotation) // 90) % 4
    if rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90, got {rotation}")
    if k == 0:
        return image
    code = (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)[k - 1]
    return cv2.rotate(image, code)


def remove_rules(ink: np.ndarray, *, length: int = 0) -> np.ndarray:
    """Ink mask without long straight (table/form) rules: they are not text lines.

    ``length``: shortest rule in pixels (default: 1/12 of the page width, ~17 mm on A4).
    Slanted rules survive as short pieces, which the line statistics tolerate.
    """
    if length <= 0:
        length = max(15, min(ink.shape[:2]) // 12)
    binary = (ink > 0).astype(np.uint8)
    horizontal = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    vertical = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8))
    rules = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((3, 3), np.uint8))
    if not rules.any():
        return ink
    return np.where(rules > 0, 0, ink).astype(ink.dtype)


def _points(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    if len(xs) > _MAX_POINTS:
        step = len(xs) // _MAX_POINTS + 1
        ys, xs = ys[::step], xs[::step]
    pts = np.stack([xs, ys]).astype(np.float32)
    if pts.shape[1] == 0:
        return pts
    return pts - pts.mean(axis=1, keepdims=True)


def _score(pts: np.ndarray, theta_deg: float) -> float:
    """Sharpness of the profile of the points projected across direction theta."""
    t = np.deg2rad(theta_deg)
    r = pts[1] * np.cos(t) - pts[0] * np.sin(t)
    idx = (r - r.min()).astype(np.int32)
    hist = np.bincount(idx).astype(np.float64)
    d = np.diff(hist)
    return float(np.dot(d, d))


def _best_angle(pts: np.ndarray, center: float, half: float, step: float) -> tuple[float, float]:
    angles = np.arange(center - half, center + half + step / 2, step)
    scores = [_score(pts, float(a)) for a in angles]
    i = int(np.argmax(scores))
    return float(angles[i]), float(scores[i])


def estimate_lines(ink: np.ndarray, *, max_angle: float = 15.0) -> LineGeometry:
    """Orientation and skew of the text in a binary ink mask (non-zero = ink)."""
    ink = remove_rules(ink)
    pts = _points(ink)
    if pts.shape[1] < _MIN_POINTS:
        return LineGeometry(rotation=0, confidence=0.0, skew=0.0)
    max_angle = float(min(max(max_angle, 1.0), 44.0))
    coarse = 1.0
    h_angle, h_score = _best_angle(pts, 0.0, max_angle, coarse)
    v_angle, v_score = _best_angle(pts, 90.0, max_angle, coarse)
    vertical = v_score > h_score
    ratio = max(h_score, v_score) / max(min(h_score, v_score), 1e-9)
    # ratio ~1: no preferred axis; text pages give ratios of 3-30.
    axis_conf = float(np.clip((np.log(ratio) - np.log(1.15)) / (np.log(2.5) - np.log(1.15)), 0, 1))
    best = v_angle if vertical else h_angle
    best, _ = _best_angle(pts, best, 1.0, 0.2)
    best, _ = _best_angle(pts, best, 0.2, 0.04)
    delta = best - (90.0 if vertical else 0.0)
    skew = -delta + 0.0  # y axis points down: a positive image angle is clockwise
    base = 90 if vertical else 0
    upright = np.ascontiguousarray(rotate(ink, base))
    up_score, evidence, lines = _updown_score(upright, delta)
    rotation = base if up_score >= 0 else (base + 180) % 360
    # Vietnamese text gives |score| of 0.35-0.9; few lines or little ink = weak evidence.
    updown_conf = float(
        np.clip(abs(up_score) / 0.3, 0, 1)
        * min(1.0, np.sqrt(evidence / 300.0))
        * min(1.0, lines / 6.0)
    )
    # ~probability that the rotation is right: a coin flip when up/down is unknown.
    confidence = axis_conf * (0.5 + 0.5 * updown_conf)
    return LineGeometry(
        rotation=int(rotation),
        confidence=round(float(confidence), 3),
        skew=round(float(skew), 2) + 0.0,
        axis_confidence=round(axis_conf, 3),
        updown_confidence=round(updown_conf, 3),
    )


def detect_orientation(ink: np.ndarray, *, max_angle: float = 15.0) -> Orientation:
    """Quarter-turn that makes the page upright, from a binary ink mask."""
    geo = estimate_lines(ink, max_angle=max_angle)
    return Orientation(rotation=geo.rotation, confidence=geo.confidence)


def _line_runs(hist: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs of a line profile separated by near-empty rows."""
    if hist.size == 0 or hist.max() <= 0:
        return []
    floor = 0.04 * float(np.percentile(hist[hist > 0], 90))
    on = hist > floor
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _updown_score(mask: np.ndarray, delta_deg: float) -> tuple[float, float, int]:
    """(score, evidence, lines): score > 0 when the lines look upright, < 0 when upside
    down, in [-1, 1]; evidence is the ink mass (pixels) above + below the x-height
    bands, discounted when the lines disagree; lines is the number of text lines used."""
    ys, xs = np.nonzero(mask)
    if len(xs) < _MIN_POINTS:
        return 0.0, 0.0, 0
    t = np.deg2rad(delta_deg)
    r = ys * np.cos(t) - xs * np.sin(t)
    along = xs * np.cos(t) + ys * np.sin(t)
    idx = (r - r.min()).astype(np.int32)
    hist = np.bincount(idx).astype(np.float64)
    hist = np.maximum(hist - np.percentile(hist, 15), 0.0)  # remove the noise floor
    votes: list[tuple[float, float]] = []
    starts: list[float] = []
    ends: list[float] = []
    for a, b in _line_runs(hist):
        if b - a < 4:
            continue
        seg = hist[a:b]
        core = np.flatnonzero(seg >= 0.5 * seg.max())
        top, bottom = int(core[0]), int(core[-1])
        if bottom - top < 2:
            continue
        votes.append((float(seg[:top].sum()), float(seg[bottom + 1 :].sum())))
        sel = (idx >= a) & (idx < b)
        if sel.sum() > 20:
            starts.append(float(np.percentile(along[sel], 1)))
            ends.append(float(np.percentile(along[sel], 99)))
    above = sum(v[0] for v in votes)
    below = sum(v[1] for v in votes)
    if above + below <= 0:
        return 0.0, 0.0, 0
    shape = (above - below) / (above + below)
    score = float(np.clip(shape + 0.5 * _margin_score(starts, ends), -1, 1))
    # weighted share of lines that vote like the page: 1 = unanimous, 0.5 = split
    sign = 1.0 if score >= 0 else -1.0
    agree = sum(u + d for u, d in votes if (u - d) * sign > 0) / (above + below)
    return score, (above + below) * max(0.0, 2.0 * agree - 1.0), len(votes)


def _margin_score(starts: list[float], ends: list[float]) -> float:
    """> 0 when lines share a left edge more than a right edge (left-aligned text)."""
    if len(starts) < 4:
        return 0.0
    s, e = np.asarray(starts), np.asarray(ends)

    def aligned(v: np.ndarray, lo_side: bool) -> float:
        ref = np.percentile(v, 10 if lo_side else 90)
        return float(np.mean(np.abs(v - ref) <= 3.0))

    return float(np.clip(aligned(s, True) - aligned(e, False), -1, 1))
