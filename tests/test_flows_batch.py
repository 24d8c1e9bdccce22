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


def passes(gate: StartGate, timeout_s: float = 10.0) -> bool:
    """Whether another thread gets through the gate within ``timeout_s`` (a daemon
    thread: one still waiting goes through once the gate opens, or dies with the test)."""
    passed = threading.Event()

    def other() -> None:
        with gate.start():
            passed.set()

    t = threading.Thread(target=other, daemon=True)
    t.start()
    t.join(timeout=timeout_s)
    return passed.is_set()


def test_runs_begin_one_at_a_time_and_then_run_together() -> None:
    gate = StartGate()
    together = threading.Barrier(3, timeout=60)
    spans: dict[str, tuple[float, float]] = {}
    returned: dict[str, str] = {}
    lock = threading.Lock()

    def one(name: str) -> None:
        with gate.start() as running:
            entered = time.monotonic()

            def hook(*args: object) -> None:
                with lock:
                    spans[name] = (entered, time.monotonic())
                running(*args)

            result = probe.with_options(on_running=[hook])(name, together)
        with lock:
            returned[name] = result

    threads = [threading.Thread(target=one, args=(f"run-{i}",), daemon=True)
               for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # every run was let through when it ran, not when it ended: they met at the barrier
    assert not together.broken
    assert returned == {name: name for name in ("run-0", "run-1", "run-2")}
    # and from its call to running (creating the flow run), one at a time
    ordered = sorted(spans.values())
    assert all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:], strict=False))


def test_the_gate_is_held_until_the_run_runs_or_the_block_ends() -> None:
    gate = StartGate()
    with gate.start() as running:
        assert not passes(gate, timeout_s=0.5)  # the run is still being created
        running()
        running()  # a second Running state (a run resumed) changes nothing
        assert passes(gate)
    with gate.start():
        pass  # a dossier refused before its run: the gate opens on leaving
    assert passes(gate)
