"""The watcher: sealed dossiers in ``intake`` become exactly one ``process-dossier`` run each.

A dossier is sealed when ``{branch}/{dossier_id}/manifest.json`` exists
(docs/contracts.md §2). For each one the watcher asks the Prefect server for a run
of the ``process-dossier`` deployment with an *idempotency key* made of the
branch, the dossier id, the manifest's bytes and its pages' sha256 (the dossier
version). The server keeps that key with the run, durably: a restarted watcher
or a second watcher get the existing run back instead of a new one. A new
manifest or a changed page is a new version and gets a run. The same dossier
handed in again after delivery is not processed twice: it is reported (a
warning, and quarantine ``resubmitted-{time}/`` with ``reason.json``) and taken
out of intake. A run that crashed (a worker or the stack killed) is run again;
reviews left unanswered too long are closed (flows.review.expire_reviews).

Polling works on every S3 server; it lists the intake bucket every few seconds
(one LIST per scan; a dossier's manifest and pages are read again only when its
objects' etags or sizes changed, and the states of the runs of the dossiers
still in intake come in one request to the server). A manifest that cannot be
used (bad JSON, missing fields, unknown procedure, or naming another branch or
dossier than its folder) sends the dossier's objects to ``quarantine`` with
``reason.json``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow

from flows.params import DossierRequest
from flows.settings import Settings
from models.catalog import load_catalog
from models.schemas import Manifest, parse_manifest
from pipeline.delivery import (
    MANIFEST,
    IntakeDossier,
    Place,
    Places,
    delivered_report,
    read_intake,
    refuse,
)
from pipeline.errors import InputError, ObjectNotFound, SohoaError
from pipeline.storage import Storage, StorageConfig, open_storage
from pipeline.storage.base import ObjectInfo, object_sha256

PROCESS_DEPLOYMENT = "process-dossier/process-dossier"
log = logging.getLogger("sohoa.watcher")


@dataclass(frozen=True)
class Submitted:
    """One sealed dossier handed to Prefect (``flow_run_id`` is the existing run if any)."""

    branch: str
    dossier_id: str
    idempotency_key: str
    flow_run_id: str


def idempotency_key(branch: str, dossier_id: str, manifest: bytes,
                    pages: Mapping[str, str] | None = None) -> str:
    """The dossier version: same branch, id, manifest bytes and page contents (name ->
    sha256) -> same key -> same run; a page changed under the same manifest is a new one."""
    h = hashlib.sha256(manifest)
    for name, digest in sorted((pages or {}).items()):
        h.update(f"\n{name}\t{digest}".encode())
    return f"sohoa:{branch}/{dossier_id}:{h.hexdigest()[:32]}"


def contents(storage: Storage, place: Place,
             memo: dict[tuple[str, str, int], str] | None = None) -> dict[str, str]:
    """name -> sha256 of the objects directly under ``place`` (the manifest excluded).

    ``memo`` ((key, etag, size) -> sha256) spares the objects already hashed a HEAD or a
    read: the watcher polls dossiers that wait in intake (in flight, or suspended for
    review) every few seconds."""
    found: dict[str, str] = {}
    for info in storage.list(place.bucket, place.prefix):
        name = info.key[len(place.prefix):]
        if "/" in name or name == MANIFEST:
            continue
        tag = (info.key, info.etag, info.size) if info.etag else None
        if memo is not None and tag is not None and tag in memo:
            found[name] = memo[tag]
            continue
        found[name] = info.sha256 or object_sha256(storage, place.bucket, info.key)
        if memo is not None and tag is not None:
            memo[tag] = found[name]
    return found


class PrefectRuns:
    """What the watcher asks the Prefect server about runs it started."""

    def states_of(self, run_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """(state type, times run) of each run the server knows, in one request."""
        from uuid import UUID

        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        ids = [UUID(r) for r in dict.fromkeys(run_ids)]
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids))
        return {str(run.id): ((run.state.type.value if run.state else "SCHEDULED"),
                              run.run_count) for run in runs}

    def rerun(self, run_id: str) -> None:
        """Schedule a crashed run again (it resumes from its persisted page results)."""
        from prefect.client.orchestration import get_client
        from prefect.states import Scheduled

        with get_client(sync_client=True) as client:
            client.set_flow_run_state(run_id, Scheduled(), force=True)  # type: ignore[arg-type]


FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
MAX_RERUNS = 3


def dossier_objects(infos: Iterable[ObjectInfo]) -> dict[tuple[str, str], list[ObjectInfo]]:
    """The objects of a listing under each ``{branch}/{dossier_id}/`` folder."""
    objects: dict[tuple[str, str], list[ObjectInfo]] = {}
    for info in infos:
        parts = info.key.split("/")
        if len(parts) >= 3:
            objects.setdefault((parts[0], parts[1]), []).append(info)
    return objects


def sealed(objects: Mapping[tuple[str, str], Sequence[ObjectInfo]]) -> list[tuple[str, str]]:
    """(branch, dossier_id) of the folders with ``manifest.json`` directly in them."""
    return [(b, d) for (b, d), infos in objects.items()
            if any(i.key == f"{b}/{d}/{MANIFEST}" for i in infos)]


def sealed_prefixes(storage: Storage, bucket: str) -> Iterator[tuple[str, str]]:
    """(branch, dossier_id) of every ``{branch}/{dossier_id}/manifest.json`` in ``bucket``."""
    yield from sealed(dossier_objects(storage.list(bucket)))


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
                 starter: Callable[[DossierRequest, str, str], str] = start_run,
                 runs: Any = None, review_wait: timedelta | None = None) -> None:
        self.config = config
        self.storage = storage
        self.deployment = deployment
        self._start = starter
        self.runs = runs or PrefectRuns()
        self.review_wait = review_wait  # close reviews unanswered this long (flows.review)
        self._submitted: dict[str, str] = {}  # key -> flow run id (this process only)
        self._told: set[str] = set()  # runs whose end was already reported (this process)
        self._digests: dict[tuple[str, str, int], str] = {}  # (key, etag, size) -> sha256
        # (branch, dossier id) -> (its objects at the last scan, what was read of them)
        self._seen: dict[tuple[str, str], tuple[tuple[tuple[str, str, int], ...],
                                                tuple[bytes, IntakeDossier,
                                                      dict[str, str], str]]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Watcher:
        config = settings.storage
        wait = (timedelta(hours=settings.review_wait_hours)
                if settings.review_wait_hours > 0 else None)
        return cls(config, open_storage(config), review_wait=wait, **kwargs)

    def scan_once(self) -> list[Submitted]:
        """Submit every sealed dossier not yet submitted; look after those that were.

        One LIST of intake per scan; a dossier whose objects (keys, etags, sizes) are
        as at the last scan is not read again; the states of the runs of every
        dossier still in intake come in one request."""
        done: list[Submitted] = []
        objects = dossier_objects(self.storage.list(self.config.intake))
        ready = sealed(objects)
        live = {f"sohoa:{b}/{d}:" for b, d in ready}
        self._submitted = {k: v for k, v in self._submitted.items()  # forget delivered ones
                           if k[:k.rindex(":") + 1] in live}
        self._seen = {bd: v for bd, v in self._seen.items() if bd in objects}
        waiting: list[tuple[Places, IntakeDossier, dict[str, str], str]] = []
        for branch, dossier_id in sorted(ready):
            places = Places.in_buckets(self.config, branch, dossier_id)
            try:
                data, intake, pages, key = self._version(places, objects[(branch, dossier_id)])
            except ObjectNotFound:  # delivered (and removed) meanwhile
                continue
            if key not in self._submitted:
                try:
                    request = request_for(check_manifest(data, branch, dossier_id))
                except InputError as exc:
                    self.quarantine_dossier(branch, dossier_id, exc.message)
                    continue
                run_id = self._start(request, key, self.deployment)
                self._submitted[key] = run_id
                log.info("dossier %s/%s -> flow run %s", branch, dossier_id, run_id)
                done.append(Submitted(branch, dossier_id, key, run_id))
            # a new key may name a finished run too
            waiting.append((places, intake, pages, self._submitted[key]))
        states = self.runs.states_of([w[3] for w in waiting]) if waiting else {}
        for places, intake, pages, run_id in waiting:
            self.look_after(places, intake, pages, run_id, states.get(run_id))
        if self.review_wait is not None:
            from flows.review import expire_reviews

            expire_reviews(self.review_wait)
        return done

    def _version(self, places: Places, infos: Sequence[ObjectInfo],
                 ) -> tuple[bytes, IntakeDossier, dict[str, str], str]:
        """Manifest bytes, intake listing, page digests and idempotency key of a dossier,
        read again only when its objects changed since the last scan."""
        seen = tuple(sorted((i.key, i.etag or "", i.size) for i in infos))
        bd = (places.branch, places.dossier_id)
        cached = self._seen.get(bd)
        if cached is not None and cached[0] == seen and all(i.etag for i in infos):
            return cached[1]
        data = self.storage.get(self.config.intake, places.intake.key(MANIFEST))
        intake = read_intake(self.storage, places.intake)
        pages = contents(self.storage, places.intake, self._digests)
        version = (data, intake, pages,
                   idempotency_key(places.branch, places.dossier_id, data, pages))
        self._seen[bd] = (seen, version)
        return version

    def look_after(self, places: Places, intake: IntakeDossier, pages: dict[str, str],
                   run_id: str, state: tuple[str, int] | None) -> None:
        """A dossier still in intake whose run has ended: a crashed run is run again; the
        same pages handed in again after delivery are reported (a warning and a reason
        object in quarantine) and taken out of intake; a failed run is said once."""
        if state is None or state[0] not in FINAL:
            return  # scheduled, running, or suspended for review
        if not self.still_sealed(places):
            return  # delivered between the listing and the state: nothing to look after
        kind, times = state
        name = f"{places.branch}/{places.dossier_id}"
        if kind == "CRASHED" and times < MAX_RERUNS:
            self.runs.rerun(run_id)
            log.warning("dossier %s: flow run %s crashed; run again", name, run_id)
        elif kind == "COMPLETED" and self.same_as_archived(places, intake, pages):
            self.report_resubmission(places, intake, run_id)
        elif run_id not in self._told:
            self._told.add(run_id)
            log.warning("dossier %s: flow run %s ended %s and its pages are still in intake;"
                        " see the run in the UI (retry it there)", name, run_id, kind)

    def still_sealed(self, places: Places) -> bool:
        """The manifest is in intake now. The listing was taken before the run's state was
        read: a run that delivered in between has taken the dossier out of intake (its
        manifest last); it is neither the same dossier handed in again nor pages left
        in intake by a run that ended."""
        return self.storage.head(self.config.intake, places.intake.key(MANIFEST)) is not None

    def same_as_archived(self, places: Places, intake: IntakeDossier,
                         pages: dict[str, str]) -> bool:
        """Manifest and pages (``pages``: intake's, name -> sha256) as in the archive."""
        if delivered_report(self.storage, places) is None:
            return False
        archived = read_intake(self.storage, places.originals)
        return (set(archived.names) == set(intake.names)
                and contents(self.storage, places.originals) == pages
                and archived.manifest == intake.manifest)

    def report_resubmission(self, places: Places, intake: IntakeDossier, run_id: str) -> None:
        """The same dossier handed in again: not processed twice; kept in quarantine under
        ``resubmitted-{time}/`` with the reason, and taken out of intake."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        why = (f"handed in again with the same manifest and pages as the version already in "
               f"{places.archive.bucket}/{places.archive.prefix} (flow run {run_id}); not "
               "processed again: change a page or the manifest, or re-run the deployment")
        target = replace(places, quarantine=Place(places.quarantine.bucket,
                                                  f"{places.quarantine.prefix}resubmitted-{stamp}/"))
        refuse(self.storage, target, intake, why, consume_intake=True)
        log.warning("dossier %s/%s handed in again unchanged: reported in %s/%s",
                    places.branch, places.dossier_id, target.quarantine.bucket,
                    target.quarantine.prefix)

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
