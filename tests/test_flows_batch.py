"""flows.batch: flow runs of a batch begin one at a time, then run together (real flow
runs on Prefect's ephemeral API)."""

from __future__ import annotations

import threading
import time
from typing import Any

from prefect import flow

from flows.batch import StartGate



@flow(name="gate-probe")
def probe(name: str, together: Any) -> str:
    """Running: waits until every probe is running at once (or the barrier times out)."""
    together.wait()
    return name


def test_runs_begin_one_at_a_time_and_then_run_together() -> None:
    gate = StartGate()
    together = threading.Barrier(3, timeout=60)
    spans: dict[str, tuple[float, float]] = {}
    lock = threading.Lock()

    def one(name: str) -> None:
        with gate.start() as running:
            entered = time.monotonic()

            def hook(*args: object) -> None:
                with lock:
                    spans[name] = (entered, time.monotonic())
                running(*args)

            assert probe.with_options(on_running=[hook])(name, together) == name

    threads = [threading.Thread(target=one, args=(f"run-{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # every run was let through when it ran, not when it ended: they met at the barrier
    assert not together.broken and sorted(spans) == ["run-0", "run-1", "run-2"]
    # and from the call to running (creating the flow run), one at a time
    ordered = sorted(spans.values())
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(ordered, ordered[1:]))


def test_the_gate_opens_when_the_block_ends_without_a_run() -> None:
    gate = StartGate()
    with gate.start() as running:
        running()
        running()  # a second Running state (a run resumed) changes nothing
    with gate.start():
        pass  # a dossier refused before its run: the gate opens on leaving
    passed = threading.Event()

    def other() -> None:
        with gate.start():
            passed.set()

    t = threading.Thread(target=other)
    t.start()
    t.join(timeout=10)
    assert passed.is_set()
