"""The one settings object, read from the environment (``SOHOA_*``) by ``flows/`` and
the CLI and passed down; nothing below ``flows/`` reads the environment.

| variable | meaning |
|---|---|
| ``SOHOA_STATE_DIR`` | dev CA, page results, work area (default ``$XDG_STATE_HOME/sohoa``) |
| ``SOHOA_ORGANISATION`` | signing organisation |
| ``SOHOA_SIGNING_P12``, ``SOHOA_SIGNING_PASSPHRASE`` | production signing key (PKCS#12) |
| ``SOHOA_TRUST_ROOTS`` | CA certificates trusted by ``sohoa verify`` (``:``-separated) |
| ``SOHOA_TSA_URL`` | RFC 3161 timestamp authority: bundles are signed PAdES B-LTA |
| ``SOHOA_TSA_USERNAME``, ``SOHOA_TSA_PASSWORD`` | its HTTP basic credentials, if it needs them |
| ``SOHOA_RETIMESTAMP_WITHIN_DAYS`` | renew a bundle's timestamp this long before it expires |
| ``SOHOA_WORKERS`` | pages processed at once on this machine (default: cores) |
| ``SOHOA_OCR_LANGS``, ``SOHOA_OCR_TIMEOUT_S`` | Tesseract languages, per-page timeout |
| ``SOHOA_S3_ENDPOINT`` | ``http(s)://host:port`` or ``host:port``: use S3 (else a local folder) |
| ``SOHOA_S3_ACCESS_KEY``, ``SOHOA_S3_SECRET_KEY`` | S3 credentials |
| ``SOHOA_S3_SECURE``, ``SOHOA_S3_REGION`` | TLS for a bare ``host:port`` (default true), region |
| ``SOHOA_STORAGE_ROOT`` | local-folder storage root (default ``$SOHOA_STATE_DIR/storage``) |
| ``SOHOA_BUCKET_INTAKE``, ``..._ARCHIVE``, ``..._QUARANTINE`` | bucket names |
| ``SOHOA_WEBHOOK_SECRET`` | HMAC key of the optional callback |
| ``SOHOA_WORK_POOL``, ``SOHOA_MAX_IN_FLIGHT`` | ``sohoa serve``: work pool, its cap on runs |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

if TYPE_CHECKING:
    from pipeline.ocr import OcrConfig
    from pipeline.storage.config import StorageConfig

DEFAULT_ORGANISATION = "Trung tâm Phục vụ hành chính công thành phố Hà Nội"
ENV_PREFIX = "SOHOA_"
# True while from_env(mapping) builds settings from that mapping alone
_MAPPING_ONLY: ContextVar[bool] = ContextVar("sohoa_settings_mapping_only", default=False)


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sohoa"


class Settings(BaseSettings):
    """Deployment settings. Secrets are SecretStr: they never print."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    state_dir: Path = Field(default_factory=_default_state_dir)
    organisation: str = DEFAULT_ORGANISATION
    signing_p12: Path | None = None
    signing_passphrase: SecretStr | None = None
    trust_roots: Annotated[tuple[Path, ...], NoDecode] = ()
    #: archival signatures (B-LTA): the timestamp authority; None = B-B (development)
    tsa_url: str | None = None
    tsa_username: str | None = None
    tsa_password: SecretStr | None = None
    tsa_timeout_s: float = Field(default=20.0, gt=0)
    retimestamp_within_days: int = Field(default=180, ge=1)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    #: ``library``: libtesseract in kept reader processes; ``program``: a process per page
    ocr_engine: Literal["library", "program"] = "library"
    ocr_langs: str = "vie"
    ocr_timeout_s: float = Field(default=180.0, gt=0)
    # storage (the deployed system's buckets; a local folder by default)
    s3_endpoint: str | None = None
    s3_access_key: SecretStr = SecretStr("")
    s3_secret_key: SecretStr = SecretStr("")
    s3_secure: bool = True
    s3_region: str = "us-east-1"
    storage_root: Path | None = None
    bucket_intake: str = "intake"
    bucket_archive: str = "archive"
    bucket_quarantine: str = "quarantine"
    # the deployed system
    webhook_secret: SecretStr | None = None
    work_pool: str = "sohoa"
    #: flow runs at once over all workers of the pool (None: each worker's --limit)
    max_in_flight: int | None = Field(default=None, ge=1)
    #: a deployed run with open questions waits this long for a supervisor's answer
    #: (then the watcher closes it as needs_review); 0: never ask, deliver at once
    review_wait_hours: float = Field(default=48.0, ge=0)

    @field_validator("trust_roots", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(Path(p) for p in value.split(os.pathsep) if p)
        return value

    @field_validator("s3_endpoint", "signing_p12", "storage_root", "tsa_url", "max_in_flight",
                     mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _MAPPING_ONLY.get():
            return (init_settings,)
        return (init_settings, env_settings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """From ``os.environ``, or from ``environ`` alone (tests, child processes)."""
        if environ is None:
            return cls()
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key in environ:
                values[name] = environ[key]
        if "state_dir" not in values and environ.get("XDG_STATE_HOME"):
            values["state_dir"] = Path(environ["XDG_STATE_HOME"]) / "sohoa"
        token = _MAPPING_ONLY.set(True)
        try:
            return cls(**values)
        finally:
            _MAPPING_ONLY.reset(token)

    @property
    def storage(self) -> StorageConfig:
        """Where the buckets are (credentials stay SecretStr)."""
        from pipeline.storage.config import StorageConfig  # the S3 client loads on demand

        endpoint, secure = self.s3_endpoint, self.s3_secure
        if endpoint and "://" in endpoint:
            secure = endpoint.startswith("https://")
        return StorageConfig(
            endpoint=endpoint, access_key=self.s3_access_key, secret_key=self.s3_secret_key,
            secure=secure, region=self.s3_region,
            root=self.storage_root or self.state_dir / "storage",
            intake=self.bucket_intake, archive=self.bucket_archive,
            quarantine=self.bucket_quarantine,
        )

    @property
    def ocr(self) -> OcrConfig:
        """How Tesseract reads a page (engine, languages, per-page timeout)."""
        from pipeline.ocr import OcrConfig

        return OcrConfig(engine=self.ocr_engine, langs=self.ocr_langs,
                         timeout_s=self.ocr_timeout_s)

    @property
    def work_dir(self) -> Path:
        """This machine's work area: page images and intake objects of running dossiers."""
        return self.state_dir / "work"
