"""The watcher without a server: what it sees as sealed, its keys, its quarantine.

Starting runs for real (idempotency on the Prefect server, restarts, two
watchers) is covered by tests/test_e2e_stack.py; here the run starter is a
recorder, or fails to inject an API outage.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from flows.params import DossierRequest
from flows.settings import Settings
from flows.watcher import Watcher, check_manifest, idempotency_key, sealed_prefixes
from pipeline.errors import InputError
from pipeline.storage import LocalStorage, StorageConfig, ensure_buckets

MANIFEST = {"dossier_id": "HK-1", "branch": "hoan-kiem", "procedure": "birth_registration",
            "facts": {"by_representative": True}, "callback_url": "https://dvc.example/cb"}


class Starter:
    def __init__(self, fail: int = 0) -> None:
        self.calls: list[tuple[DossierRequest, str]] = []
        self.fail = fail

    def __call__(self, request: DossierRequest, key: str, deployment: str) -> str:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("Prefect API unreachable (injected)")
        self.calls.append((request, key))
        return f"run-{len(self.calls)}"


class Runs:
    """The server's view of the runs, as a dict (state type, times run)."""

    def __init__(self) -> None:
        self.states: dict[str, tuple[str, int]] = {}
        self.reruns: list[str] = []
        self.asked: list[list[str]] = []  # run ids asked about, per scan

    def states_of(self, run_ids: list[str]) -> dict[str, tuple[str, int]]:
        self.asked.append(list(run_ids))
        return {r: self.states.get(r, ("SCHEDULED", 0)) for r in run_ids}

    def rerun(self, run_id: str) -> None:
        self.reruns.append(run_id)
        self.states[run_id] = ("SCHEDULED", self.states[run_id][1])


def watcher_of(config: StorageConfig, store: LocalStorage, starter: Starter,
               runs: Runs | None = None) -> Watcher:
    return Watcher(config, store, starter=starter, runs=runs or Runs())


@pytest.fixture()
def storage(tmp_path: Path) -> tuple[StorageConfig, LocalStorage]:
    config = Settings.from_env({"SOHOA_STORAGE_ROOT": str(tmp_path)}).storage
    store = LocalStorage(tmp_path)
    ensure_buckets(config, store)
    return config, store


def put_dossier(store: LocalStorage, bucket: str, manifest: dict | bytes | None,
                prefix: str = "hoan-kiem/HK-1/") -> None:
    store.put(bucket, prefix + "001.png", b"\x89PNG page")
    if manifest is not None:
        data = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        store.put(bucket, prefix + "manifest.json", data)


def test_only_sealed_dossiers_are_seen(storage: tuple[StorageConfig, LocalStorage]) -> None:
    config, store = storage
    put_dossier(store, config.intake, MANIFEST)
    put_dossier(store, config.intake, None, prefix="hoan-kiem/HK-2/")  # not sealed yet
    store.put(config.intake, "hoan-kiem/HK-3/sub/manifest.json", b"{}")  # too deep
    assert list(sealed_prefixes(store, config.intake)) == [("hoan-kiem", "HK-1")]


def test_idempotency_key_is_the_dossier_version() -> None:
    a = idempotency_key("hk", "D-1", b'{"x": 1}', {"001.png": "aa"})
    assert a == idempotency_key("hk", "D-1", b'{"x": 1}', {"001.png": "aa"})  # same: same run
    assert a != idempotency_key("hk", "D-1", b'{"x": 2}', {"001.png": "aa"})  # new manifest
    assert a != idempotency_key("hk", "D-1", b'{"x": 1}', {"001.png": "bb"})  # a page changed
    assert a != idempotency_key("hk", "D-2", b'{"x": 1}', {"001.png": "aa"})


