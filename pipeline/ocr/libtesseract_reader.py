"""A process that reads page images with libtesseract (``tesserocr``), page after page.

Started by :mod:`pipeline.ocr.libtesseract`, by path: it imports nothing of the
project (only the standard library and ``tesserocr``), so it starts in a fraction
of a second and keeps its language models loaded for every later page.

Frames on stdin and stdout, each a 4-byte big-endian length and that many bytes:
a request is a JSON header frame then a pixels frame (``SetImageBytes``' layout);
the answer is one JSON frame, ``{"tsv": ...}`` or ``{"error": ..., "missing": bool}``
(never OCR text in an error). It ends at the end of its input.
"""

from __future__ import annotations

import json
import struct
import sys
from typing import Any, BinaryIO

LENGTH = struct.Struct(">I")


def read_frame(stream: BinaryIO) -> bytes | None:
    """One frame, or None at the end of the input."""
    head = stream.read(LENGTH.size)
    if len(head) < LENGTH.size:
        return None
    (size,) = LENGTH.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(LENGTH.pack(len(body)) + body)
    stream.flush()


def _engine(engines: dict[str, Any], header: dict[str, Any]) -> Any:
    import tesserocr

    key = json.dumps([header["path"], header["langs"], header["oem"], header["variables"]])
    api = engines.get(key)
    if api is None:
        api = tesserocr.PyTessBaseAPI(
            path=header["path"], lang=header["langs"], oem=header["oem"], init=True
        )
        for name, value in header["variables"]:
            if not api.SetVariable(name, value):
                raise ValueError(f"Tesseract has no variable {name!r}")
        engines[key] = api
    return api


def recognise(engines: dict[str, Any], header: dict[str, Any], pixels: bytes) -> dict[str, Any]:
    """The page's TSV (as the ``tesseract`` program writes it, without its header line)."""
    try:
        api = _engine(engines, header)
    except (RuntimeError, ValueError) as exc:
        return {"error": f"libtesseract could not start: {exc}", "missing": True}
    api.SetPageSegMode(header["psm"])
    api.SetImageBytes(pixels, header["width"], header["height"], header["depth"],
                      header["per_line"])
    api.SetSourceResolution(header["dpi"])
    if not api.Recognize():
        api.Clear()
        return {"error": "Tesseract could not read the page", "missing": False}
    tsv = api.GetTSVText(0)
    api.Clear()
    return {"tsv": tsv}


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    engines: dict[str, Any] = {}
    while (head := read_frame(stdin)) is not None:
        pixels = read_frame(stdin)
        if pixels is None:
            return
        write_frame(stdout, json.dumps(recognise(engines, json.loads(head), pixels)).encode())


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
