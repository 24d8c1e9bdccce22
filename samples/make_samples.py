"""Regenerates the sample dossiers in samples/ (deterministic).

    .venv/bin/python samples/make_samples.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lab.synth.degrade import DegradeSpec, moderate
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec

HERE = Path(__file__).resolve().parent


def page(doc_type: str | None, title: str | None, seed: int, **kw: object) -> PageSpec:
    return PageSpec(doc_type=doc_type, title=title, seed=seed, **kw)  # type: ignore[arg-type]


def birth_complete() -> None:
    folder = HERE / "birth-complete"
    shutil.rmtree(folder, ignore_errors=True)
    write_dossier(folder, [
        SynthFile("001-to-khai.tif", (
            (page("birth_reg_form", "TỜ KHAI ĐĂNG KÝ KHAI SINH", 11, fields=10, body_paragraphs=1),
             DegradeSpec(skew_deg=2.5, border_px=40, noise=0.05, blur=0.6, uneven_light=0.4,
                         seed=11)),
            (page("birth_reg_form", None, 12, continuation=True, body_paragraphs=3),
             DegradeSpec(skew_deg=-1.5, noise=0.05, seed=12)),
        )),
        SynthFile("002-giay-chung-sinh.jpg", (
            (page("birth_certificate_medical", "GIẤY CHỨNG SINH", 21, fields=8),
             DegradeSpec(rotation=180, skew_deg=-3.0, border_px=30, noise=0.08, blur=0.8,
                         jpeg_quality=70, uneven_light=0.5, seed=21)),
        )),
        SynthFile("003-mat-sau.png", ((page(None, None, 31, blank=True),
                                       DegradeSpec(border_px=25, seed=31)),)),
        SynthFile("004-can-cuoc.pdf", (
            (page("citizen_id", "CĂN CƯỚC CÔNG DÂN", 41, fields=6, body_paragraphs=0, dpi=200),
             moderate(41).model_copy(update={"rotation": 0})),
        ), dpi=200),
    ], manifest={
        "dossier_id": "HN-CG-2026-000123", "procedure": "birth_registration",
        "branch": "cau-giay", "facts": {"by_representative": False},
        "submitted_at": "2026-11-20T09:15:00+07:00",
    })


def birth_incomplete() -> None:
    folder = HERE / "birth-incomplete"
    shutil.rmtree(folder, ignore_errors=True)
    write_dossier(folder, [
        SynthFile("001.jpg", ((page("birth_reg_form", "TỜ KHAI ĐĂNG KÝ KHAI SINH", 51, fields=10),
                               moderate(51).model_copy(update={"rotation": 0})),)),
        SynthFile("002.jpg", ((page("marriage_certificate", "GIẤY CHỨNG NHẬN KẾT HÔN", 52),
                               DegradeSpec(skew_deg=4.0, noise=0.05, seed=52)),)),
    ], manifest={
        "dossier_id": "HN-BD-2026-000456", "procedure": "birth_registration",
        "branch": "ba-dinh", "facts": {"by_representative": True},
        "submitted_at": "2026-11-20T10:40:00+07:00",
    })


if __name__ == "__main__":
    birth_complete()
    birth_incomplete()
    for f in sorted(HERE.glob("*/*")):
        print(f"{f.relative_to(HERE)}  {f.stat().st_size // 1024} KB")
