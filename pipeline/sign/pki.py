"""Development PKI (created on first use) and trust-root loading.

The development CA exists only so that ``sohoa process`` works with no server,
no credentials and no network. Production deployments give the agency's own
PKCS#12 to :func:`pipeline.sign.signer.load_signer` and its CA to
:func:`load_trust_roots`.

Layout under ``state_dir/signing/`` (dir 0700, files 0600)::

    ca.pem        development root CA certificate (public; the CA key is not kept)
    signer.p12    signing key + certificate + CA, encrypted with the passphrase
    passphrase    random passphrase of signer.p12 (never logged)

The folder is built complete in a temporary sibling and renamed into place in
one step, so two concurrent first uses never leave a mixed or partial set: the
first rename wins, the loser discards its copy and uses the winner's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID, ObjectIdentifier

from pipeline.errors import SigningError, VerificationError

DEV_CA_NAME = "sohoa development CA — NOT FOR PRODUCTION"
CA_VALIDITY = dt.timedelta(days=3652)  # ~10 years
SIGNER_VALIDITY = dt.timedelta(days=1826)  # ~5 years, inside the CA's validity
# RSA rather than EC: pyHanko marks ECDSA-signed files as PDF 2.0 (ISO 32002),
# while PDF/A-2 is PDF 1.7.
_RSA_BITS = 3072
_SUBDIR = "signing"
_CA_FILE = "ca.pem"
_P12_FILE = "signer.p12"
_PASS_FILE = "passphrase"
# id-kp-documentSigning (RFC 9336)
_EKU_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


@dataclass(frozen=True)
class DevPki:
    """Paths of the development signing material."""

    ca_cert: Path
    signer_p12: Path
    passphrase_file: Path

    def passphrase(self) -> bytes:
        """The passphrase of ``signer_p12`` (read on demand, never cached or logged)."""
        return self.passphrase_file.read_bytes().strip()

    def signer_p12_bytes(self) -> bytes:
        return self.signer_p12.read_bytes()


def ensure_dev_pki(state_dir: Path, *, organisation: str) -> DevPki:
    """Return the development PKI under ``state_dir/signing``, creating it on first use.

    Raises :class:`SigningError` when the folder exists but is incomplete, or was
    made for another organisation (delete the folder to recreate it).
    """
    if not organisation.strip():
        raise SigningError("organisation name for the signing certificate is empty")
    target = Path(state_dir) / _SUBDIR
    pki = _paths(target)
    if not _complete(pki):
        try:
            Path(state_dir).mkdir(parents=True, exist_ok=True)
            _create_atomically(Path(state_dir), target, organisation)
        except OSError as exc:
            raise SigningError(
                f"cannot create the development signing certificate in {target}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
    if not _complete(pki):
        raise SigningError(
            f"development signing folder {target} is incomplete; delete it to recreate it"
        )
    _check_organisation(pki, organisation)
    return pki


def load_trust_roots(paths: Sequence[Path]) -> list[asn1_x509.Certificate]:
    """Load trust-root certificates from PEM (one or several per file) or DER files."""
    roots: list[asn1_x509.Certificate] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise VerificationError(
                f"cannot read trust root {Path(path).name}: {exc.strerror}"
            ) from None
        try:
            roots.extend(_parse_certs(data))
        except (ValueError, TypeError) as exc:
            raise VerificationError(
                f"trust root {Path(path).name} is not a PEM or DER certificate"
            ) from exc
    return roots


# --- helpers -----------------------------------------------------------------
def _paths(folder: Path) -> DevPki:
    return DevPki(
        ca_cert=folder / _CA_FILE,
        signer_p12=folder / _P12_FILE,
        passphrase_file=folder / _PASS_FILE,
    )


def _complete(pki: DevPki) -> bool:
    return all(p.is_file() for p in (pki.ca_cert, pki.signer_p12, pki.passphrase_file))


def _parse_certs(data: bytes) -> list[asn1_x509.Certificate]:
    if pem.detect(data):
        certs = [
            asn1_x509.Certificate.load(der)
            for kind, _hdr, der in pem.unarmor(data, multiple=True)
            if kind == "CERTIFICATE"
        ]
        if not certs:
            raise ValueError("no CERTIFICATE block")
    else:
        certs = [asn1_x509.Certificate.load(data)]
    for cert in certs:
        cert.native  # noqa: B018 - forces a full parse so garbage fails here
    return certs


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _create_atomically(state_dir: Path, target: Path, organisation: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=".signing-", dir=state_dir))  # mode 0700
    try:
        ca_pem, p12, passphrase = _generate(organisation)
        _write_private(tmp / _CA_FILE, ca_pem)
        _write_private(tmp / _PASS_FILE, passphrase)
        _write_private(tmp / _P12_FILE, p12)
        os.chmod(tmp, 0o700)
        try:
            os.rename(tmp, target)  # replaces only a missing or empty target
        except OSError:
            if not _complete(_paths(target)):
                raise
            # another process won the race: use its material
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.chmod(target, 0o700)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _generate(organisation: str) -> tuple[bytes, bytes, bytes]:
    """Make (ca.pem, signer.p12, passphrase) for ``organisation``."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate clock skew
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    ca_name = _name(DEV_CA_NAME, organisation)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(organisation, organisation))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + SIGNER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([_EKU_DOCUMENT_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    passphrase = secrets.token_urlsafe(32).encode("ascii")
    p12 = pkcs12.serialize_key_and_certificates(
        name=b"sohoa-dev-signer",
        key=key,
        cert=cert,
        cas=[ca_cert],
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase),
    )
    return ca_cert.public_bytes(serialization.Encoding.PEM), p12, passphrase


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _check_organisation(pki: DevPki, organisation: str) -> None:
    try:
        _key, cert, _cas = pkcs12.load_key_and_certificates(
            pki.signer_p12.read_bytes(), pki.passphrase()
        )
    except (OSError, ValueError):
        raise SigningError(
            f"development signing material in {pki.signer_p12.parent} is unreadable; "
            "delete the folder to recreate it"
        ) from None
    if cert is None:
        raise SigningError(f"{pki.signer_p12} holds no certificate; delete the folder")
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if not orgs or orgs[0].value != organisation:
        raise SigningError(
            f"development signing certificate in {pki.signer_p12.parent} was made for "
            "another organisation; delete the folder to recreate it"
        )
