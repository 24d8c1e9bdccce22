"""The CLI's embedded Prefect API (flows.embedded_api): what it keeps of a run.

``sohoa process`` in a process of its own, with the defaults a user gets (the test
session itself turns task-run recording and API logs on, to read them back); the
embedded API's database, which outlives the process in ``PREFECT_HOME``, is read with
sqlite3.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from flows.embedded_api import EMBEDDED_DEFAULTS

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SOHOA = str(Path(sys.executable).with_name("sohoa"))


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def servers_of(prefect_home: Path) -> list[int]:
    """Pids of embedded API servers (Prefect's app under uvicorn) with this PREFECT_HOME."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes()
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours to read
            continue
        if b"flows.prefect_server:create_app" in cmd and (
                f"PREFECT_HOME={prefect_home}".encode() in env):
            found.append(int(proc.name))
    return found


def test_the_cli_keeps_flow_runs_and_artifacts_not_task_runs_or_logs(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    shutil.copytree(SAMPLES / "birth-incomplete", tmp_path / "dossier")
    env = {k: v for k, v in os.environ.items()
           if k not in EMBEDDED_DEFAULTS and k != "PREFECT_API_URL"}
    home = tmp_path / "not-made-yet" / "prefect"  # the API makes its home's folders
    env |= {"PREFECT_HOME": str(home),
            "SOHOA_STATE_DIR": str(tmp_path_factory.getbasetemp() / "state")}
    done = subprocess.run([SOHOA, "process", str(tmp_path / "dossier"), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "bundle.pdf").is_file()
    db = home / "prefect.db"
    assert rows(db, "flow_run") == 1  # the dossier's run, its states and artifacts
    assert rows(db, "flow_run_state") >= 3 and rows(db, "artifact") >= 2
    assert rows(db, "task_run") == 0 and rows(db, "log") == 0  # what nobody reads after
    assert servers_of(home) == []  # its API ended with it (killed: no wait)


SHOW_EVENTS_CLIENT = """
from flows import embedded_api
from prefect.events.worker import EventsWorker
api = embedded_api.start_if_needed()
api.wait_ready()
override = EventsWorker._client_override
print(override[0].__name__ if override else "sent")
api.stop()
"""


@pytest.mark.parametrize(("recorder", "expected"), [(None, "NullEventsClient"),
                                                    ("true", "sent")])
def test_events_are_sent_only_when_a_service_of_the_embedded_api_reads_them(
    tmp_path: Path, recorder: str | None, expected: str,
) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in EMBEDDED_DEFAULTS and k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    if recorder is not None:  # an operator who wants task runs recorded
        env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED"] = recorder
    done = subprocess.run([sys.executable, "-c", SHOW_EVENTS_CLIENT], capture_output=True,
                          text=True, timeout=120, env=env, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == expected
