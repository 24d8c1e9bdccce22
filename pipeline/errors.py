"""One error hierarchy for the whole pipeline.

Every error carries a message meant for the operator (never OCR text, ID numbers
or secrets) and a ``retryable`` flag: flows retry only retryable errors.
"""

from __future__ import annotations


class SohoaError(Exception):
    """Base of every error the pipeline raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message


# --- input -----------------------------------------------------------------
class InputError(SohoaError):
    """The input itself is unusable (corrupt, unsupported, empty). Never retryable."""


class UnsupportedFormat(InputError):
    """A file whose content is not a supported page format."""


class CorruptFile(InputError):
    """A file of a supported format that cannot be decoded."""


class ManifestError(InputError):
    """manifest.json is missing a field, is not JSON, or names unknown things."""


class UnknownProcedure(InputError):
    """A procedure id that the catalog does not define."""


# --- external programs -------------------------------------------------------
class ExternalProgramError(SohoaError):
    """An external program (tesseract, pdftoppm, gs) failed."""


class MissingDependency(ExternalProgramError):
    """An external program is not installed or too old."""


class ProgramTimeout(ExternalProgramError):
    """An external program did not finish in time (the page is flagged, not retried)."""


class OcrError(ExternalProgramError):
    """Tesseract failed on a page."""


# --- output ------------------------------------------------------------------
class PdfError(SohoaError):
    """The bundle could not be assembled."""


class SigningError(SohoaError):
    """The bundle could not be signed (certificate, key, passphrase)."""


class VerificationError(SohoaError):
    """A signed bundle could not be validated at all (not: found invalid)."""


class CatalogError(SohoaError):
    """The catalog data in models/ is inconsistent."""


class ModelArtifactError(CatalogError):
    """A trained model artifact in models/ is missing, corrupt or incompatible."""


# --- storage -----------------------------------------------------------------
class StorageError(SohoaError):
    """Object storage failed; transient by default."""

    retryable = True


class ObjectNotFound(StorageError):
    """A key that should exist does not."""

    retryable = False


def is_retryable(exc: BaseException) -> bool:
    """True only for errors the pipeline marks retryable (used by flow retry conditions)."""
    return isinstance(exc, SohoaError) and exc.retryable
