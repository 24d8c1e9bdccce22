"""The deployed system end to end: real SeaweedFS, a real Prefect server, a real process worker.

One Prefect server (own PREFECT_HOME, free 127.0.0.1 port, no UI) and one
worker for the whole module; dossiers of 1-2 synthetic pages. The watcher and
the API client run in this process against that server.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.settings import Settings
from flows.signing import trust_roots
from flows.stack import (
    Stack,
    free_port,
    prefect_env,
    start_prefect_server,
    start_worker,
    storage_env,
)
from flows.watcher import Watcher
from lab.synth.degrade import DegradeSpec
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec
from pipeline.sign.verify import verify_signatures
from pipeline.storage import Storage, StorageConfig
from pipeline.storage.base import sha256_bytes as sha256_hex
from pipeline.transfer import upload_dossier
from tests.pki import Pki
from tests.s3server import S3Server

RUN_TIMEOUT_S = 240.0
POOL = "sohoa-e2e"
FORM = ("birth_reg_form", "TỜ KHAI ĐĂNG KÝ KHAI SINH")
PROOF = ("birth_certificate_medical", "GIẤY CHỨNG SINH")


class System:
    def __init__(self, env: dict[str, str], config: StorageConfig, storage: Storage) -> None:
        self.env = env
        self.config = config
        self.storage = storage
        self.api_url = env["PREFECT_API_URL"]

    def settings(self) -> Any:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        return temporary_settings(updates={PREFECT_API_URL: self.api_url})

    def watcher(self) -> Watcher:
        return Watcher(self.config, self.storage)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return [o.key for o in self.storage.list(bucket, prefix)]


def page(doc: tuple[str, str], seed: int) -> SynthFile:
    spec = PageSpec(doc_type=doc[0], title=doc[1], seed=seed, body_paragraphs=1, fields=3)
    return SynthFile(f"{seed:03d}.png", ((spec, DegradeSpec(seed=seed)),))


def make_dossier(folder: Path, dossier_id: str, pages: list[SynthFile],
                 **manifest: Any) -> Path:
    write_dossier(folder, pages, manifest={"dossier_id": dossier_id, "branch": "cau-giay",
                                           "procedure": "birth_registration", **manifest})
    return folder


def system_env(s3_server: S3Server, base: Path, port: int, buckets: str) -> dict[str, str]:
    """The environment of a test system's server, worker and clients (own buckets)."""
    env = {**prefect_env(os.environ, base / "prefect", port),
           **storage_env(s3_server.endpoint, s3_server.access_key, s3_server.secret_key),
           "SOHOA_STATE_DIR": str(base / "state"), "SOHOA_BUCKET_INTAKE": f"{buckets}-intake",
           "SOHOA_BUCKET_ARCHIVE": f"{buckets}-archive",
           "SOHOA_BUCKET_QUARANTINE": f"{buckets}-quarantine", "PREFECT_LOGGING_LEVEL": "INFO",
           "PREFECT_LOCAL_STORAGE_PATH": str(base / "results")}
    for bucket in Settings.from_env(env).storage.buckets():
        Settings.from_env(env).storage.open().ensure_bucket(bucket)
    return env


def agency_env(pki: Pki) -> dict[str, str]:
    """Production signing: the agency's key, a timestamp authority, their roots."""
    return {"SOHOA_SIGNING_P12": str(pki.signer_p12()), "SOHOA_SIGNING_PASSPHRASE": "test",
            "SOHOA_TSA_URL": pki.tsa_url, "SOHOA_TRUST_ROOTS": str(pki.root_pem)}


