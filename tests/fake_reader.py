"""A libtesseract reader that misbehaves on chosen pages (fault injection).

``fake_reader(folder, faults)`` writes a reader script that speaks the real
reader's frames (:mod:`pipeline.ocr.libtesseract_reader`, imported by path) and,
for a page asked with a resolution in ``faults``, hangs (with a child holding its
output open: ``"hang"``), crashes (``"crash"``: SIGSEGV) or writes a diagnostic
and exits 3 (``"exit"``); every other page is read by the real code. Patch
``pipeline.ocr.libtesseract.READER`` with what it returns.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pipeline.ocr.libtesseract_reader as real

SCRIPT = """
import json, os, signal, subprocess, sys, time
sys.path.insert(0, {folder!r})
import libtesseract_reader as real
faults = {faults}
engines = {{}}
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
while (head := real.read_frame(stdin)) is not None:
    pixels = real.read_frame(stdin)
    header = json.loads(head)
    fault = faults.get(str(header["dpi"]))
    if fault == "hang":
        child = subprocess.Popen(["sleep", "600"])
        open({pid_file!r}, "w").write(str(child.pid))
        time.sleep(600)
    elif fault == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif fault == "exit":
        sys.stderr.write("Error in pixReadMem: truncated data\\n")
        sys.exit(3)
    real.write_frame(stdout, json.dumps(real.recognise(engines, header, pixels)).encode())
"""


def fake_reader(folder: Path, faults: dict[int, str]) -> list[str]:
    """The command of a reader with ``faults`` ({dpi: "hang" | "crash" | "exit"});
    a hanging reader's child pid is written to ``folder / "child.pid"``."""
    script = folder / "fake_reader.py"
    script.write_text(SCRIPT.format(
        folder=str(Path(real.__file__).parent),
        faults=json.dumps({str(k): v for k, v in faults.items()}),
        pid_file=str(folder / "child.pid"),
    ))
    return [sys.executable, str(script)]


def killed(pid: int) -> bool:
    """Whether process ``pid`` is gone (or a zombie), waiting up to 10 s for init
    to reap an orphan after its group was killed."""
    status = Path(f"/proc/{pid}/status")
    for _ in range(100):
        if not status.exists() or "\tZ" in status.read_text():
            return True
        time.sleep(0.1)
    return False
