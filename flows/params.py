"""Flow parameters (pydantic, so the Prefect UI renders them as forms)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DossierRequest(BaseModel):
    """What the dossier system asks for: which dossier, which procedure, which facts."""

    model_config = ConfigDict(frozen=True)

    dossier_id: str = Field(description="Dossier code, e.g. HN-CG-2026-000123")
    procedure: str = Field(description="Procedure id from the catalog, e.g. birth_registration")
    branch: str = Field(default="local", description="Branch (folder in the buckets)")
    facts: dict[str, bool] = Field(
        default_factory=dict, description="Condition facts, e.g. by_representative"
    )
    submitted_at: str | None = None
    callback_url: str | None = Field(
        default=None, description="Optional webhook called (HMAC-signed) when the run ends"
    )


class LocalInput(BaseModel):
    """Page files on this machine's file system, in processing order."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["local"] = "local"
    files: tuple[str, ...]


class LocalOutput(BaseModel):
    """Where bundle.pdf, report.json and quarantined files go on this machine."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["local"] = "local"
    directory: str


class PageJob(BaseModel):
    """One page to process: a reference, never the pixels."""

    model_config = ConfigDict(frozen=True)

    source: str  # name reported (file name relative to the dossier)
    location: str  # where to read it: a local path, or an object key when ``bucket`` is set
    sha256: str  # content hash of the whole file: the cache key's core
    page: int  # 1-based page within the file
    bucket: str | None = None  # object storage bucket (deployed system), None = local file


