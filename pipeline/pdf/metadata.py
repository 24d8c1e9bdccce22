"""The archive metadata a bundle carries (Info and XMP), as one typed value."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class ArchiveMetadata(BaseModel):
    """Archive metadata of a digitized dossier (Circular 05/2025/TT-BNV)."""

    model_config = ConfigDict(frozen=True)

    dossier_code: str = Field(min_length=1)
    title: str = Field(min_length=1)
    retention_period: str = Field(min_length=1)
    access_level: str = Field(min_length=1)
    language: str = "vi"
    start_date: date | None = None
    end_date: date | None = None
    keywords: tuple[str, ...] = ()
    document_count: int = Field(ge=0)
    sheet_count: int = Field(ge=0)
    page_count: int = Field(ge=1)
    physical_condition: str = ""
    paper_original_code: str = ""
    procedure_id: str = ""
    procedure_code: str = ""
    branch: str = ""
    agency: str = ""  # digitizing agency (dc:creator / Author); defaults to branch
    creator_tool: str = "sohoa"
