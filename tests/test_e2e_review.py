"""Review inside the deployed run: real SeaweedFS, a real Prefect server, a real worker,
and the Prefect UI in a real browser (Debian's chromium driven by playwright).

An uncertain dossier (a birth certificate whose title was torn off) suspends and asks
for decisions; a REST resume answers; an invalid answer is refused and the run stays
suspended; the worker is restarted while the run waits; an unanswered review is closed
by the watcher and delivered as needs_review, and a later answer re-opens it from the
archived originals as a new version; a deployed run cannot be given a worker's path.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pikepdf
import pytest

from flows.settings import Settings
from flows.signing import trust_roots
from flows.stack import (
    Child,
    Stack,
    free_port,
    start_prefect_server,
    start_worker,
)
from flows.watcher import Watcher
from pipeline.sign.verify import verify_signatures
from pipeline.transfer import upload_dossier
from tests.s3server import S3Server
from tests.test_cli_review import READS_WITH, torn_dossier
from tests.test_e2e_stack import System, system_env, wait_final

WAIT_S = 240.0
SPLIT = {"reviewer": "Trần Thị B", "note": "page 2 is the birth certificate",
         "documents": [{"document": 0, "doc_type": "birth_reg_form"},
                       {"document": 0, "doc_type": "birth_certificate_medical",
                        "from_page": 2}]}


class Reviewed(System):
    def __init__(self, env: dict[str, str], stack: Stack, logs: Path, worker: Child) -> None:
        config = Settings.from_env(env).storage
        super().__init__(env, config, config.open())
        self.stack, self.logs, self.worker = stack, logs, worker

    def restart_worker(self) -> None:
        from flows.stack import stop_group

        stop_group(self.worker.process)
        self.stack.children.remove(self.worker)
        self.worker = start_worker(self.stack, self.env, "sohoa-review", self.logs)

    def worker_log(self, tail: int = 4000) -> str:
        return self.worker.log.read_text(errors="replace")[-tail:]

    def rest(self, method: str, path: str, body: Any = None) -> Any:
        for _ in range(5):  # SQLite busy: the server answers 503, a client tries again
            r = httpx.request(method, self.api_url + path, json=body, timeout=30)
            if r.status_code != 503:
                break
            time.sleep(2)
        r.raise_for_status()
        return r.json()

    def run_input(self, run_id: str, key: str) -> Any:
        """A value the run stored with its suspension (the form's schema, its text)."""
        r = httpx.get(f"{self.api_url}/flow_runs/{run_id}/input/{key}", timeout=30)
        r.raise_for_status()
        value = r.json()
        try:
            return json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            return value

    def report(self, dossier_id: str) -> dict[str, Any]:
        return json.loads(self.storage.get(self.config.archive,
                                           f"cau-giay/{dossier_id}/report.json"))


@pytest.fixture(scope="module")
def system(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reviewed]:
    base = tmp_path_factory.mktemp("e2e-review")
    port = free_port()
    env = {**system_env(s3_server, base, port, "rv"), "SOHOA_OCR_ENGINE": READS_WITH}
    stack = Stack()
    try:
        start_prefect_server(stack, env, port, base / "logs", ui=True)  # the browser test
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from flows.deployments import apply_deployments

        with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
            apply_deployments("sohoa-review", max_in_flight=4)
        worker = start_worker(stack, env, "sohoa-review", base / "logs")
        yield Reviewed(env, stack, base / "logs", worker)
    finally:
        stack.stop()


def start(system: Reviewed, folder: Path) -> str:
    upload_dossier(system.storage, system.config.intake, folder)
    with system.settings():
        (submitted,) = system.watcher().scan_once()
    return submitted.flow_run_id


def wait_state(system: Reviewed, run_id: str, name: str) -> Any:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + WAIT_S
    with system.settings(), get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)  # type: ignore[arg-type]
            if run.state is not None and run.state.name == name:
                return run
            if run.state is not None and run.state.is_final():
                raise AssertionError(f"run ended {run.state.name}: {run.state.message}")
            time.sleep(1)
    raise AssertionError(f"flow run {run_id} not {name} after {WAIT_S:.0f} s")


