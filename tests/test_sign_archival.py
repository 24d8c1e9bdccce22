"""Archival signatures against a real PKI (tests/pki.py: certomancer's CA, OCSP, CRLs
and timestamp authorities over HTTP on 127.0.0.1): B-T, B-LT, B-LTA on a real bundle,
offline validation now and at later dates, renewal, revocation, unreachable authority."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import httpx
import pytest
from asn1crypto import crl as asn1_crl
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from pipeline.errors import SigningError
from pipeline.pdf import check_pdfa
from pipeline.sign import (
    SignMeta,
    load_signer,
    load_trust_roots,
    sign_file,
    sign_pdf,
    verify_signatures,
)
from pipeline.sign.archival import Archival, Authority, Level, renew
from pipeline.sign.levels import last_stamp
from pipeline.sign.writer import metadata_preserving_writer
from tests.pki import ORGANISATION, Pki
from tests.test_pdf_conformance import bundle  # noqa: F401 - the real bundle fixture

NOW = dt.datetime.now(dt.UTC)
LATER = NOW + dt.timedelta(days=2 * 365)  # the signer's certificate expired a year ago
META = SignMeta(organisation=ORGANISATION)


def archival(pki: Pki, level: Level = "B-LTA", url: str | None = None) -> Archival:
    return Archival(level, Authority(url or pki.tsa_url, timeout_s=10),
                    tuple(load_trust_roots([pki.root_pem])))


def sign(pki: Pki, pdf: bytes, level: Level | None, *, label: str = "signer",
         url: str | None = None) -> bytes:
    signer = load_signer(pki.signer_p12(label), b"test")
    return sign_pdf(pdf, signer=signer, meta=META,
                    archival=None if level is None else archival(pki, level, url))


@pytest.fixture(scope="module")
def lta(pki: Pki, bundle: bytes) -> bytes:  # noqa: F811
    return sign(pki, bundle, "B-LTA")


def roots(pki: Pki) -> list:
    return load_trust_roots([pki.root_pem])


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_each_level_is_reached_and_stays_pdfa(pki: Pki, bundle: bytes, level: Level) -> None:  # noqa: F811
    signed = sign(pki, bundle, level)
    assert signed.startswith(bundle)  # incremental: the bundle is untouched
    report = verify_signatures(signed, trust_roots=roots(pki))
    assert report.ok and report.level == level, report.problems
    kinds = [s.kind for s in report.timestamps]
    assert kinds == ["signature"] + (["document"] if level == "B-LTA" else [])
    assert all(s.authority == "Test Timestamp Authority" for s in report.timestamps)
    pdfa = check_pdfa(signed)  # Info and XMP untouched, fields invisible and printable
    assert pdfa.ok, [c for c in pdfa.checks if not c.ok]


def test_b_lta_embeds_chain_ocsp_and_crls(lta: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(lta))
    store = DocumentSecurityStore.read_dss(reader)
    assert store.ocsps and store.crls and len(list(store.load_certs())) >= 3
    assert len(reader.embedded_timestamp_signatures) == 1


def test_b_lta_is_valid_offline_after_the_signer_expired_and_b_b_is_not(
        pki: Pki, bundle: bytes, lta: bytes) -> None:  # noqa: F811
    later = verify_signatures(lta, trust_roots=roots(pki), at=LATER)
    assert later.ok and later.long_term is not None and later.long_term.ok, later.problems
    plain = sign(pki, bundle, None)
    assert verify_signatures(plain, trust_roots=roots(pki)).ok
    expired = verify_signatures(plain, trust_roots=roots(pki), at=LATER)
    assert not expired.ok and expired.level == "B-B"
    assert "not valid at the signing time" in " ".join(expired.problems)


def test_renewal_keeps_a_bundle_provable_after_its_authority_expired(
        pki: Pki, bundle: bytes) -> None:  # noqa: F811
    short = sign(pki, bundle, "B-LTA", url=pki.short_tsa_url)  # its certificate: 30 days
    due = last_stamp(short)
    assert due is not None and due.expires is not None
    assert due.expires - NOW < dt.timedelta(days=31)
    renewed = renew(short, archival=archival(pki))  # before it expires, by another authority
    assert renewed.startswith(short)  # a new revision; nothing before it changes
    after = last_stamp(renewed)
    assert after is not None and after.expires is not None
    assert after.expires - NOW > dt.timedelta(days=9 * 365)
    assert check_pdfa(renewed).ok
    report = verify_signatures(renewed, trust_roots=roots(pki))
    assert report.ok, report.problems
    assert [s.kind for s in report.timestamps] == ["signature", "document", "document"]
    expired = NOW + dt.timedelta(days=60)  # the first authority's certificate has expired
    assert not verify_signatures(short, trust_roots=roots(pki), at=expired).ok
    assert verify_signatures(renewed, trust_roots=roots(pki), at=expired).ok
    assert verify_signatures(renewed, trust_roots=roots(pki), at=LATER).ok  # signer too


def test_a_revoked_signer_cannot_sign_and_its_signature_fails(pki: Pki, bundle: bytes) -> None:  # noqa: F811
    with pytest.raises(SigningError, match="cannot be validated") as err:
        sign(pki, bundle, "B-LTA", label="revoked")
    assert not err.value.retryable
    # a B-T signature made with it, and the CA's CRL that lists it, embedded afterwards
    signed = sign(pki, bundle, "B-T", label="revoked")
    listed = asn1_crl.CertificateList.load(
        httpx.get(f"{pki.base_url}/sohoa-test/crls/issuing/latest.crl", timeout=10).content)
    out = io.BytesIO(signed)
    writer = metadata_preserving_writer(out)
    DocumentSecurityStore.supply_dss_in_writer(writer, None, crls=[listed])
    writer.write_in_place()
    report = verify_signatures(out.getvalue(), trust_roots=roots(pki))
    assert not report.ok and "revoked" in " ".join(report.problems)


def test_tampering_still_breaks_an_archival_bundle(pki: Pki, lta: bytes, bundle: bytes) -> None:  # noqa: F811
    at = lta.index(b"stream", len(bundle) // 3) + 20  # inside the first revision's content
    flipped = lta[:at] + bytes([lta[at] ^ 0xFF]) + lta[at + 1:]
    report = verify_signatures(flipped, trust_roots=roots(pki))
    assert not report.ok and not report.intact


def test_an_unreachable_authority_is_a_retryable_error(pki: Pki, bundle: bytes) -> None:  # noqa: F811
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/tsa"
    with pytest.raises(SigningError, match="did not answer") as err:
        sign(pki, bundle, "B-LTA", url=closed)
    assert err.value.retryable


def test_untrusted_roots_fail_the_long_term_check(lta: bytes, tmp_path: Path) -> None:
    from pipeline.sign import ensure_dev_pki

    other = ensure_dev_pki(tmp_path, organisation="Someone else")
    report = verify_signatures(lta, trust_roots=load_trust_roots([other.ca_cert]))
    assert not report.ok and report.long_term is not None and not report.long_term.ok


def test_a_file_is_signed_to_b_lta_file_to_file(pki: Pki, bundle: bytes, tmp_path: Path) -> None:  # noqa: F811
    """sign_file (the flows' path: the bundle never whole in memory) reaches B-LTA too, and
    an attempt over the remains of a failed one starts the target afresh."""
    source, target = tmp_path / "bundle.pdf", tmp_path / "signed.pdf"
    source.write_bytes(bundle)
    target.write_bytes(b"left over by a failed attempt " * 100_000)
    sign_file(source, target, signer=load_signer(pki.signer_p12(), b"test"), meta=META,
              archival=archival(pki))
    signed = target.read_bytes()
    assert source.read_bytes() == bundle and signed.startswith(bundle)
    report = verify_signatures(signed, trust_roots=roots(pki))
    assert report.ok and report.level == "B-LTA", report.problems
    assert check_pdfa(signed).ok
