"""Prefect's API server on SQLite, as sohoa runs it (flows.prefect_server): writes that
meet queue; none is refused.

A real embedded API server (the CLI's, ``flows.embedded_api``) and plain HTTP requests
with no retry, so a refusal shows as the 503 Prefect's client would hide behind a 2 s
wait. Prefect's own server refuses about half of these (23 of 40 on the 2-core
development machine): ten flow runs begun at once, each then set Pending, Running and
Completed, every write reading first.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import httpx

from flows.embedded_api import EmbeddedApi

RUNS = 10


async def begin_and_end_runs(url: str) -> Counter[int]:
    codes: Counter[int] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=120) as api:
        flow = (await api.post("/flows/", json={"name": "meeting-writes"})).json()["id"]

        async def one_run(number: int) -> None:
            made = await api.post("/flow_runs/", json={
                "flow_id": flow, "name": f"run-{number}", "state": {"type": "SCHEDULED"}})
            codes[made.status_code] += 1
            if made.status_code != 201:
                return
            for state in ("PENDING", "RUNNING", "COMPLETED"):
                set_to = await api.post(f"/flow_runs/{made.json()['id']}/set_state",
                                        json={"state": {"type": state}})
                codes[set_to.status_code] += 1

        await asyncio.gather(*(one_run(n) for n in range(RUNS)))
    return codes


def test_writes_that_meet_wait_their_turn(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    server = EmbeddedApi({**env, "PREFECT_HOME": str(tmp_path / "prefect")})
    try:
        server.wait_ready()
        codes = asyncio.run(begin_and_end_runs(server.url))
    finally:
        server.stop()
    assert codes == Counter({201: RUNS * 4})  # created, and each state accepted
