"""Page classification and grouping of pages into documents."""

from pipeline.classify.group import DocumentGroup, group_documents
from pipeline.classify.text import fold, strip_diacritics
from pipeline.classify.titles import (
    PageClassifier,
    PageText,
    TitleClassifier,
    TitleConfig,
    TitleHit,
)

__all__ = [
    "DocumentGroup",
    "PageClassifier",
    "PageText",
    "TitleClassifier",
    "TitleConfig",
    "TitleHit",
    "fold",
    "group_documents",
    "strip_diacritics",
]