def resumed(system: Reviewed, run_id: str, page: Any, within_s: float = 90.0) -> None:
    """The UI's Submit resumed the run (it left Suspended).

    A supervisor whose Submit met a busy server (the test server's SQLite answers 503)
    still sees the dialog and presses Submit again: so does this, once."""
    deadline = time.monotonic() + within_s
    again = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = system.rest("GET", f"/flow_runs/{run_id}")["state"]
        if state["name"] != "Suspended":
            return
        dialog = page.locator(".p-modal__card")
        if time.monotonic() > again and dialog.count():
            again = deadline
            dialog.get_by_role("button", name="Submit").click()
        time.sleep(1)
    screen = page.locator("body").inner_text()[-2000:]
    raise AssertionError(f"Submit in the UI did not resume the run in {within_s:.0f} s; "
                         f"the page reads:\n{screen}")


def outline(pdf: bytes) -> list[int]:
    import io

    with pikepdf.open(io.BytesIO(pdf)) as doc, doc.open_outline() as out:
        pages = [p.objgen for p in doc.pages]
        return [pages.index(item.destination[0].objgen) + 1 for item in out.root]


def test_uncertain_dossier_suspends_and_a_rest_resume_completes_it(
        system: Reviewed, tmp_path: Path) -> None:
    run_id = start(system, torn_dossier(tmp_path / "d", "RV-SPLIT-1"))
    run = wait_state(system, run_id, "Suspended")
    assert "awaiting-review" in run.tags
    prefix = "cau-giay/RV-SPLIT-1/"
    assert system.keys(system.config.archive, prefix) == []  # nothing delivered yet
    assert len(system.keys(system.config.intake, prefix)) == 3
    # the form: its schema offers the catalog's types; the questions name the document
    schema = system.run_input(run_id, "suspended-review-1-schema")
    assert "birth_certificate_medical" in json.dumps(schema)
    text = system.run_input(run_id, "suspended-review-1-description")
    assert "Document 0" in text and "001.png" in text

    refused = system.rest("POST", f"/flow_runs/{run_id}/resume",
                          {"run_input": {**SPLIT, "reviewer": ""}})
    assert refused["status"] == "REJECT"
    time.sleep(3)
    assert wait_state(system, run_id, "Suspended").state.name == "Suspended"

    system.restart_worker()  # the run waits on the server, not in a worker
    resumed_at = time.monotonic()
    assert system.rest("POST", f"/flow_runs/{run_id}/resume",
                       {"run_input": SPLIT})["status"] == "ACCEPT"
    run = wait_final(system, run_id)
    took = time.monotonic() - resumed_at
    assert run.state.name == "Completed", run.state.message
    assert "awaiting-review" not in run.tags and "status:complete" in run.tags
    report = system.report("RV-SPLIT-1")
    assert report["status"] == "complete" and report["review"] == []
    assert [(d["doc_type"], d["bundle_pages"]) for d in report["documents"]] == [
        ("birth_reg_form", [1]), ("birth_certificate_medical", [2])]
    assert [(d["reviewer"], d["to"]) for d in report["decisions"]] == [
        ("Trần Thị B", "birth_reg_form"), ("Trần Thị B", "birth_certificate_medical")]
    bundle = system.storage.get(system.config.archive, prefix + "bundle.pdf")
    assert outline(bundle) == [1, 2]
    roots = trust_roots(Settings.from_env(system.env))
    assert verify_signatures(bundle, trust_roots=roots).ok
    assert system.keys(system.config.intake, prefix) == []
    pages = system.rest("POST", "/task_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}},
                                                      "limit": 50})
    states = [t["state"]["name"] for t in pages if t["name"].startswith("page ")]
    assert states.count("Cached") == 2  # after the resume: no page read again
    print(f"resume -> report in archive: {took:.1f} s")  # noqa: T201 - the closing note's figure


def test_unanswered_review_is_delivered_and_a_later_answer_reopens_it(
        system: Reviewed, tmp_path: Path) -> None:
    run_id = start(system, torn_dossier(tmp_path / "d", "RV-LATE-1"))
    wait_state(system, run_id, "Suspended")
    with system.settings():
        # a wait long enough that the first scan, just after the suspension, is surely early
        watcher = Watcher(system.config, system.storage, review_wait=timedelta(seconds=20))
        watcher.scan_once()  # not yet
        time.sleep(1)
        assert wait_state(system, run_id, "Suspended")
        time.sleep(20)
        watcher.scan_once()
    run = wait_final(system, run_id)
    first = system.report("RV-LATE-1")  # delivered as without review: the question stays
    assert run.state.name == "Incomplete" and first["status"] == "incomplete"
    assert first["review"] and first["missing"] == ["birth_proof"]
    assert [d["action"] for d in first["decisions"]] == ["expired"]
    prefix = "cau-giay/RV-LATE-1/"
    assert system.keys(system.config.intake, prefix) == []

    # later: a supervisor runs the deployment again; it re-opens from archive/originals
    from prefect.deployments import run_deployment

    request = {"dossier_id": "RV-LATE-1", "procedure": "birth_registration",
               "branch": "cau-giay"}
    with system.settings():
        again: Any = run_deployment("process-dossier/process-dossier",
                                    parameters={"request": request}, timeout=0)
    wait_state(system, str(again.id), "Suspended")
    system.rest("POST", f"/flow_runs/{again.id}/resume", {"run_input": SPLIT})
    assert wait_final(system, str(again.id)).state.name == "Completed"
    assert system.report("RV-LATE-1")["status"] == "complete"
    kept = [k for k in system.keys(system.config.archive, prefix + "versions/")
            if k.endswith("report.json")]
    assert len(kept) == 1
    assert json.loads(system.storage.get(system.config.archive, kept[0])) == first


