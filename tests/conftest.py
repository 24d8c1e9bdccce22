"""Test-session setup.

Prefect runs in-process against its ephemeral API; give the session its own
PREFECT_HOME (database and persisted results) so cached page results from an
earlier run never stand in for the code under test. Set before Prefect loads.
"""

from __future__ import annotations

import os
import tempfile

if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="sohoa-prefect-")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Tests read task runs (retries, cached pages) and logs (no personal data in them) back
# from the embedded API, which by default records neither (flows.embedded_api).
os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED", "true")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "true")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from flows.embedded_api import EmbeddedApi  # noqa: E402
from tests.pki import pki  # noqa: E402, F401
from tests.s3server import s3_server  # noqa: E402, F401


@pytest.fixture
def api(tmp_path: Path) -> Iterator[EmbeddedApi]:
    """The CLI's embedded API server, ready, with a database of its own; the runs' events
    and logs are sent before it stops (left queued, they were retried against the stopped
    server for minutes at the end of the session)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    server = EmbeddedApi({**env, "PREFECT_HOME": str(tmp_path / "prefect")})
    try:
        server.wait_ready()
        yield server
    finally:
        EventsWorker.drain_all(timeout=10)
        APILogWorker.drain_all(timeout=10)
        server.stop()
