"""The ``tesseract`` program: version probe, language probe and page OCR.

One module for the external program, in the style of OCRmyPDF's ``_exec``
wrappers: every call has a timeout and a per-call environment, harmless
diagnostics are mapped to normal/empty results and everything else to a typed
error from :mod:`pipeline.errors`.

Why the binary is called directly rather than through ``pytesseract``:
``pytesseract`` runs the program with the parent's environment, so the only way
to limit Tesseract's OpenMP threads per call (``OMP_THREAD_LIMIT``) would be to
mutate ``os.environ`` — a process-wide side effect that races with other
threads/tasks. It also writes temporary files for every call and folds every
failure into one ``TesseractError``. Here the image is fed as PNG on stdin, the
TSV comes back on stdout, and the environment is built per call.

Never logs or puts OCR text in error messages.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import unicodedata
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.errors import MissingDependency, OcrError, ProgramTimeout
from pipeline.types import OcrResult, Word

#: Name or path of the program; tests monkeypatch this to inject a missing binary.
TESSERACT = "tesseract"
MIN_MAJOR_VERSION = 5
PROBE_TIMEOUT_S = 30.0

#: stderr lines Tesseract prints on normal runs; they are not errors.
_HARMLESS = (
    "empty page",
    "estimating resolution",
    "warning: invalid resolution",
    "detected ",  # "Detected 12 diacritics"
    "image too small to scale",
    "line cannot be recognized",
    "too few characters",
    "warning. invalid resolution",
)
_LANG_RE = re.compile(r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$")
_VAR_RE = re.compile(r"^[A-Za-z0-9_]+$")
_TSV_COLUMNS = 12
_APT_HINT = {"vie": "tesseract-ocr-vie", "eng": "tesseract-ocr-eng", "osd": "tesseract-ocr-osd"}


class OcrConfig(BaseModel):
    """How to run Tesseract on one page."""

    model_config = ConfigDict(frozen=True)

    #: ``library``: libtesseract in reader processes kept between pages, the model
    #: loaded once (:mod:`pipeline.ocr.libtesseract`); ``program``: a ``tesseract``
    #: process per page (this module). ``threads`` applies to the program only: the
    #: library's bundled Tesseract reads on one thread.
    engine: Literal["library", "program"] = "library"
    langs: str = "vie"
    psm: int = Field(default=3, ge=0, le=13)
    oem: int = Field(default=1, ge=0, le=3)
    timeout_s: float = Field(default=120.0, gt=0)
    threads: int = Field(default=1, ge=1, le=64)
    tessdata_dir: str | None = None
    #: extra ``-c name=value`` variables, e.g. (("preserve_interword_spaces", "1"),).
    #: By default Tesseract re-reads doubtful lines inverted (light on dark); the
    #: pages it gets here are cleaned dark-on-light, so that costs ~12% for nothing.
    variables: tuple[tuple[str, str], ...] = (("tessedit_do_invert", "0"),)

    @field_validator("langs")
    @classmethod
    def _check_langs(cls, v: str) -> str:
        if not _LANG_RE.match(v):
            raise ValueError("langs must look like 'vie' or 'vie+eng'")
        return v

    @field_validator("variables")
    @classmethod
    def _check_variables(cls, v: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        for name, value in v:
            if not _VAR_RE.match(name) or "\n" in value:
                raise ValueError(f"invalid tesseract variable {name!r}")
        return v


# --- probes ------------------------------------------------------------------
def _env(threads: int = 1) -> dict[str, str]:
    return {**os.environ, "OMP_THREAD_LIMIT": str(threads)}


def _run_probe(args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=_env(), check=False
        )
    except FileNotFoundError as exc:
        raise MissingDependency(
            f"Tesseract is not installed ('{args[0]}' not found); install tesseract-ocr >= 5"
        ) from exc
    except PermissionError as exc:
        raise MissingDependency(f"Tesseract ('{args[0]}') is not executable") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProgramTimeout(f"'{args[0]} {args[1]}' did not answer in time") from exc


def _program(binary: str) -> tuple[str, int, int]:
    """Where ``binary`` is on the PATH now, and which file it is (path, mtime, size):
    the probes' cache key, so a program removed, added or upgraded is probed anew."""
    found = shutil.which(binary, path=os.environ.get("PATH"))
    if found is None:
        raise MissingDependency(
            f"Tesseract is not installed ('{binary}' not found); install tesseract-ocr >= 5"
        )
    st = os.stat(found)
    return found, st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=8)
