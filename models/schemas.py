"""Pydantic schemas: the catalog (config data), manifest.json (input) and report.json (output).

Field names and literal values of ``Manifest`` and ``Report`` are contracts
(docs/contracts.md §3 and §4): extend with new optional fields, never rename.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.review import ReportDecision
from pipeline.errors import CatalogError, ManifestError, UnknownProcedure

# Classifier outputs that are not catalog types.
UNKNOWN = "unknown"
BLANK = "blank"
RESERVED_DOC_TYPES = frozenset({UNKNOWN, BLANK})

RequirementKind = Literal["required", "optional"]
ChecklistStatus = Literal["satisfied", "missing", "not_applicable", "optional"]
DossierStatus = Literal["complete", "incomplete", "needs_review", "rejected"]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Used in object keys ({branch}/{dossier_id}/...): no separators, no "..".
_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _frozen() -> ConfigDict:
    return ConfigDict(frozen=True, extra="forbid")


# --- catalog -------------------------------------------------------------------
class DocumentType(BaseModel):
    """A class the classifier outputs; ``titles`` may contain "…" as a wildcard."""

    model_config = _frozen()

    id: str
    name_vi: str
    titles: tuple[str, ...] = Field(min_length=1)
    cues: tuple[str, ...] = ()
    #: field labels printed on this kind of paper and not on papers outside the
    #: catalog: two of them (one when only one is listed) are positive evidence of
    #: the type when its title is unreadable (pipeline.classify.evidence)
    labels: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        if not _ID.match(v) or v in RESERVED_DOC_TYPES:
            raise ValueError(f"invalid document type id {v!r}")
        return v

    @field_validator("titles")
    @classmethod
    def _check_titles(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not t.replace("…", "").strip() for t in v):
            raise ValueError("empty title")
        return v


class Requirement(BaseModel):
    """One checklist line of a procedure: any document of ``any_of`` satisfies it.

    ``if_fact``: required only when the manifest's fact of that name is true.
    """

    model_config = _frozen()

    id: str
    kind: RequirementKind
    any_of: tuple[str, ...] = Field(min_length=1)
    if_fact: str | None = None


class Procedure(BaseModel):
    model_config = _frozen()

    id: str
    code: str | None
    code_confirmed: bool
    name_vi: str
    requirements: tuple[Requirement, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_requirements(self) -> Procedure:
        ids = [r.id for r in self.requirements]
        if len(ids) != len(set(ids)):
            raise ValueError(f"procedure {self.id}: duplicate requirement ids")
        return self

    def facts_used(self) -> tuple[str, ...]:
        """Fact names this procedure's requirements depend on, in order."""
        return tuple(dict.fromkeys(r.if_fact for r in self.requirements if r.if_fact))


class ArchiveDefaults(BaseModel):
    """Defaults for the Circular 05/2025/TT-BNV archive metadata."""

    model_config = _frozen()

    retention_period: str
    access_level: str
    language: str
    physical_condition: str


