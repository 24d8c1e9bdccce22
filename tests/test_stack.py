"""``sohoa stack`` as an operator runs it (flows/stack.py): a taken port is one line;
SIGTERM stops the whole stack, every process it started included.

A real stack (SeaweedFS, Prefect server, worker, watcher) on free ports, in a
process of its own; its processes are found by the stack folder in their
environment (/proc), so that nothing it started can be missed.
"""

from __future__ import annotations

import os
import re
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
    port = free_port()
    proc = subprocess.Popen(
        [SOHOA, "stack", "--dir", str(folder), "--port", str(port),
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
        # dossier runs at once: cores + 1 (one run's bundle overlaps another's OCR), the
        # worker's own limit (runs beyond it wait scheduled); neither the deployment nor
        # the pool caps them, so a worker started elsewhere adds its capacity
        deployment = _api(port, "GET", "/deployments/name/process-dossier/process-dossier")
        assert deployment["global_concurrency_limit"] is None, deployment  # type: ignore[index]
        pool = _api(port, "GET", "/work_pools/sohoa")
        assert pool["concurrency_limit"] is None, pool  # type: ignore[index]
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    for pid in children]
        worker = [c for c in commands if " worker --pool " in c]
        assert len(worker) == 1 and f"--limit {(os.cpu_count() or 1) + 1} " in worker[0], commands
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


def _up(proc: subprocess.Popen[bytes], out: Path, since: int) -> None:
    deadline = time.monotonic() + UP_TIMEOUT_S
    while out.read_text().count("sohoa stack is up") <= since:
        assert proc.poll() is None, out.read_text()[-2000:]
        assert time.monotonic() < deadline, "the stack did not come up"
        time.sleep(1)


def _api(port: int, method: str, path: str, body: object = None) -> object:
    import httpx

    r = httpx.request(method, f"http://127.0.0.1:{port}/api{path}", json=body, timeout=30)
    r.raise_for_status()
    return r.json()


def _dossier(tmp_path: Path, dossier_id: str) -> Path:
    import json
    import shutil

    folder = tmp_path / dossier_id
    shutil.copytree(Path(__file__).resolve().parents[1] / "samples" / "birth-complete", folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    (folder / "manifest.json").write_text(json.dumps({**manifest, "dossier_id": dossier_id}),
                                          encoding="utf-8")
    return folder


def test_a_stack_stopped_mid_run_finishes_its_work_when_started_again(tmp_path: Path) -> None:
    """Stopped while a page task runs, started again: the worker hands its run back to
    the pool as it stops (its OCR slots were its process's own: nothing is left held on
    the server), the run runs again and completes, and the next dossier completes, no
    hand on it."""
    folder, out = tmp_path / "stack", tmp_path / "stack.out"
    port, s3 = free_port(), free_port()
    env = {**os.environ, "SOHOA_STATE_DIR": str(tmp_path / "state")}
    cmd = [SOHOA, "stack", "--dir", str(folder), "--port", str(port), "--s3-port", str(s3)]

    def sohoa(*args: str, timeout: float = 120) -> str:
        done = subprocess.run(["bash", "-c", f'source {folder}/env.sh && "$@"', "sohoa",
                               SOHOA, *args], capture_output=True, text=True, env=env,
                              timeout=timeout, check=True, cwd=tmp_path)
        return done.stdout

    log = out.open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        _up(proc, out, 0)
        sohoa("upload", str(_dossier(tmp_path, "STOP-1")))
        running_pages = {"task_runs": {"name": {"like_": "page "},
                                       "state": {"type": {"any_": ["RUNNING"]}}}, "limit": 5}
        deadline = time.monotonic() + UP_TIMEOUT_S
        while not _api(port, "POST", "/task_runs/filter", running_pages):  # a page task runs
            assert time.monotonic() < deadline, "no page task started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
        time.sleep(1)
        assert processes_using(folder) == []  # the flow run's process and its OCR too
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        # the stopped worker handed its run back to the pool (it runs again from the top)
        stopped = (folder / "logs" / "worker.log").read_text(encoding="utf-8")
        assert "1 run(s) in flight handed back to the pool" in stopped
        _up(proc, out, 1)
        recovered = re.findall(r"recover +(\d+) OCR slot\(s\) freed, (\d+) run\(s\) left",
                               out.read_text())
        assert len(recovered) == 2 and recovered[1][1] == "0"
        sohoa("upload", str(_dossier(tmp_path, "STOP-2")))
        for dossier_id in ("STOP-1", "STOP-2"):
            fetched = sohoa("fetch", "cau-giay", dossier_id, "--wait", "300", timeout=330)
            assert "status    complete" in fetched, fetched
        # the report is delivered before the run publishes its artifacts and ends
        deadline = time.monotonic() + 60
        while True:
            runs = _api(port, "POST", "/flow_runs/filter", {"limit": 20})
            states = sorted((r["name"], r["state"]["name"])  # type: ignore[union-attr]
                            for r in runs if r["name"].startswith("STOP-"))
            if all(name != "Running" for _, name in states) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert states == [("STOP-1", "Completed"), ("STOP-2", "Completed")]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for pid in processes_using(folder):
            os.kill(pid, signal.SIGKILL)
        log.close()
