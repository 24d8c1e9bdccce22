"""PAdES signing of a finished PDF/A bundle, as incremental updates.

B-B with the signer alone; given an :class:`~pipeline.sign.archival.Archival`, the
signature carries a timestamp (B-T) and :mod:`pipeline.sign.archival` adds the
validation data (B-LT) and a document timestamp (B-LTA).

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
from typing import Any, BinaryIO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pyhanko.pdf_utils.misc import PdfError as PyhankoPdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyhankoSigningError
from pyhanko.sign.general import get_pyca_cryptography_hash

from pipeline.errors import SigningError, first_line
from pipeline.sign import archival as archival_
from pipeline.sign.writer import metadata_preserving_writer

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
    return _KeptKeySigner(signing_cert=signer.signing_cert, signing_key=signer.signing_key,
                          cert_registry=signer.cert_registry)


class _KeptKeySigner(signers.SimpleSigner):
    """A SimpleSigner that parses its private key once, when it is built. pyHanko's
    parses it again for every signature, and OpenSSL checks an RSA key as it does so:
    0.1-0.2 s for RSA-3072 on an idle core, per bundle (0.5 s on a busy batch). Built
    before the run starts (the CLI, while its Prefect API boots), the first bundle does
    not wait for it either."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._private_key = serialization.load_der_private_key(self.signing_key.dump(),
                                                              password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            name = mechanism.signature_algo
        except ValueError:
            name = mechanism["algorithm"].native
        key = self._private_key
        if name == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return bytes(key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm)))
        return bytes(super().sign_raw(data, digest_algorithm))  # other mechanisms, as pyHanko


def sign_pdf(pdf: bytes, *, signer: signers.Signer, meta: SignMeta,
             archival: archival_.Archival | None = None) -> bytes:
    """Sign ``pdf`` (invisible field) and return the signed bytes: PAdES B-B, or
    ``archival.level`` (B-T, B-LT, B-LTA) with its timestamp authority.

    ``pdf`` is left intact as a byte prefix of the result.
    """
    out = io.BytesIO()
    _sign_stream(io.BytesIO(pdf), out, signer=signer, meta=meta, archival=archival)
    signed = out.getvalue()
    if not signed.startswith(pdf):  # pragma: no cover - guards the incremental contract
        raise SigningError("signing rewrote the bundle instead of appending to it")
    return signed


def sign_file(source: Path, target: Path, *, signer: signers.Signer, meta: SignMeta,
              archival: archival_.Archival | None = None) -> None:
    """:func:`sign_pdf` from file to file: ``target`` is ``source`` with the signature
    (and archival revisions) appended, written in chunks, never whole in memory.
    ``target`` is rewritten from the start, so a failed attempt can simply be retried."""
    with open(source, "rb") as src, open(target, "w+b") as dst:
        _sign_stream(src, dst, signer=signer, meta=meta, archival=archival)


def _sign_stream(src: BinaryIO, dst: BinaryIO, *, signer: signers.Signer, meta: SignMeta,
                 archival: archival_.Archival | None) -> None:
    """Write ``src`` then its signature to ``dst`` (seekable, readable), then extend it
    in place to ``archival.level``."""
    signing_time = (meta.signing_time or dt.datetime.now(VN_TZ)).astimezone(VN_TZ)
    writer = metadata_preserving_writer(src)
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
        signature_meta, signer=signer, new_field_spec=field_spec, signing_time=signing_time,
        timestamper=archival.authority.timestamper() if archival is not None else None,
    )
    try:
        pdf_signer.sign_pdf(writer, existing_fields_only=False, output=dst)
    except archival_.NETWORK_ERRORS as exc:
        raise SigningError(f"the timestamp authority did not answer: {first_line(exc)}",
                           retryable=True) from None
    except (PyhankoSigningError, PyhankoPdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"signing failed: {first_line(exc)}") from None
    if archival is not None:
        archival_.extend_in_place(dst, archival=archival)
    log.info("signed bundle (%s): %d bytes", archival.level if archival is not None else "B-B",
             dst.seek(0, io.SEEK_END))


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
