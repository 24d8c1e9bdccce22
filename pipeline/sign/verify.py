"""Validation of the signatures in a bundle, offline, against given trust roots.

Policy (stricter than a PDF reader's, because these are archive copies):
a bundle is ``ok`` when it carries at least one signature and every signature
is intact (hash matches), cryptographically valid, chains to one of the given
trust roots, and nothing but validation data (DSS, document timestamps) or
further signatures was appended after it. Added or changed pages, content or
annotations after signing are reported as problems.

The check runs now or at a given time (``at``), offline, with the validation data
embedded in the bundle (:mod:`pipeline.sign.levels`): a B-LTA signature is judged by
the AdES long-term validation, so it stays valid after the signer's certificate has
expired; a B-B signature is only as good as its certificate on the day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError as PyhankoPdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from pipeline.errors import VerificationError, first_line
from pipeline.sign.levels import (
    VN_TZ,
    LongTerm,
    Stamp,
    level_of,
    long_term_check,
    name_of,
    quiet,
    stamps_of,
)

log = logging.getLogger(__name__)

# Modifications after signing that leave the signed content untouched.
_ALLOWED_AFTER_SIGNING = (
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
)
_LEVEL_PROBLEM = {
    ModificationLevel.ANNOTATIONS: "annotations were added or changed after signing",
    ModificationLevel.OTHER: "the document was modified after signing "
    "(pages or content added or changed)",
}
_DAMAGED = "the signature data is damaged or unreadable"
_READ_ERRORS = (PyhankoPdfError, ValueError, KeyError, TypeError, IndexError)


@dataclass(frozen=True)
class SignatureReport:
    """Outcome of validating a PDF's signatures (of the last one, and of all).

    ``signer`` and ``signing_time`` describe the last signature; the booleans
    hold for *all* signatures. ``modification_level`` is the pyHanko level name
    (NONE, LTA_UPDATES, FORM_FILLING, ANNOTATIONS, OTHER) of the worst change
    made after any signature, or None when unknown / unsigned.
    """

    signed: bool
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    modification_level: str | None
    signer: str
    signing_time: dt.datetime | None
    problems: tuple[str, ...]
    signature_count: int = 0
    level: str = ""  # PAdES level of the last signature: B-B, B-T, B-LT, B-LTA
    timestamps: tuple[Stamp, ...] = ()
    long_term: LongTerm | None = None  # the AdES verdict, for B-LTA
    checked_at: dt.datetime | None = None  # None: now

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.trusted and not self.problems


@dataclass(frozen=True)
class _One:
    intact: bool
    valid: bool
    trusted: bool
    whole_file: bool
    level: ModificationLevel | None
    signer: str
    signing_time: dt.datetime | None
    problems: tuple[str, ...]


def verify_signatures(pdf: bytes, *, trust_roots: Sequence[x509.Certificate],
                      at: dt.datetime | None = None) -> SignatureReport:
    """Validate every signature in ``pdf`` offline (no OCSP/CRL/AIA fetching), now or
    as of ``at``.

    Raises :class:`VerificationError` only when the file cannot be read as a
    PDF at all; every other defect is reported in the result.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        filled = list(enumerate_sig_fields(reader, filled_status=True))
    except _READ_ERRORS as exc:
        raise VerificationError(f"not a readable PDF: {first_line(exc)}") from None
    try:
        sigs = list(reader.embedded_regular_signatures)
    except _READ_ERRORS as exc:
        # the signature dictionary or its CMS container cannot even be parsed
        log.info("signature container unreadable: %s", type(exc).__name__)
        return _damaged_report(len(filled))
    if not sigs:
        return SignatureReport(
            signed=False,
            intact=False,
            valid=False,
            trusted=False,
            covers_whole_file=False,
            modification_level=None,
            signer="",
            signing_time=None,
            problems=("the PDF carries no signature",),
        )
    embedded = _embedded_data(reader)
    results = [_validate_one(sig, trust_roots, at=at, embedded=embedded) for sig in sigs]
    level = level_of(reader, sigs[-1])
    long_term = None
    if level == "B-LTA":
        long_term = long_term_check(sigs[-1], trust_roots=trust_roots, at=at)
        results[-1] = _judged_long_term(results[-1], long_term)
    last = results[-1]
    problems: list[str] = []
    for i, res in enumerate(results):
        prefix = "" if len(results) == 1 else f"signature {i + 1}: "
        problems.extend(prefix + p for p in res.problems if prefix + p not in problems)
    levels = [r.level for r in results if r.level is not None]
    worst = max(levels, key=lambda lv: lv.value) if levels else None
    report = SignatureReport(
        signed=True,
        intact=all(r.intact for r in results),
        valid=all(r.valid for r in results),
        trusted=all(r.trusted for r in results),
        covers_whole_file=last.whole_file,
        modification_level=worst.name if worst is not None else None,
        signer=last.signer,
        signing_time=last.signing_time,
        problems=tuple(problems),
        signature_count=len(results),
        level=level,
        timestamps=stamps_of(reader, sigs[-1]),
        long_term=long_term,
        checked_at=at,
    )
    log.info("verified %d signature(s), %s: ok=%s", len(results), level, report.ok)
    return report


