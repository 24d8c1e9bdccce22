"""Tesseract's library (libtesseract, through ``tesserocr``): pages read by kept processes.

The same page, settings and TSV as the ``tesseract`` program
(:mod:`pipeline.ocr.tesseract`), without a new process and a language-model load
per page: a reader process (:mod:`pipeline.ocr.libtesseract_reader`) per page read
at the same moment, kept for the next pages, is handed the pixels as they are (no
PNG). The ``tesserocr`` wheel bundles its own libtesseract; it reads the language
data of the system's Tesseract (the folder its ``--list-langs`` names, or
``OcrConfig.tessdata_dir``).

Why processes and not threads of this one: a Tesseract that hangs or crashes on a
page must cost that page only. After ``timeout_s`` the reader's process group is
killed (ProgramTimeout); a reader that dies gives OcrError with its signal; either
way the next page gets a new reader. Never logs or puts OCR text in error messages.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import numpy as np

from pipeline.errors import MissingDependency, OcrError, ProgramTimeout, SohoaError
from pipeline.ocr.libtesseract_reader import LENGTH
from pipeline.ocr.tesseract import (
    OcrConfig,
    checked_version,
    is_bilevel,
    languages,
    ocr_result,
    page_array,
    signal_name,
    summarise_stderr,
    tessdata_path,
)
from pipeline.types import OcrResult

#: The reader's command; tests monkeypatch it to inject a reader that hangs or crashes.
READER = [sys.executable, str(Path(__file__).with_name("libtesseract_reader.py"))]
_CHUNK = 1 << 16


@functools.lru_cache(maxsize=1)
def version() -> str:
    """The bundled libtesseract's version (e.g. ``"5.5.4"``); MissingDependency if absent or < 5."""
    try:
        import tesserocr
    except ImportError as exc:
        raise MissingDependency(
            "the tesserocr package is not installed (pip install tesserocr); "
            "or read with the tesseract program (SOHOA_OCR_ENGINE=program)"
        ) from exc
    return checked_version(str(tesserocr.tesseract_version()), "tesserocr")


class _Reader:
    """One reader process: a request out, its answer back, within a deadline."""

    def __init__(self) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (lives with the reader)
        self.proc = subprocess.Popen(
            READER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"}, start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.send_fd, self.recv_fd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        os.set_blocking(self.send_fd, False)
        os.set_blocking(self.recv_fd, False)

    def ask(self, header: bytes, pixels: bytes, deadline: float) -> dict[str, object] | None:
        """The reader's answer to one page; None if it ended first; TimeoutError at the
        deadline. The pixels are written from where they are, not copied."""
        out = [memoryview(LENGTH.pack(len(header)) + header + LENGTH.pack(len(pixels))),
               memoryview(pixels)]
        got = bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(self.recv_fd, selectors.EVENT_READ)
            sel.register(self.send_fd, selectors.EVENT_WRITE)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                for key, _ in sel.select(left):
                    if key.fd == self.send_fd:
                        try:
                            out[0] = out[0][os.write(self.send_fd, out[0][:_CHUNK]):]
                        except BrokenPipeError:  # it ended before reading the page
                            return None
                        out = [part for part in out if part]
                        if not out:
                            sel.unregister(self.send_fd)
                        continue
                    chunk = os.read(self.recv_fd, _CHUNK)
                    if not chunk:
                        return None
                    got += chunk
                    answer = _complete(got)
                    if answer is not None:
                        return answer

    def kill(self) -> None:
        """Kill its process group (it and anything it started), reap it, forget it."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.end()
        self.stderr.close()

    def end(self) -> int:
        """Close its input, reap it (killed if it lingers), return its exit status."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        with contextlib.suppress(OSError):
            self.proc.stdout.close()  # type: ignore[union-attr]
        return code

    def diagnostics(self) -> str:
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - 2000))
        return summarise_stderr(self.stderr.read().decode("utf-8", "replace"))


def _complete(got: bytearray) -> dict[str, object] | None:
    if len(got) < LENGTH.size:
        return None
    (size,) = LENGTH.unpack_from(got)
    if len(got) < LENGTH.size + size:
        return None
    answer: dict[str, object] = json.loads(bytes(got[LENGTH.size:LENGTH.size + size]))
    return answer


_idle: list[_Reader] = []
_idle_lock = threading.Lock()
_owner = os.getpid()


def _forget_inherited() -> None:
    """(With ``_idle_lock`` held.) Idle readers inherited through a fork are not ours."""
    global _owner
    if os.getpid() != _owner:
        _idle.clear()
        _owner = os.getpid()


