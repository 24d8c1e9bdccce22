"""A real PKI for signing tests: certomancer's CA, OCSP responder, CRLs and timestamp
authority, served over HTTP on 127.0.0.1 (certomancer's aiohttp app, in a thread).

Keys are made fresh per session; validity dates are set around today so that a test
can move the clock past the signer's expiry. The architecture::

    root ─┬─ issuing CA (CRL + OCSP) ─┬─ signer          (expires in a year)
          │                           └─ revoked signer  (revoked yesterday)
          ├─ tsa        (timestamp authority, valid ten years)
          └─ tsa-short  (timestamp authority whose certificate expires in 30 days)

Use the session fixture ``pki`` (tests/conftest.py) or ``serve_pki(folder)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_der_x509_certificate

ARCH = "sohoa-test"
KEYS = ("root", "issuing", "ocsp", "tsa", "tsa-short", "signer", "revoked")
ORGANISATION = "Trung tâm Phục vụ hành chính công (thử nghiệm)"


@dataclass(frozen=True)
class Pki:
    """A running test PKI: its URLs and the material a deployment would be given."""

    base_url: str
    folder: Path
    arch: Any  # certomancer PKIArchitecture

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/{ARCH}/tsa/tsa"

    @property
    def short_tsa_url(self) -> str:
        return f"{self.base_url}/{ARCH}/tsa/tsa-short"

    @property
    def root_pem(self) -> Path:
        return self.folder / "root.pem"

    def root(self) -> asn1_x509.Certificate:
        return self.arch.get_cert("root")

    def signer_p12(self, label: str = "signer", passphrase: bytes = b"test") -> Path:
        """A PKCS#12 of ``label``'s key, certificate and chain (as a deployment gets it)."""
        path = self.folder / f"{label}.p12"
        if not path.exists():
            key = serialization.load_pem_private_key(
                (self.folder / "keys" / f"{label}.key.pem").read_bytes(), password=None)
            cert, chain = (load_der_x509_certificate(self.arch.get_cert(c).dump())
                           for c in (label, "issuing"))
            path.write_bytes(pkcs12.serialize_key_and_certificates(
                b"signer", key, cert, [chain],  # type: ignore[arg-type]
                serialization.BestAvailableEncryption(passphrase)))
        return path


