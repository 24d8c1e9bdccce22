"""The watcher: sealed dossiers in ``intake`` become exactly one ``process-dossier`` run each.

A dossier is sealed when ``{branch}/{dossier_id}/manifest.json`` exists
(docs/contracts.md §2). For each one the watcher asks the Prefect server for a run
of the ``process-dossier`` deployment with an *idempotency key* made of the
branch, the dossier id and the manifest's sha256 (the dossier version). The
server keeps that key with the run, durably: a restarted watcher, a second
watcher, or the same manifest uploaded again get the existing run back instead
of a new one. A new manifest (other content) is a new version and gets a run.

Polling works on every S3 server; it lists the intake bucket every few seconds
(a cheap LIST; the manifest is only read for dossiers this process has not
submitted yet). A manifest that cannot be used (bad JSON, missing fields,
unknown procedure, or naming another branch or dossier than its folder) sends
the dossier's objects to ``quarantine`` with ``reason.json``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prefect import flow

from flows.params import DossierRequest
from flows.settings import Settings
from models.catalog import load_catalog
from models.schemas import Manifest, parse_manifest
from pipeline.delivery import MANIFEST, Places, read_intake, refuse
from pipeline.errors import InputError, ObjectNotFound, SohoaError
from pipeline.storage import Storage, StorageConfig, open_storage

PROCESS_DEPLOYMENT = "process-dossier/process-dossier"
log = logging.getLogger("sohoa.watcher")


@dataclass(frozen=True)
class Submitted:
    """One sealed dossier handed to Prefect (``flow_run_id`` is the existing run if any)."""

    branch: str
    dossier_id: str
    idempotency_key: str
    flow_run_id: str


def idempotency_key(branch: str, dossier_id: str, manifest: bytes) -> str:
    """The dossier version: same branch, id and manifest bytes -> same key -> same run."""
    digest = hashlib.sha256(manifest).hexdigest()[:32]
    return f"sohoa:{branch}/{dossier_id}:{digest}"


def sealed_prefixes(storage: Storage, bucket: str) -> Iterator[tuple[str, str]]:
    """(branch, dossier_id) of every ``{branch}/{dossier_id}/manifest.json`` in ``bucket``."""
    for info in storage.list(bucket):
        parts = info.key.split("/")
        if len(parts) == 3 and parts[2] == MANIFEST:
            yield parts[0], parts[1]


def check_manifest(data: bytes, branch: str, dossier_id: str) -> Manifest:
    """The manifest, if it can start a run; InputError (operator message) otherwise."""
    manifest = parse_manifest(data)
    if (manifest.branch, manifest.dossier_id) != (branch, dossier_id):
        raise InputError(f"manifest names {manifest.branch}/{manifest.dossier_id} but was "
                         f"uploaded under {branch}/{dossier_id}/")
    load_catalog().procedure(manifest.procedure)  # UnknownProcedure is an InputError
    return manifest


def request_for(manifest: Manifest) -> DossierRequest:
    extra = manifest.model_extra or {}
    callback = extra.get("callback_url")
    return DossierRequest(
        dossier_id=manifest.dossier_id, procedure=manifest.procedure, branch=manifest.branch,
        facts=dict(manifest.facts),
        submitted_at=manifest.submitted_at.isoformat() if manifest.submitted_at else None,
        callback_url=callback if isinstance(callback, str) else None,
    )


def start_run(request: DossierRequest, key: str, deployment: str = PROCESS_DEPLOYMENT) -> str:
    """Create (or get back, by idempotency key) the dossier's run; return its id."""
    from prefect.deployments import run_deployment

    run: Any = run_deployment(
        deployment, parameters={"request": request.model_dump(mode="json")},
        flow_run_name=request.dossier_id, idempotency_key=key, timeout=0, as_subflow=False,
        tags=[f"branch:{request.branch}", f"procedure:{request.procedure}"],
    )
    return str(run.id)


class Watcher:
    """Polls intake; one instance per process, any number of processes."""

    def __init__(self, config: StorageConfig, storage: Storage, *,
                 deployment: str = PROCESS_DEPLOYMENT,
                 starter: Callable[[DossierRequest, str, str], str] = start_run) -> None:
        self.config = config
        self.storage = storage
        self.deployment = deployment
        self._start = starter
        self._submitted: dict[str, str] = {}  # key -> flow run id (this process only)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Watcher:
        config = settings.storage
        return cls(config, open_storage(config), **kwargs)

    def scan_once(self) -> list[Submitted]:
        """Submit every sealed dossier not yet submitted by this process."""
        done: list[Submitted] = []
        sealed = list(sealed_prefixes(self.storage, self.config.intake))
        live = {f"sohoa:{b}/{d}:" for b, d in sealed}
        self._submitted = {k: v for k, v in self._submitted.items()  # forget delivered ones
                           if k[:k.rindex(":") + 1] in live}
        for branch, dossier_id in sealed:
            prefix = f"{branch}/{dossier_id}/"
            try:
                data = self.storage.get(self.config.intake, prefix + MANIFEST)
            except ObjectNotFound:  # delivered (and removed) meanwhile
                continue
            key = idempotency_key(branch, dossier_id, data)
            if key in self._submitted:
                continue
            try:
                request = request_for(check_manifest(data, branch, dossier_id))
            except InputError as exc:
                self.quarantine_dossier(branch, dossier_id, exc.message)
                continue
            run_id = self._start(request, key, self.deployment)
            self._submitted[key] = run_id
            log.info("dossier %s/%s -> flow run %s", branch, dossier_id, run_id)
            done.append(Submitted(branch, dossier_id, key, run_id))
        return done

    def quarantine_dossier(self, branch: str, dossier_id: str, reason: str) -> None:
        """Move a dossier whose manifest cannot be used to quarantine, with the reason."""
        places = Places.in_buckets(self.config, branch, dossier_id)
        intake = read_intake(self.storage, places.intake)
        refuse(self.storage, places, intake, reason, consume_intake=True)
        log.warning("dossier %s/%s quarantined: %s", branch, dossier_id, reason)

    def run_forever(self, interval_s: float, *, stop: Callable[[], bool] = lambda: False,
                    polls: int | None = None) -> None:
        """Scan every ``interval_s``; a failed scan (storage or API down) is retried next time."""
        n = 0
        while not stop() and (polls is None or n < polls):
            n += 1
            started = time.monotonic()
            try:
                self.scan_once()
            except (SohoaError, OSError, RuntimeError) as exc:
                log.warning("scan failed (%s): %s", type(exc).__name__, exc)
            except Exception as exc:  # noqa: BLE001 - the API client raises many types
                log.warning("scan failed (%s)", type(exc).__name__)
            if polls is None or n < polls:
                time.sleep(max(0.0, interval_s - (time.monotonic() - started)))


@flow(name="watch-intake", flow_run_name="watch-intake")
def watch_intake(polls: int = 1, interval_s: float = 5.0) -> int:
    """Poll intake ``polls`` times, ``interval_s`` apart; start one run per new dossier.

    The deployment ``watch-intake`` can run this on a schedule (``sohoa serve
    --watch-every``) as a safety net next to, or instead of, ``sohoa watch``.
    """
    watcher = Watcher.from_settings(Settings.from_env())
    watcher.run_forever(interval_s, polls=polls)
    return len(watcher._submitted)
