"""The watcher without a server: what it sees as sealed, its keys, its quarantine.

Starting runs for real (idempotency on the Prefect server, restarts, two
watchers) is covered by tests/test_e2e_stack.py; here the run starter is a
recorder, or fails to inject an API outage.
"""

from __future__ import annotations

import json
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
    a = idempotency_key("hk", "D-1", b'{"x": 1}')
    assert a == idempotency_key("hk", "D-1", b'{"x": 1}')  # same manifest again: same run
    assert a != idempotency_key("hk", "D-1", b'{"x": 2}')  # new version: new run
    assert a != idempotency_key("hk", "D-2", b'{"x": 1}')


def test_scan_starts_one_run_per_version(storage: tuple[StorageConfig, LocalStorage]) -> None:
    config, store = storage
    put_dossier(store, config.intake, MANIFEST)
    starter = Starter()
    watcher = Watcher(config, store, starter=starter)
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
    watcher = Watcher(config, store, starter=starter)
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
    assert Watcher(config, store, starter=starter).scan_once() == []
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
