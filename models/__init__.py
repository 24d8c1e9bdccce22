"""Catalog data, typed schemas and the trained classifier artifact (``classifier/``)."""

from pathlib import Path

CLASSIFIER_DIR = Path(__file__).resolve().parent / "classifier"
