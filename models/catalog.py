"""The catalog shipped with the project (models/catalog.json), loaded once."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from pydantic import ValidationError

from models.schemas import Catalog
from pipeline.errors import CatalogError

CATALOG_RESOURCE = "catalog.json"


def parse_catalog(data: bytes | str) -> Catalog:
    """Validate catalog JSON; any inconsistency becomes ``CatalogError``."""
    try:
        return Catalog.model_validate(json.loads(data))
    except ValueError as exc:  # json errors and pydantic ValidationError
        if isinstance(exc, ValidationError):
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                for e in exc.errors()
            )
        else:
            detail = "not valid JSON"
        raise CatalogError(f"catalog is inconsistent: {detail}") from exc


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The project's catalog (cached; the data is frozen)."""
    try:
        data = resources.files("models").joinpath(CATALOG_RESOURCE).read_bytes()
    except OSError as exc:
        raise CatalogError(f"catalog data {CATALOG_RESOURCE} missing from package") from exc
    return parse_catalog(data)
