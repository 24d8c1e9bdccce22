"""``sohoa stack`` as an operator runs it (flows/stack.py): a taken port is one line;
SIGTERM stops the whole stack, every process it started included.

A real stack (SeaweedFS, Prefect server, worker, watcher) on free ports, in a
process of its own; its processes are found by the stack folder in their
environment (/proc), so that nothing it started can be missed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from flows.stack import free_port

SOHOA = str(Path(sys.executable).with_name("sohoa"))
UP_TIMEOUT_S = 240.0


def processes_using(folder: Path) -> list[int]:
    """PIDs whose environment names ``folder`` (the stack's children and their children)."""
    found = []
    needle = str(folder).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [SOHOA, "stack", "--dir", str(tmp_path / "stack"), "--port", str(port),
             "--s3-port", str(free_port())],
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "SOHOA_STATE_DIR": str(tmp_path / "state")})
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"sohoa: port {port} on 127.0.0.1 is taken (another sohoa stack, or a stack that did "
        "not stop?): free it or choose another with --port/--s3-port"]
    assert not (tmp_path / "stack").exists()  # nothing was started


def test_sigterm_stops_the_whole_stack(tmp_path: Path) -> None:
    folder = tmp_path / "stack"
    log = (tmp_path / "stack.out").open("w")
    env = {**os.environ, "SOHOA_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [SOHOA, "stack", "--dir", str(folder), "--port", str(free_port()),
         "--s3-port", str(free_port())],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + UP_TIMEOUT_S
        while "sohoa stack is up" not in (tmp_path / "stack.out").read_text():
            assert proc.poll() is None, (tmp_path / "stack.out").read_text()[-2000:]
            assert time.monotonic() < deadline, "the stack did not come up"
            time.sleep(1)
        children = processes_using(folder)
        assert len(children) >= 4  # S3, Prefect server, worker, watcher (and theirs)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
        out = (tmp_path / "stack.out").read_text()
        assert "sohoa stack: SIGTERM received" in out and "sohoa stack: stopping" in out
        time.sleep(1)
        assert processes_using(folder) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in processes_using(folder):
            os.kill(pid, signal.SIGKILL)
        log.close()
