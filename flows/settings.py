"""Settings from the environment: the only place (with the CLI) that reads it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

DEFAULT_ORGANISATION = "Trung tâm Phục vụ hành chính công thành phố Hà Nội"


def _default_state_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sohoa"


class Settings(BaseModel):
    """Deployment settings. Secrets are SecretStr: they never print."""

    model_config = ConfigDict(frozen=True)

    state_dir: Path
    organisation: str = DEFAULT_ORGANISATION
    signing_p12: Path | None = None
    signing_passphrase: SecretStr | None = None
    trust_roots: tuple[Path, ...] = ()
    workers: int = 2
    ocr_langs: str = "vie"
    ocr_timeout_s: float = 180.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        roots = tuple(Path(p) for p in env.get("SOHOA_TRUST_ROOTS", "").split(os.pathsep) if p)
        p12 = env.get("SOHOA_SIGNING_P12")
        passphrase = env.get("SOHOA_SIGNING_PASSPHRASE")
        return cls(
            state_dir=Path(env["SOHOA_STATE_DIR"]) if env.get("SOHOA_STATE_DIR")
            else _default_state_dir(env),
            organisation=env.get("SOHOA_ORGANISATION", DEFAULT_ORGANISATION),
            signing_p12=Path(p12) if p12 else None,
            signing_passphrase=SecretStr(passphrase) if passphrase is not None else None,
            trust_roots=roots,
            workers=int(env.get("SOHOA_WORKERS") or (os.cpu_count() or 1)),
            ocr_langs=env.get("SOHOA_OCR_LANGS", "vie"),
            ocr_timeout_s=float(env.get("SOHOA_OCR_TIMEOUT_S", "180")),
        )