def _version_of(binary: str, _identity: tuple[str, int, int] | None = None) -> str:
    proc = _run_probe([binary, "--version"])
    out = (proc.stdout or "") + (proc.stderr or "")
    return checked_version(out if proc.returncode == 0 else "", f"'{binary} --version'")


def checked_version(banner: str, source: str) -> str:
    """The version in a ``tesseract 5.3.0 ...`` banner; MissingDependency if there is
    none (``source`` says who gave it) or it is older than 5."""
    match = re.search(r"tesseract\s+v?(\d+)\.(\d+)(?:\.(\d+))?", banner, re.IGNORECASE)
    if match is None:
        raise MissingDependency(f"{source} gave no usable version")
    ver = ".".join(g for g in match.groups() if g is not None)
    if int(match.group(1)) < MIN_MAJOR_VERSION:
        raise MissingDependency(f"Tesseract {ver} is too old; version 5 or later is required")
    return ver


def version() -> str:
    """Tesseract's version string (e.g. ``"5.3.0"``); cached per program file.

    Raises MissingDependency if the program is absent or older than 5.
    """
    return _version_of(TESSERACT, _program(TESSERACT))


@functools.lru_cache(maxsize=8)
def _list_langs(
    binary: str, tessdata_dir: str | None, _identity: tuple[object, ...] = ()
) -> tuple[str, frozenset[str]]:
    """(the language data folder, the languages in it), as ``--list-langs`` says."""
    args = [binary, "--list-langs"]
    if tessdata_dir:
        args[1:1] = ["--tessdata-dir", tessdata_dir]
    proc = _run_probe(args)
    if proc.returncode != 0:
        raise MissingDependency(f"'{binary} --list-langs' failed: {summarise_stderr(proc.stderr)}")
    lines = [line.strip() for line in (proc.stdout or "").splitlines() if line.strip()]
    folder = re.search(r'"([^"]+)"', lines[0]) if lines else None
    langs = {line for line in lines if not line.startswith("List of available")}
    return (folder.group(1) if folder else tessdata_dir or ""), frozenset(langs)


def _listing(tessdata_dir: str | None) -> tuple[str, frozenset[str]]:
    version()
    data = tessdata_dir or os.environ.get("TESSDATA_PREFIX")
    return _list_langs(TESSERACT, tessdata_dir, (_program(TESSERACT), data))


def tessdata_path(tessdata_dir: str | None = None) -> str:
    """The language data folder the system's Tesseract reads (``tessdata_dir`` if given)."""
    folder, _ = _listing(tessdata_dir)
    if not folder:
        raise MissingDependency("Tesseract did not say where its language data is")
    return folder


def languages(requested: str | None = None, *, tessdata_dir: str | None = None) -> frozenset[str]:
    """Installed Tesseract languages (``--list-langs``), cached.

    If ``requested`` (e.g. ``"vie+eng"``) names a language that is not
    installed, raises MissingDependency naming the missing traineddata file.
    """
    _, available = _listing(tessdata_dir)
    if requested:
        missing = [lang for lang in requested.split("+") if lang not in available]
        if missing:
            files = ", ".join(f"{m}.traineddata" for m in missing)
            pkgs = " ".join(_APT_HINT.get(m, f"tesseract-ocr-{m}") for m in missing)
            raise MissingDependency(
                f"Tesseract language data not installed: {files} (install {pkgs})"
            )
    return available


