"""Can this machine process a dossier at all? Checked once, before any page.

A missing program or language, or a state folder that cannot be written, is a
fault of the machine, not of a page: it fails the run with its own exit code
(:class:`~pipeline.errors.EnvironmentFault`) instead of turning every page into a
page error, and it is never cached as a page result.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import MissingDependency, StateDirError
from pipeline.ocr import OcrConfig, engine_version, tesseract

POPPLER = ("pdftoppm", "pdfinfo")  # pdf2image runs these for PDF pages


@dataclass(frozen=True)
class Machine:
    """What was found: the programs' versions (they go into the report's ``engine``)."""

    tesseract: str
    langs: str


def check_environment(*, ocr: OcrConfig, state_dir: Path) -> Machine:
    """Tesseract >= 5 with ``ocr.langs`` (the program, for its language data, and the
    engine that reads), poppler, a writable ``state_dir``; or the fault."""
    tesseract.languages(ocr.langs)
    version = engine_version(ocr)
    for program in POPPLER:
        if shutil.which(program, path=os.environ.get("PATH")) is None:
            raise MissingDependency(f"'{program}' not found: install poppler-utils")
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=state_dir, prefix=".probe-"):
            pass
    except OSError as exc:
        raise StateDirError(f"state folder {state_dir} is not writable "
                            f"({exc.strerror or type(exc).__name__}); set SOHOA_STATE_DIR") from exc
    return Machine(tesseract=version, langs=ocr.langs)
