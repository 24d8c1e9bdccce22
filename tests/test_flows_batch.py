"""flows.batch's runs begin together: on the CLI's embedded API (``flows.prefect_server``)
none is refused for a database lock, and they run together (real flow runs)."""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.embedded_api import EmbeddedApi

RUNS = 4


@flow(name="begin-together-probe")
def probe(name: str, together: Any) -> str:
    """Running: waits until every probe is running at once (or the barrier times out)."""
    together.wait()
    return name


def test_runs_begun_together_are_not_refused_and_run_together(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    api = EmbeddedApi({**env, "PREFECT_HOME": str(tmp_path / "prefect")})
    caplog.set_level(logging.DEBUG, logger="prefect.client")
    begin = threading.Barrier(RUNS, timeout=60)
    together = threading.Barrier(RUNS, timeout=120)
    returned: dict[str, str] = {}

    def one(name: str) -> None:
        begin.wait()  # every run is created at the same moment
        returned[name] = probe(name, together)

    try:
        api.wait_ready()
        with temporary_settings(updates={PREFECT_API_URL: api.url}):
            threads = [threading.Thread(target=contextvars.copy_context().run,
                                        args=(one, f"run-{i}"), daemon=True)
                       for i in range(RUNS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=180)
    finally:
        api.stop()
    assert not together.broken  # all were running at once
    assert returned == {f"run-{i}": f"run-{i}" for i in range(RUNS)}
    refused = [r for r in caplog.records if "retryable status code 503" in r.getMessage()]
    assert refused == []  # no write of theirs waited for Prefect's 2 s back-off