@pytest.fixture(scope="module")
def system(s3_server: S3Server, pki: Pki,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    base = tmp_path_factory.mktemp("e2e")
    port = free_port()
    env = {**system_env(s3_server, base, port, "e2e"), "PREFECT_UI_ENABLED": "false",
           # these dossiers deliver at once; review inside the run: tests/test_e2e_review.py
           "SOHOA_REVIEW_WAIT_HOURS": "0",
           # signed B-LTA as in production; every bundle is due for renewal (10 years left)
           **agency_env(pki), "SOHOA_RETIMESTAMP_WITHIN_DAYS": "4000"}
    config = Settings.from_env(env).storage
    storage = config.open()
    stack = Stack()
    try:
        start_prefect_server(stack, env, port, base / "logs", ui=False)
        sys_ = System(env, config, storage)
        from flows.deployments import apply_deployments

        with sys_.settings():
            apply_deployments(POOL, max_in_flight=4)
        start_worker(stack, env, POOL, base / "logs")
        yield sys_
    finally:
        stack.stop()


def hold_runs(system: System, *, paused: bool) -> None:
    """Pause (or resume) the system's work pool: its worker takes no run meanwhile."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolUpdate

    with system.settings(), get_client(sync_client=True) as client:
        client.update_work_pool(POOL, WorkPoolUpdate(is_paused=paused))


def wait_final(system: System, run_id: str) -> Any:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + RUN_TIMEOUT_S
    run: Any = None
    with system.settings(), get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)  # type: ignore[arg-type]
            if run.state is not None and run.state.is_final():
                return run
            time.sleep(1)
    state = run.state if run is not None else None
    last = f"{state.name}: {state.message}" if state is not None else "no state"
    raise AssertionError(f"flow run {run_id} did not finish in {RUN_TIMEOUT_S:.0f} s ({last})")


def runs_named(system: System, name: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with system.settings(), get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])),
            sort=FlowRunSort.ID_DESC, limit=50)


@pytest.fixture(scope="module")
def scanned(system: System, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two dossiers uploaded by a scanner, seen by watchers (restarted, doubled), processed."""
    base = tmp_path_factory.mktemp("scanner")
    good = make_dossier(base / "good", "E2E-GOOD-1", [page(FORM, 11), page(PROOF, 12)])
    bad = make_dossier(base / "bad", "E2E-BAD-1", [page(FORM, 21)])
    (bad / "022.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated upload")
    originals = {p.name: sha256_hex(p.read_bytes()) for p in good.iterdir()}
    for folder in (good, bad):
        upload_dossier(system.storage, system.config.intake, folder)

    results: list[dict[str, str]] = []
    hold_runs(system, paused=True)  # no run ends while the watchers below look

    def a_watcher() -> None:  # Prefect settings are per thread (context variables)
        with system.settings():
            results.append({s.dossier_id: s.flow_run_id for s in system.watcher().scan_once()})

    twins = [threading.Thread(target=a_watcher) for _ in range(2)]  # two watchers, one moment
    for t in twins:
        t.start()
    for t in twins:
        t.join()
    first = results[0]
    with system.settings():  # a restarted watcher (nothing remembered)
        restarted = {s.dossier_id: s.flow_run_id for s in system.watcher().scan_once()}
    hold_runs(system, paused=False)
    runs = {d: wait_final(system, r) for d, r in first.items()}
    return {"first": first, "restarted": restarted, "twins": results, "runs": runs,
            "originals": originals, "bad_jpg": (bad / "022.jpg").read_bytes()}


def test_scanner_upload_ends_in_archive(system: System, scanned: dict[str, Any]) -> None:
    run = scanned["runs"]["E2E-GOOD-1"]
    assert run.state.type.value == "COMPLETED"
    prefix = "cau-giay/E2E-GOOD-1/"
    archived = system.keys(system.config.archive, prefix)
    assert set(archived) == {prefix + k for k in ("bundle.pdf", "report.json")} | {
        f"{prefix}originals/{name}" for name in scanned["originals"]}
    for name, sha in scanned["originals"].items():  # untouched originals
        assert sha256_hex(system.storage.get(system.config.archive,
                                             f"{prefix}originals/{name}")) == sha
    report = json.loads(system.storage.get(system.config.archive, prefix + "report.json"))
    assert report["dossier_id"] == "E2E-GOOD-1" and report["branch"] == "cau-giay"
    assert [p["source"] for p in report["pages"]] == ["011.png", "012.png"]
    bundle = system.storage.get(system.config.archive, prefix + "bundle.pdf")
    assert bundle.startswith(b"%PDF") and sha256_hex(bundle) == report["bundle"]["sha256"]
    assert report["bundle"]["signature"] == "B-LTA"  # the worker signed with the authority
    signature = verify_signatures(bundle, trust_roots=trust_roots(Settings.from_env(system.env)))
    assert signature.ok and signature.level == "B-LTA", signature.problems
    assert system.keys(system.config.intake, prefix) == []
    assert run.name == "E2E-GOOD-1"
    assert {"branch:cau-giay", "procedure:birth_registration"} <= set(run.tags)
    # the run's final state is named after the dossier's status
    expected = {"complete": "Completed", "needs_review": "NeedsReview",
                "incomplete": "Incomplete"}[report["status"]]
    assert run.state.name == expected


def test_runs_run_in_the_long_lived_worker_process(system: System,
                                                   scanned: dict[str, Any]) -> None:
    """``sohoa worker`` runs every dossier in its own process (no process per run): both
    runs name the same worker process as their infrastructure, and their task runs
    and logs are on the server as with a process per run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterType,
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.exceptions import ObjectNotFound

    from flows.tasks import ocr_limit_name

    runs = list(scanned["runs"].values())
    where = {r.infrastructure_pid for r in runs}
    assert len(where) == 1 and next(iter(where)).endswith("(in process)"), where
    with system.settings(), get_client(sync_client=True) as client:
        for run in runs:
            tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[run.id])))
            assert any(t.name.startswith("page ") for t in tasks), [t.name for t in tasks]
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
            assert any("Finished in state" in lg.message for lg in logs)
            # the supervisors' live bar of its pages, at its end
            bars = client.read_artifacts(artifact_filter=ArtifactFilter(  # type: ignore[call-arg]
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]),
                type=ArtifactFilterType(any_=["progress"])))
            assert [b.data for b in bars] == [100.0], [b.data for b in bars]
        # their pages shared the worker's own OCR slots: the machine's limit on the server,
        # there for a process per run, was never asked for
        with pytest.raises(ObjectNotFound):
            client.read_global_concurrency_limit_by_name(ocr_limit_name())


def test_a_run_with_its_own_environment_gets_a_process_with_it(system: System,
                                                               tmp_path: Path) -> None:
    """Job variables cannot apply in a shared process: a run that sets ``env`` runs in a
    process of its own (Prefect's process worker path) and its environment is what the
    run reads (here the signing organisation, written into the bundle's signature)."""
    import io

    import pikepdf
    from prefect.deployments import run_deployment

    from pipeline.delivery import dossier_prefix
    from pipeline.transfer import put_pages

    folder = tmp_path / "pages"
    write_dossier(folder, [page(FORM, 41)])
    prefix = dossier_prefix("phu-ly", "E2E-ENV-1")
    put_pages(system.storage, system.config.intake, prefix, folder)
    organisation = "UBND phường thử nghiệm (job variables)"
    request = {"dossier_id": "E2E-ENV-1", "procedure": "birth_registration",
               "branch": "phu-ly", "facts": {}}
    with system.settings():
        run: Any = run_deployment(
            "process-dossier/process-dossier", parameters={"request": request},
            flow_run_name="E2E-ENV-1", timeout=0, as_subflow=False,
            job_variables={"env": {"SOHOA_ORGANISATION": organisation}})
    run = wait_final(system, str(run.id))
    assert run.state.is_completed(), run.state
    pid = run.infrastructure_pid
    assert pid and not pid.endswith("(in process)") and int(pid) > 0, pid
    bundle = system.storage.get(system.config.archive, prefix + "bundle.pdf")
    with pikepdf.open(io.BytesIO(bundle)) as pdf:
        names = [str(field.V.get("/Name", "")) for field in pdf.Root.AcroForm.Fields
                 if field.get("/FT") == "/Sig" and "/V" in field]
    assert organisation in names, names


def test_runs_at_once_are_capped_by_the_pool_not_the_deployment(system: System) -> None:
    """``max_in_flight`` is the work pool's concurrency limit (the server hands out no
    run beyond it: no ``AwaitingConcurrencySlot`` and its 30 s retry, which stalled a
    second worker); a deployment limit an older version left is removed on apply."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    from flows.deployments import apply_deployments

    with system.settings(), get_client(sync_client=True) as client:
        assert client.read_work_pool(POOL).concurrency_limit == 4
        deployment = client.read_deployment_by_name("process-dossier/process-dossier")
        assert deployment.global_concurrency_limit is None
        client.update_deployment(deployment.id, DeploymentUpdate(concurrency_limit=2))
        assert client.read_deployment(deployment.id).global_concurrency_limit is not None
        apply_deployments(POOL, max_in_flight=4)
        assert client.read_deployment(deployment.id).global_concurrency_limit is None
        apply_deployments(POOL, max_in_flight=None)
        assert client.read_work_pool(POOL).concurrency_limit is None
        apply_deployments(POOL, max_in_flight=4)
        assert client.read_work_pool(POOL).concurrency_limit == 4


def test_watchers_never_start_a_duplicate_run(system: System, scanned: dict[str, Any]) -> None:
    first = scanned["first"]
    assert set(first) == {"E2E-GOOD-1", "E2E-BAD-1"}
    assert scanned["twins"] == [first, first]  # two watchers racing: the same runs
    assert scanned["restarted"] == first  # a restarted watcher gets the same runs back
    for dossier_id in first:
        assert len(runs_named(system, dossier_id)) == 1


def test_corrupt_upload_ends_in_quarantine(system: System, scanned: dict[str, Any]) -> None:
    prefix = "cau-giay/E2E-BAD-1/"
    q = system.config.quarantine
    assert set(system.keys(q, prefix)) == {prefix + "022.jpg", prefix + "reason.json"}
    assert system.storage.get(q, prefix + "022.jpg") == scanned["bad_jpg"]
    reason = json.loads(system.storage.get(q, prefix + "reason.json"))
    assert [f["source"] for f in reason["files"]] == ["022.jpg"]
    assert reason["files"][0]["reasons"][0]["error"]
    report = json.loads(system.storage.get(system.config.archive, prefix + "report.json"))
    assert [p["source"] for p in report["pages"]] == ["021.png", "022.jpg"]
    assert report["pages"][1]["error"] and report["pages"][1]["bundle_page"] is None
    assert system.keys(system.config.intake, prefix) == []


def test_bad_manifest_is_quarantined_without_a_run(system: System, tmp_path: Path) -> None:
    folder = make_dossier(tmp_path / "d", "E2E-NOPROC-1", [])
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["procedure"] = "no_such_procedure"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "001.png").write_bytes(b"\x89PNG not really")
    prefix = upload_dossier(system.storage, system.config.intake, folder)
    with system.settings():
        assert system.watcher().scan_once() == []
    q = system.config.quarantine
    assert set(system.keys(q, prefix)) == {prefix + n for n in
                                            ("001.png", "manifest.json", "reason.json")}
    reason = json.loads(system.storage.get(q, prefix + "reason.json"))
    assert "no_such_procedure" in reason["reason"]
    assert system.keys(system.config.intake, prefix) == []
    assert runs_named(system, "E2E-NOPROC-1") == []


def test_api_client_starts_a_run_by_deployment_name(system: System, tmp_path: Path) -> None:
    """The example client as docs/operations.md runs it: pages put with ``--pages`` (no
    manifest: the request starts the run), a run by deployment name, results fetched."""
    from examples.dossier_system_client import main as client

    folder = tmp_path / "pages"
    write_dossier(folder, [page(FORM, 31)])
    mp = pytest.MonkeyPatch()
    for key in ("PREFECT_API_URL", "SOHOA_S3_ENDPOINT", "SOHOA_S3_ACCESS_KEY",
                "SOHOA_S3_SECRET_KEY", "SOHOA_BUCKET_INTAKE", "SOHOA_BUCKET_ARCHIVE"):
        mp.setenv(key, system.env[key])
    try:
        with system.settings():
            code = client(["--branch", "phu-ly", "--dossier-id", "E2E-API-1",
                           "--procedure", "birth_registration",
                           "--fact", "by_representative=true", "--pages", str(folder),
                           "--out", str(tmp_path / "out"), "--timeout", str(RUN_TIMEOUT_S)])
    finally:
        mp.undo()
    assert code == 0
    (run,) = runs_named(system, "E2E-API-1")
    assert run.state is not None and run.state.name == "Incomplete"  # no proof, no authorization
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "incomplete"
    assert set(report["missing"]) == {"birth_proof", "authorization"}
    assert (tmp_path / "out" / "bundle.pdf").read_bytes().startswith(b"%PDF")
    assert system.keys(system.config.intake, "phu-ly/E2E-API-1/") == []


def test_prefect_operator_commands_work_against_the_server(
    system: System, scanned: dict[str, Any]
) -> None:
    """Prefect's own CLI, as an operator runs it (fastapi pinned below 0.151, where these
    commands' null ``limit``/``sort`` bodies are accepted; 0.151-0.154 answer HTTP 422)."""
    import subprocess
    import sys

    prefect = [str(Path(sys.executable).with_name("prefect"))]
    env = {**os.environ, **system.env, "PREFECT_LOGGING_LEVEL": "WARNING", "COLUMNS": "300"}
    run_id = scanned["first"]["E2E-GOOD-1"]

    def ok(*args: str) -> str:
        done = subprocess.run([*prefect, *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, f"prefect {' '.join(args)}: {done.stderr[-1500:]}"
        return done.stdout

    assert "process-dossier" in ok("deployment", "ls")
    assert POOL in ok("work-pool", "ls")
    assert "E2E-GOOD-1" in ok("flow-run", "ls")
    assert "process-dossier" in ok("flow", "ls")
    ok("artifact", "ls")
    assert "delivered to e2e-archive/cau-giay/E2E-GOOD-1/" in ok("flow-run", "logs", run_id)


def test_deployed_and_batch_paths_write_the_same_report(system: System, tmp_path: Path) -> None:
    """The same pages through the stack (watcher, server, worker, S3) and through
    ``sohoa batch`` on this machine: the same report, apart from time, engine and signature."""
    import shutil

    folder = tmp_path / "root" / "same"
    shutil.copytree(Path(__file__).resolve().parents[1] / "samples" / "birth-incomplete", folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["dossier_id"] = "E2E-SAME-1"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    prefix = upload_dossier(system.storage, system.config.intake, folder)
    with system.settings():
        (submitted,) = system.watcher().scan_once()
    assert wait_final(system, submitted.flow_run_id).state.is_completed()
    deployed = json.loads(system.storage.get(system.config.archive, prefix + "report.json"))

    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    done = subprocess.run([str(Path(sys.executable).with_name("sohoa")), "batch",
                           str(tmp_path / "root"), "--out", str(tmp_path / "out")],
                          env={**env, "SOHOA_STATE_DIR": str(tmp_path / "state")},
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    local = json.loads((tmp_path / "out" / "E2E-SAME-1" / "report.json").read_text())
    ignore = {"generated_at", "engine", "bundle"}
    assert {k: v for k, v in deployed.items() if k not in ignore} == \
        {k: v for k, v in local.items() if k not in ignore}
    assert deployed["bundle"]["pages"] == local["bundle"]["pages"]


def test_the_renewal_deployment_is_scheduled_daily_and_renews_archive(
        system: System, scanned: dict[str, Any]) -> None:
    """renew-timestamps: daily at 02:00 Vietnam time; a run on the worker adds a document
    timestamp to every archived bundle due, each a new version (the old one kept)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.deployments import run_deployment

    with system.settings(), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("renew-timestamps/renew-timestamps")
        schedules = [(s.schedule.cron, s.schedule.timezone)  # type: ignore[union-attr]
                     for s in deployment.schedules]
        assert schedules == [("0 2 * * *", "Asia/Ho_Chi_Minh")]
        before = {k: system.storage.get(system.config.archive, k)
                  for k in system.keys(system.config.archive, "")
                  if k.endswith("/bundle.pdf") and "/versions/" not in k}
        run: Any = run_deployment("renew-timestamps/renew-timestamps", timeout=RUN_TIMEOUT_S)
        assert run.state is not None and run.state.name == "Completed", run.state
        table = client.read_artifacts(  # type: ignore[call-arg]
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["renew-timestamps"])))
    rows = json.loads(table[0].data)
    assert before and {r["key"]: r["action"] for r in rows} == dict.fromkeys(before, "renewed")
    roots = trust_roots(Settings.from_env(system.env))
    for key, old in before.items():
        new = system.storage.get(system.config.archive, key)
        assert new.startswith(old) and len(new) > len(old)
        report = verify_signatures(new, trust_roots=roots)
        assert report.ok and [s.kind for s in report.timestamps][-2:] == ["document"] * 2
        folder = key.removesuffix("bundle.pdf")
        kept = [k for k in system.keys(system.config.archive, folder + "versions/")
                if k.endswith("/bundle.pdf")]
        assert [system.storage.get(system.config.archive, k) for k in kept][-1:] == [old]
        stored = json.loads(system.storage.get(system.config.archive, folder + "report.json"))
        assert stored["bundle"]["sha256"] == sha256_hex(new)


def test_a_run_cancelled_while_it_runs_stops_and_delivers_nothing(
        system: System, tmp_path: Path) -> None:
    """The UI's Cancel on a run the worker is running in its own process (the run set to
    Cancelling): the run stops before its remaining pages, ends Cancelled, delivers
    nothing, and its pages stay in intake to be run again."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterName,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.states import Cancelling

    pages = [page(FORM if i == 0 else PROOF, 60 + i) for i in range(10)]
    folder = make_dossier(tmp_path / "d", "E2E-CANCEL-1", pages, branch="hoan-kiem")
    prefix = upload_dossier(system.storage, system.config.intake, folder)
    with system.settings():
        (submitted,) = system.watcher().scan_once()
    run_id = submitted.flow_run_id

    def page_runs(*states: str) -> list[Any]:
        with system.settings(), get_client(sync_client=True) as client:
            return client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
                task_run_filter=TaskRunFilter(
                    name=TaskRunFilterName(like_="page "),
                    state=TaskRunFilterState(type=TaskRunFilterStateType(any_=list(states)))))

    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not page_runs("RUNNING", "COMPLETED"):  # the run is reading its pages
        assert time.monotonic() < deadline, "no page task started"
        time.sleep(0.2)
    with system.settings(), get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, Cancelling())  # what the UI's Cancel does
    final = wait_final(system, run_id)
    try:
        assert final.state.type.value == "CANCELLED", final.state
        assert "cancelled" in (final.state.message or "")
        assert len(page_runs("COMPLETED")) < len(pages)  # it stopped before the end
        assert system.keys(system.config.archive, prefix) == []
        assert {k.rsplit("/", 1)[-1] for k in system.keys(system.config.intake, prefix)} \
            == {p.name for p in folder.iterdir()}
    finally:
        for key in system.keys(system.config.intake, prefix):  # other tests' watchers
            system.storage.delete(system.config.intake, key)
