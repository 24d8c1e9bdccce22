"""Object storage: one interface (:class:`Storage`), a local-folder and an S3 backend."""

from pipeline.storage.base import (
    ObjectInfo,
    Storage,
    check_bucket,
    normalize_key,
    normalize_prefix,
    object_sha256,
    verify_copy,
)
from pipeline.storage.config import StorageConfig, ensure_buckets, open_storage
from pipeline.storage.local import LocalStorage
from pipeline.storage.s3 import S3Storage

__all__ = [
    "LocalStorage",
    "ObjectInfo",
    "S3Storage",
    "Storage",
    "StorageConfig",
    "check_bucket",
    "ensure_buckets",
    "normalize_key",
    "normalize_prefix",
    "object_sha256",
    "open_storage",
    "verify_copy",
]
