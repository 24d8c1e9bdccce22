"""Prefect's API server on SQLite, as sohoa runs it (flows.prefect_server): writes that
meet queue; none is refused.

A real embedded API server (the CLI's, ``flows.embedded_api``) with a database of its
own. First plain HTTP requests with no retry, so a refusal shows as the 503 Prefect's
client would hide behind a 2 s wait: Prefect's own server refuses about half of these
(23 of 40 on the 2-core development machine): ten flow runs begun at once, each then
set Pending, Running and Completed, every write reading first. Then real flow runs
begun at the same moment, as ``sohoa batch`` begins its dossiers' runs.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections import Counter
from typing import Any

import httpx
import pytest
from prefect import flow
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.embedded_api import EmbeddedApi

RUNS = 10
FLOWS_AT_ONCE = 4


async def begin_and_end_runs(url: str) -> Counter[int]:
    codes: Counter[int] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        flow_id = (await client.post("/flows/", json={"name": "meeting-writes"})).json()["id"]

        async def one_run(number: int) -> None:
            made = await client.post("/flow_runs/", json={
                "flow_id": flow_id, "name": f"run-{number}", "state": {"type": "SCHEDULED"}})
            codes[made.status_code] += 1
            if made.status_code != 201:
                return
            for state in ("PENDING", "RUNNING", "COMPLETED"):
                set_to = await client.post(f"/flow_runs/{made.json()['id']}/set_state",
                                           json={"state": {"type": state}})
                codes[set_to.status_code] += 1

        await asyncio.gather(*(one_run(n) for n in range(RUNS)))
    return codes


def test_writes_that_meet_wait_their_turn(api: EmbeddedApi) -> None:
    codes = asyncio.run(begin_and_end_runs(api.url))
    assert codes == Counter({201: RUNS * 4})  # created, and each state accepted


@flow(name="begin-together-probe")
def probe(name: str, together: Any) -> str:
    """Running: waits until every probe is running at once (or the barrier times out)."""
    together.wait()
    return name


def test_runs_begun_together_are_not_refused_and_run_together(
    api: EmbeddedApi, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="prefect.client")
    begin = threading.Barrier(FLOWS_AT_ONCE, timeout=60)
    together = threading.Barrier(FLOWS_AT_ONCE, timeout=120)
    returned: dict[str, str] = {}

    def one(name: str) -> None:
        begin.wait()  # every run is created at the same moment
        returned[name] = probe(name, together)

    with temporary_settings(updates={PREFECT_API_URL: api.url}):
        threads = [threading.Thread(target=contextvars.copy_context().run,
                                    args=(one, f"run-{i}"), daemon=True)
                   for i in range(FLOWS_AT_ONCE)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
    assert not together.broken  # all were running at once
    assert returned == {f"run-{i}": f"run-{i}" for i in range(FLOWS_AT_ONCE)}
    refused = [r for r in caplog.records if "retryable status code 503" in r.getMessage()]
    assert refused == []  # no write of theirs waited for Prefect's 2 s back-off
