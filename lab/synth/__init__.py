"""Deterministic synthetic scans: Vietnamese page rendering and scanner degradations."""

from lab.synth.degrade import DegradeSpec, degrade, moderate
from lab.synth.render import PageSpec, SynthPage, body_cer, cer, render_page

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
