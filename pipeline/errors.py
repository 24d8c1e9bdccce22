"""One error hierarchy for the whole pipeline.

Every error carries a message meant for the operator (never OCR text, ID numbers
or secrets), a ``retryable`` flag (flows retry only retryable errors) and the
exit code the command line ends with (:class:`ExitCode`, as OCRmyPDF does).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What ``sohoa`` exits with. 0 for every dossier that got a report (complete,
    incomplete, needs_review); non-zero says why there is none (docs/contracts.md §1)."""

    ok = 0
    invalid = 1  # ``sohoa verify``: the bundle is not valid (a finding, not a failure)
    input_error = 2  # the call or the dossier's input (argparse usage errors too)
    environment = 3  # a missing program or language, an unwritable state folder
    output_error = 4  # the bundle could not be assembled or signed
    storage_error = 5  # object storage unreachable or refusing
    program_error = 7  # an external program failed on the whole run
    config_error = 9  # catalog, trained model or settings unusable
    other_error = 15  # a defect: anything the pipeline did not raise on purpose
    interrupted = 130


class SohoaError(Exception):
    """Base of every error the pipeline raises on purpose."""

    retryable: bool = False
    exit_code: ExitCode = ExitCode.other_error

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

    exit_code = ExitCode.input_error


class UnsupportedFormat(InputError):
    """A file whose content is not a supported page format."""


class CorruptFile(InputError):
    """A file of a supported format that cannot be decoded."""


class ManifestError(InputError):
    """manifest.json is missing a field, is not JSON, or names unknown things."""


class UnknownProcedure(InputError):
    """A procedure id that the catalog does not define."""


# --- the machine ---------------------------------------------------------------
class EnvironmentFault(SohoaError):
    """This machine cannot process anything: checked once before any page, never a
    page result (it says nothing about the page), never cached."""

    exit_code = ExitCode.environment


class MissingDependency(EnvironmentFault):
    """An external program or its language data is not installed, or too old."""


class StateDirError(EnvironmentFault):
    """The state folder (signing key, page results, work area) is not writable."""


# --- external programs -------------------------------------------------------
class ExternalProgramError(SohoaError):
    """An external program (tesseract, pdftoppm, gs) failed."""

    exit_code = ExitCode.program_error


class ProgramTimeout(ExternalProgramError):
    """An external program did not finish in time (the page is flagged, not retried)."""


class OcrError(ExternalProgramError):
    """Tesseract failed on a page."""


# --- output ------------------------------------------------------------------
class PdfError(SohoaError):
    """The bundle could not be assembled."""

    exit_code = ExitCode.output_error


class SigningError(SohoaError):
    """The bundle could not be signed (certificate, key, passphrase)."""

    exit_code = ExitCode.output_error


class VerificationError(SohoaError):
    """A signed bundle could not be validated at all (not: found invalid)."""

    exit_code = ExitCode.input_error


class CatalogError(SohoaError):
    """The catalog data in models/ is inconsistent."""

    exit_code = ExitCode.config_error


class ModelArtifactError(CatalogError):
    """A trained model artifact in models/ is missing, corrupt or incompatible."""


# --- the run -----------------------------------------------------------------
class RunCancelled(SohoaError):
    """A supervisor cancelled the run: it stops before its next page, bundle or
    delivery; nothing is delivered and the pages stay in intake."""


# --- storage -----------------------------------------------------------------
class StorageError(SohoaError):
    """Object storage failed; transient by default."""

    retryable = True
    exit_code = ExitCode.storage_error


class ObjectNotFound(StorageError):
    """A key that should exist does not."""

    retryable = False


def is_retryable(exc: BaseException) -> bool:
    """True only for errors the pipeline marks retryable (used by flow retry conditions)."""
    return isinstance(exc, SohoaError) and exc.retryable


def first_line(exc: BaseException | str, limit: int = 200) -> str:
    """The first line of an exception's (or a library's) message, for an operator's
    message: a library's multi-line text never spills into ours."""
    text = str(exc)
    if not text:
        return type(exc).__name__ if isinstance(exc, BaseException) else ""
    return text.splitlines()[0][:limit]

