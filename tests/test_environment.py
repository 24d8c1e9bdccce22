"""Faults of the machine (pipeline/environment.py): checked once before any page,
their own exit code, never a page result; and page results keyed by what made them.

Tesseract is really taken off the PATH (a folder of links to everything in
/usr/bin but it) and brought back; the flows run on Prefect's embedded API.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from flows.cli import main
from flows.params import DossierRequest
from lab.synth.degrade import DegradeSpec
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec
from pipeline import page as page_stage
from pipeline.environment import check_environment
from pipeline.errors import ExitCode, MissingDependency, StateDirError
from pipeline.ocr.tesseract import OcrConfig
from tests.test_flows_storage import embedded_prefect  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "birth-complete"


@pytest.fixture()
def path_without_tesseract(tmp_path: Path) -> str:
    """A PATH with every program of the usual folders except tesseract."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for prog in Path(folder).iterdir() if Path(folder).is_dir() else ():
            link = bin_dir / prog.name
            if prog.name != "tesseract" and not link.exists():
                link.symlink_to(prog)
    assert shutil.which("tesseract", path=str(bin_dir)) is None
    return str(bin_dir)


def one_page(folder: Path) -> Path:
    spec = PageSpec(doc_type="birth_reg_form", title="TỜ KHAI ĐĂNG KÝ KHAI SINH", seed=61,
                    body_paragraphs=1, fields=3)
    write_dossier(folder, [SynthFile("001.png", ((spec, DegradeSpec(seed=61)),))])
    return folder


def test_check_names_the_missing_program_and_the_unwritable_state(
    tmp_path: Path, path_without_tesseract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = check_environment(ocr=OcrConfig(), state_dir=tmp_path / "state")
    assert ok.tesseract.startswith("5") and ok.langs == "vie"
    with pytest.raises(MissingDependency, match="vie\\+xyz|xyz.traineddata"):
        check_environment(ocr=OcrConfig(langs="vie+xyz"), state_dir=tmp_path / "state")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StateDirError, match="SOHOA_STATE_DIR"):
        check_environment(ocr=OcrConfig(), state_dir=blocker / "state")
    monkeypatch.setenv("PATH", path_without_tesseract)
    with pytest.raises(MissingDependency, match="not installed"):
        check_environment(ocr=OcrConfig(), state_dir=tmp_path / "state")


def test_cli_without_tesseract_fails_before_any_page_then_works_again(
    tmp_path: Path, path_without_tesseract: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("SOHOA_STATE_DIR", str(state))
    out = tmp_path / "out"
    real_path = os.environ["PATH"]
    monkeypatch.setenv("PATH", path_without_tesseract)
    code = main(["process", str(SAMPLE), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == ExitCode.environment == 3
    assert len(err) == 1 and "Tesseract is not installed" in err[0], err
    assert not out.exists() and not (state / "work").exists()  # no page was touched
    monkeypatch.setenv("PATH", real_path)
    assert main(["process", str(SAMPLE), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "complete" and not any(p["error"] for p in report["pages"])


def test_a_program_lost_mid_run_fails_the_page_task_instead_of_making_a_page_error(
    tmp_path: Path, path_without_tesseract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.tasks import process_page_task
    from pipeline.fileio import file_sha256
    from pipeline.inventory import PageJob
    from pipeline.storage import LocalStorage

    src = one_page(tmp_path / "input") / "001.png"
    job = PageJob(source=src.name, bucket="input", key=src.name, sha256=file_sha256(src), page=1)
    monkeypatch.setenv("PATH", path_without_tesseract)
    with pytest.raises(MissingDependency):
        process_page_task.fn(job, config=page_stage.PageConfig(), made_by="x",
                             storage=LocalStorage(tmp_path), work_dir=tmp_path / "work")


def page_task_states(flow_run_id: Any) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=50)
    return [r.state.name for r in runs if r.name.startswith("page ") and r.state]


def test_page_results_are_keyed_by_the_code_and_the_tesseract_that_made_them(
    embedded_prefect: None,  # noqa: F811 - the fixture imported above
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.dossier import process_folder

    monkeypatch.setenv("SOHOA_STATE_DIR", str(tmp_path / "state"))
    folder = one_page(tmp_path / "input")
    request = DossierRequest(dossier_id="CACHE-1", procedure="birth_registration")

    def run() -> list[str]:
        state: Any = process_folder(request, str(folder), str(tmp_path / "out"),
                                    return_state=True)
        assert state.is_completed()
        return page_task_states(state.state_details.flow_run_id)

    assert run() == ["Completed"]
    assert run() == ["Cached"]  # same page, same code, same Tesseract: served from cache
    real_code = page_stage.stage_code()
    monkeypatch.setattr(page_stage, "stage_code", lambda: real_code + "+changed")
    assert run() == ["Completed"]  # the page stage's code changed: processed again
    from pipeline.ocr import libtesseract

    monkeypatch.setattr(libtesseract, "version", lambda: "5.99.0")
    assert run() == ["Completed"]  # another Tesseract: processed again
    assert run() == ["Cached"]
    monkeypatch.setenv("SOHOA_OCR_ENGINE", "program")
    assert run() == ["Completed"]  # the other engine reads it: processed again
    shutil.rmtree(tmp_path / "state" / "work" / "pages")  # the page images are gone
    assert sorted(run()) == ["Cached", "Completed"]  # the cached result is made again
