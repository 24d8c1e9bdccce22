"""Where the buckets are: a local folder or an S3 server (a value, never read from
the environment here; ``flows.settings.Settings.storage`` builds it)."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from pipeline.storage.base import Storage
from pipeline.storage.local import LocalStorage
from pipeline.storage.s3 import S3Storage


class StorageConfig(BaseModel):
    """Secrets are SecretStr: never printed, never a flow parameter."""

    model_config = ConfigDict(frozen=True)

    endpoint: str | None = None  # None: local folder at ``root``
    access_key: SecretStr = SecretStr("")
    secret_key: SecretStr = SecretStr("")
    secure: bool = True
    region: str = "us-east-1"
    root: Path | None = None
    intake: str = "intake"
    archive: str = "archive"
    quarantine: str = "quarantine"

    def open(self) -> Storage:
        """A new client (see :func:`open_storage` for the shared one)."""
        if self.endpoint:
            return S3Storage(self.endpoint, self.access_key.get_secret_value(),
                             self.secret_key.get_secret_value(), secure=self.secure,
                             region=self.region)
        if self.root is None:
            raise ValueError("a local storage configuration needs a root folder")
        return LocalStorage(self.root)

    def buckets(self) -> tuple[str, str, str]:
        return self.intake, self.archive, self.quarantine

    def where(self) -> str:
        """For operators: the endpoint or folder (never a credential)."""
        return self.endpoint or str(self.root)


@functools.lru_cache(maxsize=4)
def open_storage(config: StorageConfig) -> Storage:
    """One client per configuration and process."""
    return config.open()


def ensure_buckets(config: StorageConfig, storage: Storage) -> None:
    for bucket in config.buckets():
        storage.ensure_bucket(bucket)
