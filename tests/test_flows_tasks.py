"""flows.tasks: the OCR slots that page tasks hold (against Prefect's API, a real one)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from prefect.client.orchestration._concurrency_limits.client import (
    ConcurrencyLimitAsyncClient,
)

from flows import tasks
from flows.tasks import (
    ensure_ocr_limit,
    local_ocr_limit,
    machine_ocr_limit,
    ocr_slot,
    runs_share_this_process,
)


def test_pages_of_one_process_queue_in_it_and_are_never_turned_away_by_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks, "ocr_limit_name", lambda: f"sohoa-ocr-test-{uuid.uuid4().hex}")
    name = ensure_ocr_limit(1)
    asked, refused = [0], [0]
    real = ConcurrencyLimitAsyncClient.increment_concurrency_slots_with_lease

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:  # a spy: the real call
        asked[0] += 1
        try:
            return await real(self, *args, **kwargs)
        except httpx.HTTPStatusError as exc:
            refused[0] += exc.response.status_code == 423
            raise

    monkeypatch.setattr(ConcurrencyLimitAsyncClient, "increment_concurrency_slots_with_lease",
                        counted)
    inside, most = [0], [0]
    lock = threading.Lock()

    def page() -> None:
        with ocr_slot(name):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.3)
            with lock:
                inside[0] -= 1

    pages = [threading.Thread(target=page) for _ in range(3)]
    for thread in pages:
        thread.start()
    for thread in pages:
        thread.join(timeout=120)
    assert most[0] == 1  # one slot: one page at a time
    # the server was asked for the machine's slot once per page, each time when free: no
    # page was told to come back later (and left the slot idle until then)
    assert asked[0] == 3 and refused[0] == 0


def test_a_process_that_runs_its_flow_runs_itself_shares_its_cores_with_its_own_slots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"sohoa-ocr-test-{uuid.uuid4().hex}"
    monkeypatch.setattr(tasks, "ocr_limit_name", lambda: name)
    monkeypatch.setattr(tasks, "_RUNS_IN_PROCESS", threading.Event())  # a fresh process
    assert machine_ocr_limit(2) == name  # a process per run: the machine's limit
    runs_share_this_process()  # what `sohoa worker` declares
    assert machine_ocr_limit(2) == local_ocr_limit(2)