def _damaged_report(count: int) -> SignatureReport:
    return SignatureReport(
        signed=True,
        intact=False,
        valid=False,
        trusted=False,
        covers_whole_file=False,
        modification_level=None,
        signer="",
        signing_time=None,
        problems=(_DAMAGED,),
        signature_count=count,
    )


@dataclass(frozen=True)
class _Embedded:
    certs: list[Any] = dataclasses.field(default_factory=list)
    ocsps: list[Any] = dataclasses.field(default_factory=list)
    crls: list[Any] = dataclasses.field(default_factory=list)


def _embedded_data(reader: PdfFileReader) -> _Embedded:
    """Certificates, OCSP responses and CRLs of the document security store."""
    if "/DSS" not in reader.root:
        return _Embedded()
    try:
        store = DocumentSecurityStore.read_dss(reader)
        context = store.as_validation_context({"trust_roots": []})
        return _Embedded(list(store.load_certs()), list(context.ocsps), list(context.crls))
    except _READ_ERRORS as exc:
        log.info("document security store unreadable: %s", type(exc).__name__)
        return _Embedded()


def _judged_long_term(one: _One, long_term: LongTerm) -> _One:
    """A B-LTA signature is trusted on the AdES long-term verdict, not on its
    certificate's validity today (which ends while the archive keeps the bundle)."""
    problems = tuple(p for p in one.problems if p not in _TRUST_PROBLEMS)
    if not long_term.ok:
        problems += (f"long-term validation: {long_term.indication}"
                     + (f" ({long_term.detail})" if long_term.detail else ""),)
    return dataclasses.replace(one, trusted=long_term.ok, valid=one.intact and long_term.ok
                               and _crypto_ok(one), problems=problems)


def _crypto_ok(one: _One) -> bool:
    return not any(p in ("the signature value is invalid", _DAMAGED) for p in one.problems)


def _validate_one(sig: EmbeddedPdfSignature, roots: Sequence[x509.Certificate], *,
                  at: dt.datetime | None, embedded: _Embedded) -> _One:
    vc = ValidationContext(trust_roots=list(roots), allow_fetching=False, moment=at,
                           other_certs=embedded.certs, ocsps=embedded.ocsps,
                           crls=embedded.crls)
    try:
        with quiet():
            status = validate_pdf_signature(sig, signer_validation_context=vc)
    except _READ_ERRORS as exc:
        log.info("signature %s could not be validated: %s", sig.field_name, type(exc).__name__)
        return _One(
            intact=False,
            valid=False,
            trusted=False,
            whole_file=False,
            level=None,
            signer="",
            signing_time=None,
            problems=(_DAMAGED,),
        )
    return _summarise(status)


def _summarise(status: PdfSignatureStatus) -> _One:
    problems: list[str] = []
    if not status.intact:
        problems.append("the signed content was altered (hash mismatch)")
    elif not status.valid:
        problems.append("the signature value is invalid")
    trusted = bool(status.trusted)
    if status.intact and status.valid and not trusted:
        problems.append(_trust_problem(status))
    coverage = status.coverage
    level = status.modification_level
    if coverage is None or coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        problems.append("the signature does not cover its whole revision")
    if level is None and coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append("changes made after signing could not be analysed")
    elif level is not None and level not in _ALLOWED_AFTER_SIGNING:
        problems.append(_LEVEL_PROBLEM.get(level, f"modified after signing ({level.name})"))
    if status.docmdp_ok is False and not any("after signing" in p for p in problems):
        problems.append("changes after signing are not permitted by the certification")
    when = status.signer_reported_dt
    return _One(
        intact=bool(status.intact),
        valid=bool(status.intact and status.valid and trusted),
        trusted=trusted,
        whole_file=coverage == SignatureCoverageLevel.ENTIRE_FILE,
        level=level,
        signer=name_of(status.signing_cert, ("organization_name", "common_name")),
        signing_time=when.astimezone(VN_TZ) if when is not None else None,
        problems=tuple(problems),
    )


_REVOKED = "the signer's certificate is revoked"
_NOT_VALID_THEN = "the signer's certificate was not valid at the signing time"
_NOT_FOR_SIGNING = "the signer's certificate is not allowed for document signing"
_UNTRUSTED = "the signer's certificate does not chain to a trusted root"
_TRUST_PROBLEMS = (_REVOKED, _NOT_VALID_THEN, _NOT_FOR_SIGNING, _UNTRUSTED)


def _trust_problem(status: PdfSignatureStatus) -> str:
    if status.revoked:
        return _REVOKED
    indic = status.trust_problem_indic
    name = str(getattr(indic, "name", ""))
    if "EXPIRED" in name or "OUT_OF_BOUNDS" in name or "NOT_YET_VALID" in name:
        return _NOT_VALID_THEN
    if "CHAIN_CONSTRAINTS" in name or "SIG_CONSTRAINTS" in name:
        return _NOT_FOR_SIGNING
    return _UNTRUSTED
