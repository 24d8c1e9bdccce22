"""What a signature proves over time: its PAdES level, its timestamps, and the
long-term (B-LTA) validation from the data embedded in the bundle alone.

- **B-B**: a signature.  **B-T**: with a signature timestamp.  **B-LT**: and the
  validation data (chain, OCSP responses or CRLs) in the document security store.
  **B-LTA**: and a document timestamp after it.
- :func:`long_term_check` runs pyHanko's AdES long-term validation (ETSI EN 319
  102-1 §5.6.3) offline, at a given time: the chain of document timestamps proves
  that the signature and its validation data existed while the signer's certificate
  was valid, so the check still passes after that certificate has expired. The
  signer's certificate needs embedded revocation data. A timestamp authority's
  certificate is checked against the revocation data embedded for it however old
  (offline there is nothing fresher); once it has expired, only a later timestamp
  (a renewal, :func:`pipeline.sign.archival.renew`) keeps the chain provable.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from asn1crypto import cms, x509
from pyhanko.pdf_utils.misc import PdfError as PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import dss
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    FreshnessReqType,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from pipeline.errors import VerificationError, first_line
from pipeline.sign.archival import Level

log = logging.getLogger(__name__)

VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")


@dataclass(frozen=True)
class Stamp:
    """A timestamp in the bundle: on the signature, or over the document."""

    kind: str  # "signature" | "document"
    time: dt.datetime
    authority: str
    #: when the authority's certificate expires: renew before (pipeline.sign.archival.renew)
    expires: dt.datetime | None = None


@dataclass(frozen=True)
class LongTerm:
    """The AdES long-term verdict: ``indication`` is ETSI's (PASSED, INDETERMINATE...)."""

    ok: bool
    indication: str
    detail: str


def level_of(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> Level:
    """The PAdES level ``sig`` reaches in this file (structure only, not validity)."""
    if next(extract_tst_data_iter(sig.signer_info, signed=False), None) is None:
        return "B-B"
    store = dss.DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    if store is None or not (store.ocsps or store.crls):
        return "B-T"
    later = [t for t in reader.embedded_timestamp_signatures
             if t.signed_revision > sig.signed_revision]
    return "B-LTA" if later else "B-LT"


def stamps_of(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> tuple[Stamp, ...]:
    """The signature's timestamp, then every document timestamp, in file order."""
    found = [_stamp("signature", sd) for sd in extract_tst_data_iter(sig.signer_info,
                                                                     signed=False)]
    found += [_stamp("document", t.signed_data) for t in reader.embedded_timestamp_signatures]
    return tuple(found)


def long_term_check(sig: EmbeddedPdfSignature, *, trust_roots: Sequence[x509.Certificate],
                    at: dt.datetime | None) -> LongTerm:
    """AdES long-term validation, offline (embedded data only), now or at ``at``.

    The signer's certificate always needs embedded revocation data. A timestamp
    authority's certificate passes either while it is valid (its revocation data is
    not required fresh: offline there is none) or, once expired, by past validation
    on the revocation data embedded before a later timestamp (a renewal)."""
    when = at or dt.datetime.now(dt.UTC)
    timing = ValidationTimingInfo(validation_time=when, best_signature_time=when,
                                  point_in_time_validation=at is not None)
    with quiet():  # pyHanko logs each failed path with a traceback: the verdict says it
        result = asyncio.run(ades_lta_validation(sig, _spec(trust_roots), timing_info=timing))
    indic = result.ades_subindic
    name = getattr(indic, "name", str(indic))
    return LongTerm(ok=indic == AdESPassed.OK, indication=f"{indic.status.name}/{name}",
                    detail=first_line(result.failure_msg or ""))


def _spec(roots: Sequence[x509.Certificate]) -> PdfSignatureValidationSpec:
    trust = SimpleTrustManager.build(trust_roots=list(roots))
    return PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=trust, revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO)),
        ts_cert_validation_policy=CertValidationPolicySpec(trust_manager=trust,
                                                           revinfo_policy=_TSA_REVINFO),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)))


#: an authority's certificate: checked against the revocation data embedded for it,
#: however old (nothing fresher exists offline; an expired one needs a later timestamp)
_TSA_REVINFO = CertRevTrustPolicy(
    RevocationCheckingPolicy(ee_certificate_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
                             intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED),
    freshness=dt.timedelta(days=100 * 366),
    freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """pyHanko logs every failed path with a traceback; the verdict says it in a line."""
    loggers = [logging.getLogger(n) for n in ("pyhanko", "pyhanko_certvalidator")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def last_stamp(pdf: bytes) -> Stamp | None:
    """The newest timestamp of the bundle (the one a renewal must come before);
    :class:`VerificationError` when the file or its signatures cannot be read."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        sigs = reader.embedded_regular_signatures
        found = stamps_of(reader, sigs[-1]) if sigs else ()
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise VerificationError(f"bundle unreadable: {first_line(exc)}") from None
    return found[-1] if found else None


def _stamp(kind: str, signed_data: cms.SignedData) -> Stamp:
    info = signed_data["encap_content_info"]["content"].parsed
    cert = _authority(signed_data)
    return Stamp(kind=kind, time=info["gen_time"].native.astimezone(VN_TZ),
                 authority=name_of(cert) or "?",
                 expires=cert.not_valid_after.astimezone(VN_TZ) if cert is not None else None)


def _authority(signed_data: cms.SignedData) -> x509.Certificate | None:
    sid = signed_data["signer_infos"][0]["sid"]
    for choice in signed_data["certificates"] or ():
        cert = choice.chosen
        if (sid.name == "issuer_and_serial_number"
                and cert.serial_number == sid.chosen["serial_number"].native):
            return cert
        if sid.name == "subject_key_identifier" and cert.key_identifier == sid.chosen.native:
            return cert
    return None


def name_of(cert: x509.Certificate | None,
            keys: tuple[str, ...] = ("common_name", "organization_name")) -> str:
    """The first of the subject's ``keys`` it has (a signer: its organisation; an
    authority: its common name), else the whole subject; "" without a certificate."""
    if cert is None:
        return ""
    subject = cert.subject.native
    for key in keys:
        value = subject.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value:
            return str(value)
    return str(cert.subject.human_friendly)
