"""Long-term signatures: PAdES B-T, B-LT and B-LTA, and the renewal of B-LTA.

- **B-T**: the signature carries an RFC 3161 timestamp from a timestamp authority
  (made by :func:`pipeline.sign.signer.sign_pdf` when given an :class:`Archival`).
- **B-LT**: the validation data of the signature and of its timestamp (certificate
  chains, OCSP responses, CRLs, fetched from the CAs) is added to the document
  security store (DSS) in a new incremental revision.
- **B-LTA**: a document timestamp over that revision, in the same revision.
- **Renewal** (:func:`renew`): before the last timestamp's certificate expires, the
  validation data of that timestamp is added and a new document timestamp covers it.

Every revision is written through the signer's metadata-preserving writer, so the
bundle's Info and XMP stay the project's (PDF/A-2b); timestamp fields are invisible
with the Print flag set. Network calls (TSA, OCSP, CRL) have timeouts; failures
raise :class:`SigningError` (retryable: the authority may be back in a minute).
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError as PyhankoPdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, timestamps
from pyhanko.sign.general import SigningError as PyhankoSigningError
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.validation import dss
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from pipeline.errors import SigningError, first_line
from pipeline.sign.writer import metadata_preserving_writer

log = logging.getLogger(__name__)

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
TIMESTAMP_FIELD = "SohoaArchiveTimestamp"
NETWORK_ERRORS = (OSError, asyncio.TimeoutError, timestamps.TimestampRequestError)


@dataclass(frozen=True)
class Authority:
    """A timestamp authority: its URL and, when it needs them, credentials."""

    url: str
    username: str | None = None
    password: str | None = None
    timeout_s: float = 20.0

    def timestamper(self) -> timestamps.TimeStamper:
        headers = None
        if self.username:  # RFC 7617 basic authentication
            pair = f"{self.username}:{self.password or ''}".encode()
            headers = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return timestamps.HTTPTimeStamper(self.url, timeout=self.timeout_s, headers=headers)


@dataclass(frozen=True)
class Archival:
    """What a B-T/B-LT/B-LTA signature needs: the level, the authority, trust roots
    (the signing CA's and the authority's) against which validation data is fetched."""

    level: Level
    authority: Authority
    trust_roots: tuple[x509.Certificate, ...]

    def fetching_context(self) -> ValidationContext:
        """A fresh context per bundle: revocation data is fetched now, not reused."""
        return ValidationContext(trust_roots=list(self.trust_roots), allow_fetching=True,
                                 revocation_mode="require")


def extend_in_place(stream: BinaryIO, *, archival: Archival) -> None:
    """Add B-LT data (and for B-LTA a document timestamp) after the last signature, to
    a seekable, writable stream (a file opened ``w+b`` or ``r+b``)."""
    if archival.level in ("B-B", "B-T"):
        return
    reader = PdfFileReader(stream)
    last = reader.embedded_regular_signatures[-1]
    _dss_revision(stream, last, archival=archival, stamp=archival.level == "B-LTA")


def renew(pdf: bytes, *, archival: Archival) -> bytes:
    """A new document timestamp over the bundle, with the validation data of the
    last timestamp (or of the last signature, when the bundle has no timestamp yet)."""
    out = io.BytesIO(pdf)
    try:
        reader = PdfFileReader(out)
        stamps = list(reader.embedded_timestamp_signatures)
        cover = stamps[-1] if stamps else reader.embedded_regular_signatures[-1]
    except (PyhankoPdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise SigningError(f"bundle has no readable signature to renew: {exc}") from None
    _dss_revision(out, cover, archival=archival, stamp=True)
    return out.getvalue()


def _dss_revision(out: BinaryIO, sig: EmbeddedPdfSignature, *, archival: Archival,
                  stamp: bool) -> None:
    """Append the validation data of ``sig`` (and a document timestamp) to ``out``."""
    context = archival.fetching_context()
    try:
        paths = asyncio.run(_collect(sig, context))
    except (PathBuildingError, PathValidationError) as exc:
        raise SigningError(f"the certificate cannot be validated for archiving: "
                           f"{first_line(exc)}", retryable=False) from None
    except NETWORK_ERRORS as exc:
        raise SigningError(f"validation data could not be fetched: {first_line(exc)}",
                           retryable=True) from None
    writer = metadata_preserving_writer(out)
    dss.DocumentSecurityStore.supply_dss_in_writer(
        writer, sig_contents=None, paths=paths, validation_context=context)
    if not stamp:
        writer.write_in_place()
        return
    stamper = PdfTimeStamper(archival.authority.timestamper(),
                             field_name=_free_field_name(sig.reader),
                             invis_settings=fields.InvisSigSettings(set_print_flag=True))
    try:
        stamper.timestamp_pdf(writer, "sha256", validation_context=context, in_place=True,
                              dss_settings=TimestampDSSContentSettings(
                                  update_before_ts=True, include_vri=False))
    except NETWORK_ERRORS as exc:
        raise SigningError(f"the timestamp authority did not answer: {first_line(exc)}",
                           retryable=True) from None
    except (PyhankoSigningError, PathBuildingError, PathValidationError) as exc:
        raise SigningError(f"document timestamp failed: {first_line(exc)}") from None
    log.info("document timestamp added (%d bytes in all)", out.seek(0, io.SEEK_END))


async def _collect(sig: EmbeddedPdfSignature, context: ValidationContext) -> list[Any]:
    """Validation paths of ``sig`` and its timestamp; fetched data stays in ``context``."""
    try:
        return list(await dss.collect_validation_info(sig, context))
    finally:
        await context.aclose()  # the HTTP sessions of this event loop


def _free_field_name(reader: PdfFileReader) -> str:
    taken = {name for name, *_ in fields.enumerate_sig_fields(reader)}
    n = 1
    while f"{TIMESTAMP_FIELD}{n}" in taken:
        n += 1
    return f"{TIMESTAMP_FIELD}{n}"