class Catalog(BaseModel):
    model_config = _frozen()

    version: str
    motto: tuple[str, ...]
    document_types: tuple[DocumentType, ...] = Field(min_length=1)
    procedures: tuple[Procedure, ...] = Field(min_length=1)
    archive_defaults: ArchiveDefaults

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        doc_ids = [d.id for d in self.document_types]
        dupes = sorted({i for i in doc_ids if doc_ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate document type ids: {dupes}")
        proc_ids = [p.id for p in self.procedures]
        dupes = sorted({i for i in proc_ids if proc_ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate procedure ids: {dupes}")
        known = set(doc_ids)
        for p in self.procedures:
            for r in p.requirements:
                unknown = [t for t in r.any_of if t not in known]
                if unknown:
                    raise ValueError(f"{p.id}.{r.id} references unknown document types {unknown}")
        return self

    @property
    def doc_type_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.document_types)

    @property
    def procedure_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.procedures)

    def doc_type(self, doc_type_id: str) -> DocumentType:
        for d in self.document_types:
            if d.id == doc_type_id:
                return d
        raise CatalogError(f"unknown document type {doc_type_id!r}")

    def procedure(self, procedure_id: str) -> Procedure:
        for p in self.procedures:
            if p.id == procedure_id:
                return p
        known = ", ".join(self.procedure_ids)
        raise UnknownProcedure(f"unknown procedure {procedure_id!r}; known: {known}")


# --- manifest.json -------------------------------------------------------------
class Manifest(BaseModel):
    """manifest.json (docs/contracts.md §3). Unknown fields are kept and ignored."""

    model_config = ConfigDict(frozen=True, extra="allow")

    dossier_id: str
    procedure: str
    branch: str
    facts: dict[str, bool] = Field(default_factory=dict)
    pages: list[str] | None = None
    submitted_at: datetime | None = None

    @field_validator("dossier_id", "branch")
    @classmethod
    def _key_safe(cls, v: str) -> str:
        if not _KEY_PART.match(v) or ".." in v:
            raise ValueError("must be 1-128 letters, digits, '.', '_' or '-'")
        return v

    @field_validator("pages")
    @classmethod
    def _plain_names(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            bad = [p for p in v if not p or "/" in p or "\\" in p or p in (".", "..")]
            if bad:
                raise ValueError("page entries must be plain file names")
            if len(set(v)) != len(v):
                raise ValueError("page entries must be unique")
        return v


def parse_manifest(data: bytes | str) -> Manifest:
    """Parse manifest.json; every failure becomes ``ManifestError`` naming the bad fields."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError("manifest.json is not valid JSON") from exc
    if not isinstance(raw, dict):
        raise ManifestError("manifest.json must be a JSON object")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "(root)" for e in exc.errors()})
        msg = f"manifest.json has invalid or missing fields: {', '.join(fields)}"
        raise ManifestError(msg) from exc


# --- report.json ---------------------------------------------------------------
class ReportCandidate(BaseModel):
    model_config = _frozen()

    doc_type: str
    score: float = Field(ge=0.0, le=1.0)


class ReportPage(BaseModel):
    """One input page, in input order. Blank pages: doc_type "blank", bundle_page None."""

    model_config = _frozen()

    source: str
    source_page: int = Field(ge=1)
    bundle_page: int | None = Field(default=None, ge=1)
    doc_type: str
    confidence: float = Field(ge=0.0, le=1.0)
    ocr_confidence: float = Field(ge=0.0, le=100.0)
    rotation: int = 0
    skew: float = 0.0
    blank: bool = False
    # --- additions (optional) ---
    quality: tuple[str, ...] = ()
    dpi: float | None = None
    candidates: tuple[ReportCandidate, ...] = ()
    error: str | None = None
    duplicate_of: str | None = None  # "NAME#PAGE": same file content handed in earlier

    @model_validator(mode="after")
    def _blank_rules(self) -> ReportPage:
        if self.blank and (self.doc_type != BLANK or self.bundle_page is not None):
            raise ValueError("a blank page has doc_type 'blank' and no bundle_page")
        if not self.blank and self.doc_type == BLANK:
            raise ValueError("doc_type 'blank' requires blank=true")
        return self


class ReportDocument(BaseModel):
    model_config = _frozen()

    doc_type: str
    bundle_pages: tuple[int, ...] = Field(min_length=1)
    confidence: float = Field(ge=0.0, le=1.0)

    @field_validator("bundle_pages")
    @classmethod
    def _one_based(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(p < 1 for p in v):
            raise ValueError("bundle_pages are 1-based")
        return v


class ReportChecklistItem(BaseModel):
    model_config = _frozen()

    requirement: str
    status: ChecklistStatus
    documents: tuple[int, ...] = ()
    # addition: low-confidence documents that might be this missing item
    possible: tuple[int, ...] = ()


class ReportBundle(BaseModel):
    model_config = _frozen()

    key: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    pages: int = Field(ge=0)
    pdfa: str
    signed: bool
    #: PAdES level: B-LTA with a timestamp authority, B-B for the development default
    signature: Literal["B-B", "B-T", "B-LT", "B-LTA"] | None = None


class ReviewItem(BaseModel):
    """A page or document below the confidence threshold, for a human to check."""

    model_config = _frozen()

    kind: Literal["page", "document"]
    index: int = Field(ge=0, description="index into report.pages or report.documents")
    doc_type: str
    confidence: float = Field(ge=0.0, le=1.0)
    candidates: tuple[ReportCandidate, ...] = ()
    note: str | None = None


class Report(BaseModel):
    """report.json (docs/contracts.md §4); the first ten fields are the contract, in its order."""

    model_config = _frozen()

    dossier_id: str
    procedure: str
    branch: str
    status: DossierStatus
    pages: tuple[ReportPage, ...] = ()
    documents: tuple[ReportDocument, ...] = ()
    checklist: tuple[ReportChecklistItem, ...] = ()
    missing: tuple[str, ...] = ()
    extras: tuple[int, ...] = ()
    bundle: ReportBundle | None = None
    # --- additions (optional) ---
    reason: str | None = None
    review: tuple[ReviewItem, ...] = ()
    facts: dict[str, bool] = Field(default_factory=dict)
    generated_at: datetime | None = None
    engine: dict[str, str] = Field(default_factory=dict)
    #: a supervisor's decisions (models.review), in the order they were applied
    decisions: tuple[ReportDecision, ...] = ()
    #: "NAME#PAGE" of pages a supervisor sent back for scanning again (status incomplete)
    rescan: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _indices(self) -> Report:
        n = len(self.documents)
        refs = [i for item in self.checklist for i in (*item.documents, *item.possible)]
        refs += list(self.extras)
        if any(i < 0 or i >= n for i in refs):
            raise ValueError("checklist documents and extras must index into documents")
        if self.status == "rejected" and not self.reason:
            raise ValueError("a rejected report needs a reason")
        return self


# --- quarantine ------------------------------------------------------------------
class QuarantineEntry(BaseModel):
    """Why one page of an input could not be used (``source_page`` None: the whole file)."""

    model_config = _frozen()

    source_page: int | None = None
    error: str


class QuarantineFile(BaseModel):
    model_config = _frozen()

    source: str
    reasons: tuple[QuarantineEntry, ...]


class QuarantineReason(BaseModel):
    """``reason.json`` beside quarantined inputs, in the bucket and in the CLI's folder alike.

    ``reason`` is set when the whole dossier was refused (its manifest); ``files``
    names each quarantined input with the reasons of its pages.
    """

    model_config = _frozen()

    dossier_id: str
    branch: str
    reason: str | None = None
    files: tuple[QuarantineFile, ...] = ()
