"""Prefect's ephemeral API for the CLI, started early and in parallel.

With no ``PREFECT_API_URL``, Prefect starts a temporary API server in a
subprocess the first time the flow needs it, and the calling process imports
the whole server package to do so: ~8 s of fixed cost per ``sohoa process``
here, all of it before the first page is read. This module starts the same
server (same uvicorn command and settings as Prefect's ``SubprocessASGIServer``;
its SQLite writes wait their turn: ``flows.prefect_server``) the moment the CLI
has parsed its arguments, so it boots while the CLI imports OpenCV, Prefect's
client and the pipeline, and the CLI process never imports the server package.
The server stops when the process exits; nothing outlives it.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.errors import SohoaError


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prefect_parent() -> str:
    spec = importlib.util.find_spec("prefect")
    assert spec is not None and spec.submodule_search_locations
    return str(Path(list(spec.submodule_search_locations)[0]).parent)


def _make_home(env: dict[str, str]) -> None:
    """Prefect's home folder, where the API keeps its database: Prefect creates the
    folder itself but not the folders above it, and a ``PREFECT_HOME`` in a folder
    not made yet stopped the API at its start ("unable to open database file")."""
    home = Path(env.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SohoaError(f"cannot create Prefect's home folder {home}: {exc.strerror}") from exc


class EmbeddedApi:
    """One temporary Prefect API server on 127.0.0.1, owned by this process."""

    def __init__(self, env: dict[str, str], *, events_read: bool = True) -> None:
        self.events_read = events_read  # a service of it reads events, in the background
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        server_env = {**env, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                      "PREFECT__SERVER_FINAL": "1"}
        server_env.pop("PREFECT_API_URL", None)
        _make_home(env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", _prefect_parent(), "--factory",
             "flows.prefect_server:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            env=server_env, stdin=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until the server answers; then, if none of its services reads events, this
        process stops sending them (done here, not at the start: it imports Prefect,
        a second that a command refused at once need not wait for)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SohoaError(
                    f"the embedded Prefect API exited early (code {self.process.returncode})"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        if not self.events_read:
                            _drop_events()
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise SohoaError(f"the embedded Prefect API did not start within {timeout_s:.0f} s")

    def stop(self) -> None:
        """End the server. Gracefully when a service of it persists events in the
        background; otherwise (the default) it is killed: every request of this process
        was answered and written, SQLite keeps its database whole either way, and the
        graceful stop took 0.2-0.25 s of every command."""
        if self.process.poll() is not None:
            return
        if self.events_read:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                pass
        self.process.kill()
        self.process.wait()


_current: EmbeddedApi | None = None

#: The embedded API serves one process and dies with it: no UI, no scheduler, no one to
#: read task runs, logs or events afterwards. Flow runs, their states, parameters and
#: artifacts are kept; recording every task run and shipping logs to the API cost about
#: an eighth of a ``sohoa batch``'s CPU (docs/benchmarks.md). Set any of these to keep it.
EMBEDDED_DEFAULTS: dict[str, str] = {
    **{f"PREFECT_SERVER_SERVICES_{service}_ENABLED": "false"
       for service in ("SCHEDULER", "LATE_RUNS", "FOREMAN", "CANCELLATION_CLEANUP",
                       "PAUSE_EXPIRATIONS", "TRIGGERS", "REPOSSESSOR", "TASK_RUN_RECORDER",
                       "EVENT_PERSISTER", "CLEANUP_RECONCILER")},
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    # the block catalogue is written into the database on every start (~0.5 s);
    # this process saves and reads no blocks
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
}


def prefect_defaults(verbose: bool) -> None:
    """Quiet, lean defaults for Prefect in this process, before Prefect is imported.

    Prefect reads its settings from the environment, so this module (with
    :func:`start_if_needed`) is the one place that writes ``os.environ``; only
    defaults: anything the operator set wins.
    """
    defaults = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO" if verbose else "WARNING",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
    }
    if not os.environ.get("PREFECT_API_URL"):
        defaults.update(EMBEDDED_DEFAULTS)
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


def start_if_needed(*, verbose: bool = False) -> EmbeddedApi | None:
    """Set Prefect's defaults; start the server unless an API is configured, and
    point this process at it.

    One server per process: later calls (several dossiers in one process, as in
    the tests) reuse it; it stops when the process exits.
    """
    global _current
    prefect_defaults(verbose)
    if _current is not None and _current.process.poll() is None:
        return _current
    if os.environ.get("PREFECT_API_URL"):
        return None
    read = any(_enabled(f"PREFECT_SERVER_SERVICES_{service}_ENABLED") for service in _READERS)
    api = EmbeddedApi(dict(os.environ), events_read=read)
    os.environ["PREFECT_API_URL"] = api.url
    atexit.register(api.stop)
    _current = api
    return api


#: The embedded API's services that read the events a run sends (task-run states).
_READERS = ("TASK_RUN_RECORDER", "EVENT_PERSISTER", "TRIGGERS")


def _enabled(setting: str) -> bool:
    return os.environ.get(setting, "true").strip().lower() not in ("false", "0", "no", "off")


def _drop_events() -> None:
    """No service of the embedded API reads events (``EMBEDDED_DEFAULTS``; an operator
    may turn them on): the client does not send them, so neither this process nor the
    API spends time on them (serialising and sending each one, receiving it)."""
    from prefect.events.clients import NullEventsClient
    from prefect.events.worker import EventsWorker

    EventsWorker.set_client_override(NullEventsClient)
