"""PAdES B-B signing of a finished PDF/A bundle, as an incremental update.

The signature is an invisible approval signature (zero-size widget with the
Print flag, as PDF/A requires) in field ``SohoaSignature``; ``/Name`` carries the
organisation and ``/M`` the signing time in Vietnam time (+07:00). The CMS
signing-time attribute holds the same instant (ASN.1 times are always UTC).

The original bytes are an exact prefix of the output. pyHanko normally also
rewrites ``/Info`` and the XMP packet (ModDate, Producer) when it saves; that
would make Info and XMP disagree (PDF/A failure), so this module's writer leaves
the document metadata alone.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pyhanko.pdf_utils.extensions import DeveloperExtension
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError as PyhankoPdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyhankoSigningError

from pipeline.errors import SigningError

log = logging.getLogger(__name__)

VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")
DEFAULT_FIELD = "SohoaSignature"

Signer = signers.Signer


class SignMeta(BaseModel):
    """What the signature says about itself."""

    model_config = ConfigDict(frozen=True)

    organisation: str = Field(min_length=1)
    reason: str = "Số hóa hồ sơ"
    location: str | None = None
    contact: str | None = None
    field_name: str = Field(default=DEFAULT_FIELD, min_length=1, pattern=r"^[^.]+$")
    signing_time: AwareDatetime | None = None  # None = now; always written as +07:00


def load_signer(p12: bytes | Path, passphrase: bytes) -> signers.SimpleSigner:
    """Load a signer from PKCS#12 data or a file (build once per flow).

    A wrong passphrase, a corrupt file or a PKCS#12 without a key raises
    :class:`SigningError`; its message never contains the passphrase.
    """
    if isinstance(p12, Path):
        try:
            data = p12.read_bytes()
        except OSError as exc:
            raise SigningError(
                f"cannot read signing certificate file {p12.name}: {exc.strerror}"
            ) from None
    else:
        data = p12
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=passphrase)
    except Exception:  # noqa: BLE001 - any failure here means "cannot use this key"
        signer = None
    if signer is None or signer.signing_cert is None or signer.signing_key is None:
        raise SigningError(
            "cannot load the signing certificate: wrong passphrase, corrupt PKCS#12 "
            "file, or no private key in it"
        )
    return signer


def sign_pdf(pdf: bytes, *, signer: signers.Signer, meta: SignMeta) -> bytes:
    """Sign ``pdf`` (PAdES B-B, invisible field) and return the signed bytes.

    ``pdf`` is left intact as a byte prefix of the result.
    """
    signing_time = (meta.signing_time or dt.datetime.now(VN_TZ)).astimezone(VN_TZ)
    try:
        writer = _MetadataPreservingWriter(io.BytesIO(pdf), strict=False)
    except (PyhankoPdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"bundle is not a readable PDF: {_short(exc)}") from None
    signature_meta = signers.PdfSignatureMetadata(
        field_name=meta.field_name,
        name=meta.organisation,
        reason=meta.reason,
        location=meta.location,
        contact_info=meta.contact,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    field_spec = fields.SigFieldSpec(
        sig_field_name=meta.field_name,
        box=None,
        invis_sig_settings=fields.InvisSigSettings(set_print_flag=True),
    )
    pdf_signer = _FixedTimePdfSigner(
        signature_meta, signer=signer, new_field_spec=field_spec, signing_time=signing_time
    )
    try:
        out = pdf_signer.sign_pdf(writer, existing_fields_only=False)
    except (PyhankoSigningError, PyhankoPdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"signing failed: {_short(exc)}") from None
    signed = bytes(out.getbuffer())
    if not signed.startswith(pdf):  # pragma: no cover - guards the incremental contract
        raise SigningError("signing rewrote the bundle instead of appending to it")
    log.info("signed bundle: %d -> %d bytes", len(pdf), len(signed))
    return signed


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


class _FixedTimePdfSigner(signers.PdfSigner):
    """PdfSigner whose session uses a given signing time (CMS signing-time and /M)."""

    def __init__(self, *args: Any, signing_time: dt.datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(  # type: ignore[no-untyped-def]
        self, pdf_out, existing_fields_only=False
    ):
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._signing_time
        return session


class _MetadataPreservingWriter(IncrementalPdfFileWriter):
    """Incremental writer that never touches /Info or the XMP metadata stream."""

    def _update_meta(self) -> None:
        return None

    def ensure_output_version(self, version: tuple[int, int]) -> None:
        # PDF/A-2 is based on PDF 1.7: never declare a newer version in the catalog.
        super().ensure_output_version(min(tuple(version), _MAX_VERSION))

    def register_extension(self, ext: DeveloperExtension) -> None:
        # Extensions on top of PDF 2.0 (e.g. ISO 32002 for ECDSA keys) would claim
        # PDF 2.0 features; the signature itself is valid PAdES without them.
        if _version_tuple(str(ext.base_version)) > _MAX_VERSION:
            return
        super().register_extension(ext)


_MAX_VERSION = (1, 7)


def _version_tuple(name: str) -> tuple[int, int]:
    major, _, minor = name.lstrip("/").partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return (99, 0)
