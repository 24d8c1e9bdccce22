"""Synthetic dossiers on disk: page files in the formats scanners send, plus a manifest.

Used by ``samples/make_samples.py``, the benchmark and the end-to-end tests.
Deterministic from the seeds in the spec.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lab.synth.degrade import DegradeSpec, degrade
from lab.synth.render import PageSpec, SynthPage, render_page


@dataclass(frozen=True)
class SynthFile:
    """One page file: ``pages`` rendered and degraded, saved as ``name`` (format from suffix)."""

    name: str
    pages: tuple[tuple[PageSpec, DegradeSpec | None], ...]
    dpi: int = 300
    write_dpi: bool = True


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    rendered: tuple[SynthPage, ...]
    clean: tuple[np.ndarray, ...]  # the renders before degradation


def _save(images: Sequence[np.ndarray], path: Path, *, dpi: int, write_dpi: bool) -> None:
    pil = [Image.fromarray(a) for a in images]
    suffix = path.suffix.lower()
    extra: dict[str, Any] = {"dpi": (dpi, dpi)} if write_dpi else {}
    if suffix in (".tif", ".tiff"):
        pil[0].save(
            path, save_all=True, append_images=pil[1:], compression="tiff_jpeg", quality=80, **extra
        )
    elif suffix == ".pdf":
        pil[0].save(path, save_all=True, append_images=pil[1:], resolution=float(dpi), quality=80)
    elif suffix in (".jpg", ".jpeg"):
        assert len(pil) == 1, "one page per JPEG"
        pil[0].save(path, quality=80, **extra)
    elif suffix == ".png":
        assert len(pil) == 1, "one page per PNG"
        buf = io.BytesIO()
        pil[0].convert("L").save(buf, format="PNG", optimize=True, **extra)
        path.write_bytes(buf.getvalue())
    else:
        raise ValueError(f"unsupported sample format: {path.name}")


def write_file(folder: Path, spec: SynthFile) -> WrittenFile:
    rendered = tuple(render_page(p) for p, _ in spec.pages)
    degraded = [
        degrade(r.image, d) if d is not None else r.image
        for r, (_, d) in zip(rendered, spec.pages, strict=True)
    ]
    path = folder / spec.name
    _save(degraded, path, dpi=spec.dpi, write_dpi=spec.write_dpi)
    return WrittenFile(path=path, rendered=rendered, clean=tuple(r.image for r in rendered))


def write_dossier(
    folder: Path, files: Sequence[SynthFile], *, manifest: dict[str, object] | None = None
) -> list[WrittenFile]:
    folder.mkdir(parents=True, exist_ok=True)
    written = [write_file(folder, f) for f in files]
    if manifest is not None:
        (folder / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return written
