"""flows.tasks: the OCR slots that page tasks hold (against Prefect's API, a real one)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from prefect.client.orchestration._concurrency_limits.client import (
    ConcurrencyLimitAsyncClient,
)

from flows import tasks
from flows.tasks import (
    local_ocr_limit,
    machine_ocr_limit,
    ocr_slot,
    runs_share_this_process,
)


def test_the_pages_of_runs_in_one_process_share_its_slots_and_never_ask_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks, "_RUNS_IN_PROCESS", threading.Event())  # a fresh process
    runs_share_this_process()  # what `sohoa worker` declares
    limit = machine_ocr_limit(1)
    asked = [0]
    real = ConcurrencyLimitAsyncClient.increment_concurrency_slots_with_lease

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:  # a spy: the real call
        asked[0] += 1
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(ConcurrencyLimitAsyncClient, "increment_concurrency_slots_with_lease",
                        counted)
    inside, most = [0], [0]
    lock = threading.Lock()

    def page() -> None:
        with ocr_slot(limit):
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
    assert asked[0] == 0  # no round trip to the server on a page's way to a core


def test_a_process_that_runs_its_flow_runs_itself_shares_its_cores_with_its_own_slots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"sohoa-ocr-test-{uuid.uuid4().hex}"
    monkeypatch.setattr(tasks, "ocr_limit_name", lambda: name)
    monkeypatch.setattr(tasks, "_RUNS_IN_PROCESS", threading.Event())  # a fresh process
    assert machine_ocr_limit(2) == name  # a process per run: the machine's limit
    runs_share_this_process()  # what `sohoa worker` declares
    assert machine_ocr_limit(2) == local_ocr_limit(2)