@contextlib.contextmanager
def _reader() -> Iterator[_Reader]:
    """An idle reader (or a new one); back to the idle ones after a good answer,
    killed after anything else. Readers inherited through a fork are not used."""
    with _idle_lock:
        _forget_inherited()
        reader = _idle.pop() if _idle else None
    if reader is None:
        reader = _Reader()
    try:
        yield reader
    except BaseException:
        reader.kill()
        raise
    with _idle_lock:
        _idle.append(reader)


def close_readers() -> None:
    """End every idle reader (they also end by themselves when this process does)."""
    with _idle_lock:
        readers, _idle[:] = list(_idle), []
    for reader in readers:
        reader.kill()


#: what a reader reads to load its language models: a small white page (no words)
_WARM_PAGE = np.full((32, 32), 255, dtype=np.uint8)


def warm_readers(count: int, *, config: OcrConfig) -> int:
    """Start readers until ``count`` are idle, each with ``config``'s language models
    loaded (a small white page read), so that the first pages of a run find them ready.

    Returns how many readers are idle. A reader that cannot start or read is ended
    and left to the first page, which reports why: this never raises for it.
    """
    with _idle_lock:
        _forget_inherited()
        missing = count - len(_idle)
    if missing <= 0:
        return count - missing
    try:
        header, pixels = _request(_WARM_PAGE, dpi=300, config=config)
    except SohoaError:  # no language data: the first page says so
        return count - missing
    readers = [_Reader() for _ in range(missing)]  # their processes start together

    def warm(reader: _Reader) -> None:
        try:
            answer = reader.ask(header, pixels, time.monotonic() + config.timeout_s)
        except (TimeoutError, OSError):
            answer = None
        if answer is None or "tsv" not in answer:
            reader.kill()
            return
        with _idle_lock:
            _idle.append(reader)

    with ThreadPoolExecutor(missing) as pool:
        list(pool.map(warm, readers))
    with _idle_lock:
        return len(_idle)


def _request(image: np.ndarray, *, dpi: float, config: OcrConfig) -> tuple[bytes, bytes]:
    """(JSON header, pixels): a binarised page one bit per pixel (set = white,
    Tesseract's raw convention), as the program gets it from a 1-bit PNG."""
    arr = page_array(image)
    height, width = arr.shape[:2]
    if is_bilevel(arr):
        packed = np.packbits(arr > 0, axis=1)
        pixels, depth, per_line = packed.tobytes(), 0, packed.shape[1]
    else:
        depth = 1 if arr.ndim == 2 else 3
        pixels, per_line = arr.tobytes(), width * depth
    header = {
        "path": tessdata_path(config.tessdata_dir), "langs": config.langs, "oem": config.oem,
        "psm": config.psm, "variables": [list(v) for v in config.variables],
        "width": width, "height": height, "depth": depth, "per_line": per_line,
        "dpi": max(1, round(dpi)),
    }
    return json.dumps(header).encode(), pixels


def ocr_image(image: np.ndarray, *, dpi: float, config: OcrConfig) -> OcrResult:
    """OCR one page image (grey, binary or RGB uint8) with libtesseract; TSV as the program's.

    Raises MissingDependency (tesserocr or language data absent), ProgramTimeout
    (``config.timeout_s`` passed: the reader is killed), OcrError (the reader died,
    e.g. a crash, or Tesseract could not read the page).
    An empty page gives an OcrResult with no words.
    """
    if dpi <= 0:
        raise ValueError("dpi must be positive")
    engine = version()
    languages(config.langs, tessdata_dir=config.tessdata_dir)
    header, pixels = _request(image, dpi=dpi, config=config)
    height, width = image.shape[:2]
    with _reader() as reader:
        try:
            answer = reader.ask(header, pixels, time.monotonic() + config.timeout_s)
        except TimeoutError:
            raise ProgramTimeout(
                f"Tesseract did not finish within {config.timeout_s:g} s "
                f"on a {width}x{height} page"
            ) from None
        if answer is None:
            raise OcrError(_ended(reader))
        if "error" in answer:
            error = MissingDependency if answer.get("missing") else OcrError
            raise error(str(answer["error"]))
    return ocr_result(
        str(answer["tsv"]), width=width, height=height, dpi=dpi, config=config, engine=engine
    )


def _ended(reader: _Reader) -> str:
    code = reader.end()
    if code < 0:
        return f"Tesseract crashed ({signal_name(-code)}): {reader.diagnostics()}"
    return f"libtesseract's reader ended (exit {code}): {reader.diagnostics()}"
