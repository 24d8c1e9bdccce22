"""The signer (built once per flow) and the trust roots, from settings."""

from __future__ import annotations

import functools
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from flows.settings import Settings
from pipeline.environment import Machine
from pipeline.errors import SigningError
from pipeline.sign.archival import Archival, Authority
from pipeline.sign.pki import ensure_dev_pki, load_trust_roots
from pipeline.sign.signer import load_signer

DEV_NOTE = ("development certificate, no timestamp authority (SOHOA_TSA_URL): "
            "not an archival signature")


def build_signer(settings: Settings) -> Any:
    """Production: the PKCS#12 file and passphrase from the environment.

    Otherwise a development CA and signing certificate in the state folder,
    created on first use. Loaded once per process and key file (the CLI checks
    the key before its run starts, the run then signs with the same signer).
    """
    p12 = settings.signing_p12
    stamp = p12.stat().st_mtime_ns if p12 is not None and p12.is_file() else 0
    signer = _signer(p12, settings.signing_passphrase, stamp, settings.state_dir,
                     settings.organisation)
    build_archival(settings)  # production without an authority refuses here
    return signer


@functools.lru_cache(maxsize=4)
def _signer(p12: Path | None, passphrase: SecretStr | None, _stamp: int, state_dir: Path,
            organisation: str) -> Any:
    if p12 is not None:
        return load_signer(p12, passphrase.get_secret_value().encode() if passphrase else b"")
    pki = ensure_dev_pki(state_dir, organisation=organisation)
    return load_signer(pki.signer_p12, pki.passphrase())


def build_archival(settings: Settings) -> Archival | None:
    """B-LTA with the configured timestamp authority; None (B-B) for the embedded default.

    The agency's key (SOHOA_SIGNING_P12) without an authority is refused: its bundles
    could not be shown valid once its certificate expires."""
    if settings.tsa_url is None:
        if settings.signing_p12 is not None:
            raise SigningError("a production signing key (SOHOA_SIGNING_P12) needs a timestamp "
                               "authority: set SOHOA_TSA_URL (bundles are kept for decades)")
        return None
    if settings.signing_p12 is None:
        raise SigningError("SOHOA_TSA_URL needs the agency's signing key (SOHOA_SIGNING_P12): "
                           "the development CA publishes no revocation data to archive")
    if not settings.trust_roots:
        raise SigningError("SOHOA_TRUST_ROOTS must name the root certificates of the signing "
                           "CA and of the timestamp authority")
    password = settings.tsa_password.get_secret_value() if settings.tsa_password else None
    return Archival("B-LTA", Authority(settings.tsa_url, settings.tsa_username, password,
                                       settings.tsa_timeout_s),
                    tuple(load_trust_roots(list(settings.trust_roots))))


def trust_roots(settings: Settings, extra: list[Path] | None = None) -> list[Any]:
    """Explicit roots if given; else the configured ones; else the dev CA."""
    paths = list(extra or []) or list(settings.trust_roots)
    if not paths:
        pki = ensure_dev_pki(settings.state_dir, organisation=settings.organisation)
        paths = [pki.ca_cert]
    return load_trust_roots(paths)


def engine_versions(machine: Machine) -> dict[str, str]:
    """What made the report (its ``engine``): sohoa, Tesseract and Prefect versions."""
    return {"sohoa": version("sohoa"), "tesseract": machine.tesseract,
            "prefect": version("prefect")}
