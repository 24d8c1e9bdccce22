"""Flow parameters (pydantic, so the Prefect UI renders them as forms)."""

from __future__ import annotations

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