def deliver_as_the_run_would(config: StorageConfig, store: LocalStorage) -> None:
    """What a completed run leaves: archive with report and originals, intake empty."""
    for o in list(store.list(config.intake, "hoan-kiem/HK-1/")):
        name = o.key.rsplit("/", 1)[1]
        store.put(config.archive, f"hoan-kiem/HK-1/originals/{name}",
                  store.get(config.intake, o.key))
        store.delete(config.intake, o.key)
    report = {"dossier_id": "HK-1", "procedure": "birth_registration", "branch": "hoan-kiem",
              "status": "incomplete"}
    store.put(config.archive, "hoan-kiem/HK-1/report.json", json.dumps(report).encode())


def test_the_same_dossier_handed_in_again_is_reported_not_lost(
    storage: tuple[StorageConfig, LocalStorage]
) -> None:
    config, store = storage
    put_dossier(store, config.intake, MANIFEST)
    starter, runs = Starter(), Runs()
    watcher = watcher_of(config, store, starter, runs)
    [first] = watcher.scan_once()
    runs.states[first.flow_run_id] = ("COMPLETED", 1)
    deliver_as_the_run_would(config, store)
    watcher.scan_once()
    put_dossier(store, config.intake, MANIFEST)  # uploaded again, unchanged
    Watcher(config, store, starter=lambda r, k, d: first.flow_run_id, runs=runs).scan_once()
    assert list(store.list(config.intake)) == []
    keys = sorted(o.key for o in store.list(config.quarantine))
    assert len(keys) == 3 and all(k.startswith("hoan-kiem/HK-1/resubmitted-") for k in keys)
    reason = json.loads(store.get(config.quarantine, keys[-1]))
    assert "handed in again" in reason["reason"] and first.flow_run_id in reason["reason"]

    store.put(config.intake, "hoan-kiem/HK-1/001.png", b"\x89PNG page, rescanned")
    store.put(config.intake, "hoan-kiem/HK-1/manifest.json", json.dumps(MANIFEST).encode())
    [again] = watcher.scan_once()  # a page changed: a new version, a new run
    assert again.idempotency_key != first.idempotency_key


def test_a_run_that_delivers_while_the_watcher_looks_is_not_a_resubmission(
    storage: tuple[StorageConfig, LocalStorage], caplog: pytest.LogCaptureFixture
) -> None:
    config, store = storage
    put_dossier(store, config.intake, MANIFEST)

    class Delivering(Runs):  # the run delivers between the scan's LIST and its question
        def states_of(self, run_ids: list[str]) -> dict[str, tuple[str, int]]:
            deliver_as_the_run_would(config, store)
            return {r: ("COMPLETED", 1) for r in run_ids}

    with caplog.at_level(logging.WARNING, logger="sohoa.watcher"):
        [first] = watcher_of(config, store, Starter(), Delivering()).scan_once()
    assert list(store.list(config.quarantine)) == []  # delivered once, nothing refused
    assert list(store.list(config.intake)) == []
    assert "still in intake" not in caplog.text  # nor said to be left there


def test_a_crashed_run_is_run_again_then_reported(
    storage: tuple[StorageConfig, LocalStorage], caplog: pytest.LogCaptureFixture
) -> None:
    config, store = storage
    put_dossier(store, config.intake, MANIFEST)
    runs = Runs()
    watcher = watcher_of(config, store, Starter(), runs)
    [run] = watcher.scan_once()
    runs.states[run.flow_run_id] = ("CRASHED", 1)
    watcher.scan_once()
    assert runs.reruns == [run.flow_run_id]
    runs.states[run.flow_run_id] = ("CRASHED", 3)  # crashed every time
    watcher.scan_once()
    watcher.scan_once()
    assert runs.reruns == [run.flow_run_id]
    told = [r for r in caplog.records if "still in intake" in r.getMessage()]
    assert len(told) == 1 and "CRASHED" in told[0].getMessage()