def test_a_deployed_run_cannot_be_given_a_worker_path(system: Reviewed, tmp_path: Path) -> None:
    from prefect.deployments import run_deployment

    target = tmp_path / "target"
    target.mkdir()
    request = {"dossier_id": "RV-PATH-1", "procedure": "birth_registration",
               "branch": "cau-giay"}
    with system.settings():
        run: Any = run_deployment(
            "process-dossier/process-dossier", timeout=120,
            parameters={"request": request, "source": "/etc/hostname", "target": str(target)})
    # the flow takes no such parameter: the run cannot start, nothing is read or written
    assert run.state is not None and run.state.type.value in ("CRASHED", "FAILED")
    assert list(target.iterdir()) == []


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def test_a_supervisor_answers_in_the_prefect_ui(system: Reviewed, tmp_path: Path) -> None:
    """Open the suspended run, read the questions, split the document in the form, submit.

    ``SOHOA_SCREENSHOTS=DIR`` keeps the two screenshots (docs/review-*.png come from it)."""
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM.exists(), "chromium is missing: run scripts/setup.sh"
    shots = Path(os.environ.get("SOHOA_SCREENSHOTS") or tmp_path)
    run_id = start(system, torn_dossier(tmp_path / "d", "RV-UI-1"))
    wait_state(system, run_id, "Suspended")
    ui = system.api_url.removesuffix("/api")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1900})
        # Settings > Theme: light (the dark theme draws the dialog's questions dark on dark)
        page.add_init_script("localStorage.setItem('color-scheme', JSON.stringify('light'))")
        page.goto(f"{ui}/runs/flow-run/{run_id}", wait_until="networkidle")
        page.get_by_role("button", name="Resume").click()
        form = page.locator(".p-modal__card")
        form.wait_for()
        # the questions come with the run's input form, a moment after the dialog opens
        # (read at once, the dialog once held only its title and "Reviewer")
        expect(form).to_contain_text("Document 0")
        expect(form).to_contain_text("candidates:")
        form.locator("textarea").first.fill("Lê Văn C")
        form.get_by_role("button", name="Add item").first.click()  # a second answer: a split
        form.locator("input[type=number]").nth(1).fill("0")
        form.locator(".p-select").nth(1).locator("button").first.focus()
        page.keyboard.press("ArrowDown")  # opens the list of the catalog's types
        page.get_by_role("option", name="birth_certificate_medical", exact=True).click()
        form.get_by_role("button", name="int").nth(1).click()
        form.locator("input[type=number]").nth(2).fill("2")
        page.evaluate("document.querySelectorAll('.p-modal__card, .p-modal__card *')"
                      ".forEach(e => { e.scrollTop = 0 })")
        page.screenshot(path=str(shots / "review-form.png"))
        form.get_by_role("button", name="Submit").click()
        resumed(system, run_id, page)
        try:
            run = wait_final(system, run_id)
        except AssertionError as e:
            raise AssertionError(f"{e}\nworker log:\n{system.worker_log()}") from None
        assert run.state.name == "Completed", run.state.message
        summary = system.rest("POST", "/artifacts/filter",
                              {"artifacts": {"key": {"any_": ["summary-rv-ui-1"]}}})[0]
        page.goto(f"{ui}/artifacts/artifact/{summary['id']}", wait_until="networkidle")
        page.get_by_text("Lê Văn C").first.wait_for()
        page.screenshot(path=str(shots / "review-done.png"))
        browser.close()
    report = system.report("RV-UI-1")
    assert report["status"] == "complete"
    assert [(d["reviewer"], d["to"]) for d in report["decisions"]] == [
        ("Lê Văn C", "birth_reg_form"), ("Lê Văn C", "birth_certificate_medical")]