def _config(now: dt.datetime, base_url: str) -> dict[str, Any]:
    def at(delta: dt.timedelta) -> str:
        return (now + delta).strftime("%Y-%m-%dT%H:%M:%S+0000")

    year = dt.timedelta(days=365)
    ca_ext = [{"id": "basic_constraints", "critical": True, "value": {"ca": True}},
              {"id": "key_usage", "critical": True, "smart-value": {
                  "schema": "key-usage", "params": ["digital_signature", "key_cert_sign",
                                                    "crl_sign"]}}]
    revocation = [{"id": "crl_distribution_points", "smart-value": {
                      "schema": "crl-dist-url", "params": {"crl-repo-names": ["issuing"]}}},
                  {"id": "authority_information_access", "smart-value": {
                      "schema": "aia-urls", "params": {"ocsp-responder-names": ["issuing"]}}}]
    tsa_ext = [{"id": "key_usage", "critical": True, "smart-value": {
                   "schema": "key-usage", "params": ["digital_signature"]}},
               {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
               {"id": "crl_distribution_points", "smart-value": {
                   "schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}},
               {"id": "authority_information_access", "smart-value": {
                   "schema": "aia-urls", "params": {"ocsp-responder-names": ["root"]}}}]
    signer = {"issuer": "issuing", "validity": {"valid-from": at(-dt.timedelta(days=30)),
                                                "valid-to": at(year)},
              "extensions": [{"id": "key_usage", "critical": True, "smart-value": {
                  "schema": "key-usage", "params": ["digital_signature", "non_repudiation"]}},
                  *revocation]}
    long = {"valid-from": at(-year), "valid-to": at(30 * year)}
    responder = [{"id": "key_usage", "critical": True, "smart-value": {
                     "schema": "key-usage", "params": ["digital_signature"]}},
                 {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                 {"id": "ocsp_no_check"}]
    return {
        "external-url-prefix": base_url,
        "keysets": {ARCH: {"path-prefix": "keys", "keys": {
            k: {"path": f"{k}.key.pem"} for k in KEYS}}},
        "pki-architectures": {ARCH: {
            "keyset": ARCH,
            "entity-defaults": {"country-name": "VN", "organization-name": "sohoa test PKI"},
            "entities": {"root": {"common-name": "Test Root CA"},
                         "issuing": {"common-name": "Test Issuing CA"},
                         "ocsp": {"common-name": "Test OCSP responder"},
                         "tsa": {"common-name": "Test Timestamp Authority"},
                         "tsa-short": {"common-name": "Test Timestamp Authority (short)"},
                         "signer": {"organization-name": ORGANISATION, "common-name": "Signer"},
                         "revoked": {"organization-name": ORGANISATION,
                                     "common-name": "Revoked signer"}},
            "certs": {
                "root": {"subject": "root", "subject-key": "root", "issuer": "root",
                         "authority-key": "root", "validity": long, "extensions": ca_ext},
                "issuing": {"issuer": "root", "validity": long, "extensions": [
                    *ca_ext, {"id": "crl_distribution_points", "smart-value": {
                        "schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}}]},
                "ocsp": {"issuer": "issuing", "validity": long, "extensions": responder},
                "root-ocsp": {"subject": "ocsp", "subject-key": "ocsp", "issuer": "root",
                              "validity": long, "extensions": responder},
                "tsa": {"issuer": "root", "validity": {"valid-from": at(-year),
                                                       "valid-to": at(10 * year)},
                        "extensions": tsa_ext},
                "tsa-short": {"issuer": "root", "validity": {
                    "valid-from": at(-year), "valid-to": at(dt.timedelta(days=30))},
                    "extensions": tsa_ext},
                "signer": signer,
                "revoked": {**signer, "revocation": {
                    "revoked-since": at(-dt.timedelta(days=1)), "reason": "key_compromise"}},
            },
            "services": {
                "ocsp": {"issuing": {"for-issuer": "issuing", "responder-cert": "ocsp",
                                     "signing-key": "ocsp"},
                         "root": {"for-issuer": "root", "responder-cert": "root-ocsp",
                                  "signing-key": "ocsp"}},
                "crl-repo": {"root": {"for-issuer": "root", "signing-key": "root",
                                      "simulated-update-schedule": "P90D"},
                             "issuing": {"for-issuer": "issuing", "signing-key": "issuing",
                                         "simulated-update-schedule": "P7D"}},
                "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"},
                                  "tsa-short": {"signing-key": "tsa-short",
                                                "signing-cert": "tsa-short"}},
            },
        }},
    }


def _write_keys(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for label in KEYS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (folder / f"{label}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_pki(folder: Path) -> Iterator[Pki]:
    """Make the PKI in ``folder`` and serve it on 127.0.0.1 until the block ends."""
    from aiohttp import web
    from certomancer.integrations.aiohttp_animator import build_animator_app
    from certomancer.registry import CertomancerConfig

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    _write_keys(folder / "keys")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    config = CertomancerConfig(_config(now, base_url), key_search_dir=str(folder))
    arch = config.get_pki_arch(ARCH)  # type: ignore[arg-type]
    (folder / "root.pem").write_bytes(
        load_der_x509_certificate(arch.get_cert("root").dump()).public_bytes(
            serialization.Encoding.PEM))
    app = build_animator_app(config.pki_archs, with_web_ui=False)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, name="test-pki", daemon=True)
    thread.start()
    try:
        yield Pki(base_url, folder, arch)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    """The test PKI (CA, OCSP, CRLs, two timestamp authorities) on 127.0.0.1."""
    with serve_pki(tmp_path_factory.mktemp("pki")) as served:
        yield served
