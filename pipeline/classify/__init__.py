"""Page classification and grouping of pages into documents."""

from pipeline.classify.group import DocumentGroup, group_documents
from pipeline.classify.interfaces import DocumentSeparator, PageClassifier, PageText
from pipeline.classify.text import fold, strip_diacritics
from pipeline.classify.titles import (
    TitleClassifier,
    TitleConfig,
    TitleHit,
)

__all__ = [
    "DocumentGroup",
    "DocumentSeparator",
    "PageClassifier",
    "PageText",
    "TitleClassifier",
    "TitleConfig",
    "TitleHit",
    "fold",
    "group_documents",
    "strip_diacritics",
]