# --- OCR -----------------------------------------------------------------------
def summarise_stderr(stderr: str | None, limit: int = 300) -> str:
    """Stderr without harmless chatter, one line, bounded (program diagnostics only)."""
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    bad = [ln for ln in lines if not ln.lower().startswith(_HARMLESS)]
    text = "; ".join(bad or lines) or "no diagnostic output"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def page_array(image: np.ndarray) -> np.ndarray:
    """The image as Tesseract is given it: 2-D (grey or 0/255) or HxWx3 (RGB) uint8."""
    arr = np.asarray(image)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype != np.uint8:
        raise ValueError(f"ocr_image needs a uint8 image, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = arr[:, :, :3]
    elif arr.ndim != 2:
        raise ValueError(f"ocr_image needs a 2-D or HxWx3 image, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("ocr_image got an empty image")
    return np.ascontiguousarray(arr)


def is_bilevel(arr: np.ndarray) -> bool:
    """A binarised page (only 0 and 255): Tesseract gets it one bit per pixel, a
    quarter of the PNG encoding time and nothing to threshold (the very same words)."""
    return arr.ndim == 2 and not cv2.countNonZero(cv2.inRange(arr, 1, 254))


def _to_png(image: np.ndarray) -> bytes:
    arr = page_array(image)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    if is_bilevel(arr):
        params += [cv2.IMWRITE_PNG_BILEVEL, 1]
    ok, buf = cv2.imencode(".png", arr, params)
    if not ok:
        raise OcrError("could not encode the page image as PNG for Tesseract")
    return buf.tobytes()


def _command(dpi: float, config: OcrConfig) -> list[str]:
    args = [TESSERACT, "stdin", "stdout"]
    if config.tessdata_dir:
        args += ["--tessdata-dir", config.tessdata_dir]
    args += ["--dpi", str(max(1, round(dpi))), "-l", config.langs]
    args += ["--psm", str(config.psm), "--oem", str(config.oem)]
    for name, value in config.variables:
        args += ["-c", f"{name}={value}"]
    args.append("tsv")
    return args


def parse_tsv(tsv: str) -> tuple[Word, ...]:
    """Level-5 (word) rows with non-empty text, NFC-normalised, in reading order."""
    words: list[Word] = []
    for row in tsv.splitlines():  # a header line, if any, is no word row
        cols = row.split("\t", _TSV_COLUMNS - 1)
        if len(cols) < _TSV_COLUMNS or cols[0] != "5":
            continue
        text = unicodedata.normalize("NFC", cols[11]).strip()
        if not text:
            continue
        try:
            block, par, line = int(cols[2]), int(cols[3]), int(cols[4])
            left, top, width, height = (int(c) for c in cols[6:10])
            conf = float(cols[10])
        except ValueError:
            continue
        words.append(
            Word(text, left, top, width, height, max(conf, 0.0), block=block, par=par, line=line)
        )
    return tuple(words)


def _run_killable(args: list[str], data: bytes, config: OcrConfig) -> tuple[int, bytes, bytes]:
    """Run in its own process group; on timeout kill the whole group (a hung
    program and anything it started), reap it, and raise TimeoutExpired."""
    proc = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_env(config.threads), start_new_session=True,
    )
    try:
        out, err = proc.communicate(data, timeout=config.timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise
    except BaseException:
        _kill_group(proc)
        raise
    return proc.returncode, out, err


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=PROBE_TIMEOUT_S)  # reap; pipes close with the group


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def ocr_image(image: np.ndarray, *, dpi: float, config: OcrConfig | None = None) -> OcrResult:
    """OCR one page image (grey, binary or RGB uint8) with Tesseract, TSV output.

    Raises MissingDependency (program/language data absent), ProgramTimeout
    (the process group is killed), OcrError (non-zero exit or killed by a
    signal, e.g. a crash; stderr summarised).
    An empty page gives an OcrResult with no words.
    """
    config = config or OcrConfig()
    if dpi <= 0:
        raise ValueError("dpi must be positive")
    engine = version()
    languages(config.langs, tessdata_dir=config.tessdata_dir)
    png = _to_png(image)
    height, width = image.shape[:2]
    try:
        returncode, out, err = _run_killable(_command(dpi, config), png, config)
    except FileNotFoundError as exc:
        raise MissingDependency(f"Tesseract ('{TESSERACT}') is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProgramTimeout(
            f"Tesseract did not finish within {config.timeout_s:g} s on a {width}x{height} page"
        ) from exc
    stderr = err.decode("utf-8", "replace")
    if returncode < 0:
        crash = signal_name(-returncode)
        raise OcrError(f"Tesseract crashed ({crash}): {summarise_stderr(stderr)}")
    if returncode != 0:
        raise OcrError(f"Tesseract failed (exit {returncode}): {summarise_stderr(stderr)}")
    return ocr_result(
        out.decode("utf-8", "replace"), width=width, height=height, dpi=dpi, config=config,
        engine=engine,
    )


def ocr_result(
    tsv: str, *, width: int, height: int, dpi: float, config: OcrConfig, engine: str
) -> OcrResult:
    """The OcrResult of one page's TSV (either engine's)."""
    words = parse_tsv(tsv)
    mean_conf = float(np.mean([w.conf for w in words])) if words else 0.0
    return OcrResult(
        words=words,
        width=int(width),
        height=int(height),
        dpi=float(dpi),
        mean_conf=round(mean_conf, 2),
        langs=config.langs,
        engine_version=engine,
    )
