"""Development PKI, trust-root loading and PKCS#12 loading (real keys, real files)."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from asn1crypto import pem
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipeline.errors import SigningError, VerificationError
from pipeline.sign.pki import DEV_CA_NAME, ensure_dev_pki, load_trust_roots
from pipeline.sign.signer import load_signer

ORG = "Trung tâm Phục vụ hành chính công quận Cầu Giấy"


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_dev_pki_created_with_private_permissions(state_dir: Path) -> None:
    pki = ensure_dev_pki(state_dir, organisation=ORG)
    assert pki.ca_cert.parent == state_dir / "signing"
    assert _mode(state_dir / "signing") == 0o700
    for path in (pki.ca_cert, pki.signer_p12, pki.passphrase_file):
        assert path.is_file()
        assert _mode(path) == 0o600, path.name
    # no temporary folders left behind
    assert [p.name for p in state_dir.iterdir()] == ["signing"]
    # the passphrase is random and opens the PKCS#12
    assert len(pki.passphrase()) >= 32
    key, cert, cas = pkcs12.load_key_and_certificates(pki.signer_p12_bytes(), pki.passphrase())
    assert key is not None and cert is not None
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == ORG
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "VN"
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36") in list(eku)
    assert ExtendedKeyUsageOID.SERVER_AUTH not in list(eku)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == DEV_CA_NAME
    assert cert.issuer == ca.subject
    assert (ca.not_valid_after_utc - ca.not_valid_before_utc).days >= 3650
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cas and cas[0].subject == ca.subject


def test_dev_pki_is_idempotent(state_dir: Path) -> None:
    first = ensure_dev_pki(state_dir, organisation=ORG)
    before = {p: p.read_bytes() for p in (first.ca_cert, first.signer_p12, first.passphrase_file)}
    second = ensure_dev_pki(state_dir, organisation=ORG)
    assert second == first
    assert {p: p.read_bytes() for p in before} == before


def test_dev_pki_for_another_organisation_is_refused(state_dir: Path) -> None:
    ensure_dev_pki(state_dir, organisation=ORG)
    with pytest.raises(SigningError, match="another organisation"):
        ensure_dev_pki(state_dir, organisation="UBND phường Dịch Vọng")


def test_incomplete_dev_pki_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "signing").mkdir()
    (tmp_path / "signing" / "ca.pem").write_bytes(b"x")
    with pytest.raises(SigningError, match="incomplete"):
        ensure_dev_pki(tmp_path, organisation=ORG)


def test_concurrent_first_use_yields_one_consistent_set(tmp_path: Path) -> None:
    results: list[object] = []

    def run() -> None:
        try:
            results.append(ensure_dev_pki(tmp_path, organisation=ORG))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    assert all(not isinstance(r, Exception) for r in results), results
    pki = ensure_dev_pki(tmp_path, organisation=ORG)
    # the passphrase on disk opens the p12 on disk, whose CA is ca.pem
    _key, cert, _cas = pkcs12.load_key_and_certificates(pki.signer_p12_bytes(), pki.passphrase())
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    assert cert is not None and cert.issuer == ca.subject
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signing"]


def test_wrong_passphrase_is_signing_error_without_the_passphrase(state_dir: Path) -> None:
    pki = ensure_dev_pki(state_dir, organisation=ORG)
    wrong = b"Sai-mat-khau-0123456789"
    with pytest.raises(SigningError) as info:
        load_signer(pki.signer_p12, wrong)
    text = str(info.value) + repr(info.value) + str(info.value.__cause__ or "")
    assert wrong.decode() not in text
    assert pki.passphrase().decode() not in text
    assert not info.value.retryable


def test_corrupt_or_missing_p12_is_signing_error(state_dir: Path, tmp_path: Path) -> None:
    pki = ensure_dev_pki(state_dir, organisation=ORG)
    with pytest.raises(SigningError):
        load_signer(b"not a pkcs12 file", pki.passphrase())
    with pytest.raises(SigningError, match="cannot read"):
        load_signer(tmp_path / "absent.p12", pki.passphrase())


def test_dev_signer_loads_from_path_and_bytes(state_dir: Path) -> None:
    pki = ensure_dev_pki(state_dir, organisation=ORG)
    a = load_signer(pki.signer_p12, pki.passphrase())
    b = load_signer(pki.signer_p12_bytes(), pki.passphrase())
    assert a.signing_cert is not None and b.signing_cert is not None
    assert a.signing_cert.sha256 == b.signing_cert.sha256
    assert a.signing_cert.subject.native["organization_name"] == ORG


def test_load_trust_roots_pem_der_and_bundle(state_dir: Path, tmp_path: Path) -> None:
    pki = ensure_dev_pki(state_dir, organisation=ORG)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    der = tmp_path / "ca.der"
    der.write_bytes(ca.public_bytes(serialization.Encoding.DER))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.ca_cert.read_bytes() * 2)
    roots = load_trust_roots([pki.ca_cert, der, bundle])
    assert len(roots) == 4
    assert {r.sha256 for r in roots} == {roots[0].sha256}
    assert roots[0].subject.native["common_name"] == DEV_CA_NAME
    # round trip: same bytes as the PEM body
    assert roots[0].dump() == pem.unarmor(pki.ca_cert.read_bytes())[2]


def test_load_trust_roots_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"this is not a certificate")
    with pytest.raises(VerificationError, match="bad.pem"):
        load_trust_roots([bad])
    with pytest.raises(VerificationError):
        load_trust_roots([tmp_path / "missing.pem"])
