"""A supervisor's answer to a dossier's review (the run's input form, the REST resume body,
``sohoa review --decisions FILE``), and the decisions the report records.

Indices are the report's: ``document`` indexes ``report.documents`` (0 = the first),
``page`` indexes ``report.pages``; bundle pages are 1-based, as in the report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PageAction = Literal["rescan_needed", "leave_out"]
DecisionAction = Literal["type", "split", "merge", "rescan_needed", "leave_out", "expired"]


class DocumentAnswer(BaseModel):
    """What one document (or, with ``from_page``, the part of it from that page on) is."""

    model_config = ConfigDict(frozen=True)

    document: int = Field(ge=0, description="Document number in the report (0 = the first)")
    doc_type: str = Field(description="What it is: a catalog type, or 'unknown' (an extra)")
    from_page: int | None = Field(
        default=None, ge=1,
        description="Split: a new document of this type starts at this bundle page "
                    "(leave empty for the whole document)")
    merge_with_previous: bool = Field(
        default=False, description="Merge: it continues the document before it")


class PageAnswer(BaseModel):
    """What to do with a page that could not be read."""

    model_config = ConfigDict(frozen=True)

    page: int = Field(ge=0, description="Page number in the report's page list (0 = the first)")
    action: PageAction = Field(description="rescan_needed: the citizen's paper must be scanned "
                                           "again; leave_out: the dossier is judged without it")


class ReviewAnswer(BaseModel):
    """The supervisor's decisions on one dossier."""

    model_config = ConfigDict(frozen=True)

    reviewer: str = Field(min_length=1, description="Your name")
    note: str = Field(default="", description="A note kept in the report")
    documents: tuple[DocumentAnswer, ...] = ()
    pages: tuple[PageAnswer, ...] = ()


class ReportDecision(BaseModel):
    """One decision as report.json records it: who, when, what, from, to."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)

    reviewer: str
    at: datetime
    action: DecisionAction
    target: str = Field(description="e.g. 'document 2 (bundle pages 3-4)', 'page 005.jpg#1'")
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    note: str | None = None
