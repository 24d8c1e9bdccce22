"""``sohoa batch`` (docs/contracts.md §1b): a backlog of dossiers in one process, real
Tesseract and signing; bad dossiers among good ones each get their report."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SOHOA = str(Path(sys.executable).with_name("sohoa"))


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path_factory.getbasetemp() / "state"
    monkeypatch.setenv("SOHOA_STATE_DIR", str(state))
    return state


def backlog(root: Path) -> Path:
    """Two sample dossiers, one with a truncated page, one whose manifest is not JSON, one
    with a manifest and no page."""
    shutil.copytree(SAMPLES / "birth-complete", root / "2026" / "complete")
    shutil.copytree(SAMPLES / "birth-incomplete", root / "2026" / "incomplete")
    broken = root / "broken"
    shutil.copytree(SAMPLES / "birth-complete", broken)
    manifest = json.loads((broken / "manifest.json").read_text(encoding="utf-8"))
    (broken / "manifest.json").write_text(
        json.dumps({**manifest, "dossier_id": "HN-CG-2026-000999"}), encoding="utf-8")
    data = (broken / "002-giay-chung-sinh.jpg").read_bytes()
    (broken / "002-giay-chung-sinh.jpg").write_bytes(data[: len(data) // 3])
    (root / "not-json").mkdir()
    (root / "not-json" / "manifest.json").write_text("{not json", encoding="utf-8")
    (root / "not-json" / "001.png").write_bytes((SAMPLES / "birth-complete" /
                                                 "003-mat-sau.png").read_bytes())
    (root / "empty").mkdir()
    (root / "empty" / "manifest.json").write_text(json.dumps(
        {"dossier_id": "HN-CG-2026-000998", "procedure": "birth_registration",
         "branch": "cau-giay"}), encoding="utf-8")
    (root / "notes").mkdir()  # no manifest: not a dossier
    (root / "notes" / "readme.txt").write_text("scanner notes", encoding="utf-8")
    return root


def batch(*args: object) -> subprocess.CompletedProcess[str]:
    """``sohoa batch`` in a process of its own, as a user runs it (its threads run flows:
    in the test process they would share Prefect's settings with every other test)."""
    return subprocess.run([SOHOA, "batch", *map(str, args)], capture_output=True, text=True,
                          timeout=900, check=False, env=dict(os.environ))


def report(out: Path, dossier_id: str) -> dict:
    return json.loads((out / dossier_id / "report.json").read_text(encoding="utf-8"))


def test_every_dossier_gets_its_report_and_bad_ones_stop_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = batch(backlog(tmp_path / "root"), "--out", out)
    assert done.returncode == 0, done.stderr
    printed = done.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "HN-BD-2026-000456", "HN-CG-2026-000123", "HN-CG-2026-000998", "HN-CG-2026-000999",
        "not-json"]
    assert report(out, "HN-CG-2026-000123")["status"] == "complete"
    assert report(out, "HN-BD-2026-000456")["status"] == "incomplete"
    broken = report(out, "HN-CG-2026-000999")
    assert broken["status"] in ("needs_review", "incomplete") and any(
        p["error"] for p in broken["pages"])
    assert (out / "HN-CG-2026-000999" / "quarantine" / "002-giay-chung-sinh.jpg").is_file()
    assert report(out, "not-json")["status"] == "rejected"
    assert (out / "not-json" / "quarantine" / "reason.json").is_file()
    empty = report(out, "HN-CG-2026-000998")
    assert empty["status"] == "rejected" and "no page files" in empty["reason"]
    assert "HN-BD-2026-000456            incomplete     missing birth_proof, authorization" \
        in printed
    assert printed.strip().splitlines()[-1].startswith("5 dossiers, ")
    assert "2 rejected" in printed.strip().splitlines()[-1]


def test_a_batch_writes_what_sohoa_process_writes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(SAMPLES / "birth-incomplete", root / "one")
    assert batch(root, "--out", tmp_path / "batch").returncode == 0
    assert main(["process", str(root / "one"), "--out", str(tmp_path / "single")]) == 0
    ignore = {"generated_at", "engine", "bundle"}

    def comparable(path: Path) -> dict:
        return {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items()
                if k not in ignore}

    assert comparable(tmp_path / "batch" / "HN-BD-2026-000456" / "report.json") == \
        comparable(tmp_path / "single" / "report.json")
    assert sorted(p.name for p in (tmp_path / "batch" / "HN-BD-2026-000456").iterdir()) == \
        sorted(p.name for p in (tmp_path / "single").iterdir())


def test_two_folders_of_one_dossier_are_a_wrong_call(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(SAMPLES / "birth-complete", root / "a")
    shutil.copytree(SAMPLES / "birth-complete", root / "b")
    done = batch(root, "--out", tmp_path / "out")
    assert done.returncode == 2 and "both dossier HN-CG-2026-000123" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    assert batch(tmp_path / "nothing-here", "--out", tmp_path / "o").returncode == 2


def test_a_terminal_shows_progress(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(SAMPLES / "birth-incomplete", root / "one")
    primary, secondary = pty.openpty()
    done = subprocess.run([SOHOA, "batch", str(root), "--out", str(tmp_path / "out")],
                          stdout=subprocess.PIPE, stderr=secondary, timeout=300,
                          env={**os.environ, "COLUMNS": "120"}, check=False)
    os.close(secondary)
    shown = b""
    try:
        while chunk := os.read(primary, 65536):
            shown += chunk
    except OSError:
        pass
    os.close(primary)
    assert done.returncode == 0
    assert b"1/1" in shown and b"dossiers" in shown  # the bar, drawn on the terminal
    assert b"1 dossiers, " in done.stdout