def test_scan_starts_one_run_per_version(storage: tuple[StorageConfig, LocalStorage]) -> None:
    config, store = storage
    put_dossier(store, config.intake, MANIFEST)
    starter = Starter()
    watcher = watcher_of(config, store, starter)
    [submitted] = watcher.scan_once()
    assert watcher.scan_once() == []  # already submitted by this process
    request, key = starter.calls[0]
    assert (request.dossier_id, request.branch, request.procedure) == (
        "HK-1", "hoan-kiem", "birth_registration")
    assert request.facts == {"by_representative": True}
    assert request.callback_url == "https://dvc.example/cb"
    assert submitted.flow_run_id == "run-1" and submitted.idempotency_key == key
    put_dossier(store, config.intake, {**MANIFEST, "facts": {}})  # a new version
    assert len(watcher.scan_once()) == 1 and starter.calls[1][1] != key


def test_api_outage_is_retried_on_the_next_poll(
    storage: tuple[StorageConfig, LocalStorage]
) -> None:
    config, store = storage
    put_dossier(store, config.intake, MANIFEST)
    starter = Starter(fail=1)
    watcher = watcher_of(config, store, starter)
    watcher.run_forever(0.0, polls=2)
    assert len(starter.calls) == 1


@pytest.mark.parametrize(("manifest", "words"), [
    (b"{not json", "not valid JSON"),
    ({**MANIFEST, "procedure": "no_such"}, "no_such"),
    ({**MANIFEST, "branch": "ba-dinh"}, "ba-dinh/HK-1"),
    ({k: v for k, v in MANIFEST.items() if k != "procedure"}, "procedure"),
])
def test_unusable_manifest_sends_the_dossier_to_quarantine(
    storage: tuple[StorageConfig, LocalStorage], manifest: dict | bytes, words: str
) -> None:
    config, store = storage
    put_dossier(store, config.intake, manifest)
    starter = Starter()
    assert watcher_of(config, store, starter).scan_once() == []
    assert starter.calls == []
    assert list(store.list(config.intake)) == []
    keys = {o.key for o in store.list(config.quarantine)}
    assert keys == {"hoan-kiem/HK-1/" + n for n in ("001.png", "manifest.json", "reason.json")}
    reason = json.loads(store.get(config.quarantine, "hoan-kiem/HK-1/reason.json"))
    assert words in reason["reason"]


def test_check_manifest_accepts_a_good_one() -> None:
    manifest = check_manifest(json.dumps(MANIFEST).encode(), "hoan-kiem", "HK-1")
    assert manifest.procedure == "birth_registration"
    with pytest.raises(InputError):
        check_manifest(json.dumps(MANIFEST).encode(), "hoan-kiem", "HK-2")


class CountingStorage(LocalStorage):
    """Real local storage that counts reads (the watcher's polling cost)."""

    reads = 0

    def get(self, bucket: str, key: str) -> bytes:
        self.reads += 1
        return super().get(bucket, key)


def test_a_waiting_dossier_is_not_read_again_until_its_objects_change(
    tmp_path: Path,
) -> None:
    """Polling dossiers that wait in intake (in flight, in review) costs one LIST and one
    question to the server per scan, not reads of every manifest and page."""
    config = Settings.from_env({"SOHOA_STORAGE_ROOT": str(tmp_path)}).storage
    store = CountingStorage(tmp_path)
    ensure_buckets(config, store)
    put_dossier(store, config.intake, MANIFEST)
    put_dossier(store, config.intake, {**MANIFEST, "dossier_id": "HK-2"},
                prefix="hoan-kiem/HK-2/")
    starter, runs = Starter(), Runs()
    watcher = watcher_of(config, store, starter, runs)
    assert len(watcher.scan_once()) == 2
    read = store.reads
    for _ in range(3):
        assert watcher.scan_once() == []
    assert store.reads == read  # nothing read again
    assert runs.asked[-3:] == [["run-1", "run-2"]] * 3  # one question per scan
    store.put(config.intake, "hoan-kiem/HK-1/001.png", b"\x89PNG another page")
    [again] = watcher.scan_once()  # a page changed: read again, a new version, a new run
    assert again.dossier_id == "HK-1" and store.reads > read
    assert len(starter.calls) == 3
