"""The same page file handed in twice: found by content hash, flagged, never dropped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from pipeline.outcome import PageOutcome

DUPLICATE_FLAG = "duplicate"


def flag_duplicates(
    outcomes: Sequence[PageOutcome], file_hashes: Mapping[str, str]
) -> list[PageOutcome]:
    """Flag every page of a file whose content (``file_hashes``: source name ->
    SHA-256) equals an earlier file's: quality flag ``duplicate`` and
    ``duplicate_of`` naming the first copy ("NAME#PAGE"). Pages stay in place
    (and in the bundle): the operator decides, nothing disappears silently.
    """
    first: dict[str, str] = {}
    for o in outcomes:
        sha = file_hashes.get(o.ref.source)
        if sha is not None:
            first.setdefault(sha, o.ref.source)
    out: list[PageOutcome] = []
    for o in outcomes:
        sha = file_hashes.get(o.ref.source)
        original = first.get(sha) if sha is not None else None
        if original is None or original == o.ref.source:
            out.append(o)
            continue
        out.append(replace(
            o,
            quality_flags=(*o.quality_flags, DUPLICATE_FLAG),
            duplicate_of=f"{original}#{o.ref.source_page}",
        ))
    return out
