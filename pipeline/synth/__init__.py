"""Deterministic synthetic scans: Vietnamese page rendering and scanner degradations."""

from pipeline.synth.degrade import DegradeSpec, degrade, moderate
from pipeline.synth.render import PageSpec, SynthPage, body_cer, cer, render_page

__all__ = [
    "DegradeSpec",
    "PageSpec",
    "SynthPage",
    "body_cer",
    "cer",
    "degrade",
    "moderate",
    "render_page",
]
