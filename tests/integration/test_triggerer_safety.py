"""A real ``airflow triggerer`` survives trigger rows this provider version cannot run (issue 25.1).

Airflow's triggerer catches only ``TypeError`` from a trigger's constructor; before this fix a row with an
unknown watch option or a zero poll interval ended the trigger runner ("Trigger runner process has died!
Exiting.") and every deferred task on it. Here one deployment (``tests/safety_dags``) runs a valid deferred
sensor beside sensors whose rows carry one bad argument each (as a worker on another provider version writes
them) and an asset watcher whose row names an unknown outcome: the triggerer stays up, the valid task succeeds,
each bad task fails with a message naming the argument, and the watcher logs an ERROR and fires nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_polytomic.testing import PolytomicEmulator
from tests.airflow_processes import AIRFLOW_3_PROCESSES, AirflowDeployment, airflow_deployment
from tests.conftest import API_KEY, ORG_ID

pytestmark = AIRFLOW_3_PROCESSES

DAGS = Path(__file__).resolve().parents[1] / "safety_dags"
DAG_ID = "triggerer_safety"
WATCHED = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
STARTUP = 180  # seconds: the deployment up and the DAGs parsed
RUN = 180  # seconds for the DAG run (its bad tasks may retry: see the DAG file)
#: What each bad task's log must say (the argument it names), and the line every row error carries.
NAMED = {
    "unknown_watch_option": "'only_full_syncs'",
    "zero_poll_interval": "poll_interval must be a positive number",
    "unknown_kind": "kind must be 'model' or 'bulk'",
}
ROW_ERROR = "PolytomicSyncStatusTrigger cannot run with the arguments in its trigger row"


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[AirflowDeployment, PolytomicEmulator]]:
    with PolytomicEmulator({"api_keys": [API_KEY], "organization": {"id": ORG_ID, "name": "Acme Data"}}) as emulator:
        # Executions of the watched sync that a valid watcher would fire on: the bad one must not.
        emulator.add_sync(
            id=WATCHED,
            executions=[{"created_ago": 60, "steps": [{"status": "running", "polls": 2}, {"status": "completed"}]}],
        )
        env = {"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False", "POLYTOMIC_SAFETY_WATCHED_SYNC": WATCHED}
        with airflow_deployment(tmp_path, emulator, env, dags_folder=DAGS, sqlite_wal=True) as airflow:
            yield airflow, emulator


def task_log(airflow: AirflowDeployment, task_id: str) -> str:
    """What the task's own tries wrote (the worker's part; the trigger's part is in ``*.trigger.*.log``)."""
    home = Path(airflow.env["AIRFLOW_HOME"])
    paths = home.glob(f"logs/dag_id={DAG_ID}/run_id=skew/task_id={task_id}/attempt=*.log")
    return "\n".join(path.read_text(errors="replace") for path in sorted(paths) if ".trigger." not in path.name)


def failed_with(log: str, *words: str) -> bool:
    """Whether a try ended with an exception whose text holds all of ``words``."""
    return any("Task failed with exception" in line and all(w in line for w in words) for line in log.splitlines())


def test_bad_trigger_rows_fail_their_tasks_and_the_triggerer_stays_up(
    deployment: tuple[AirflowDeployment, PolytomicEmulator],
) -> None:
    airflow, emulator = deployment
    done = emulator.add_sync(executions=[{"steps": [{"status": "running", "polls": 3}, {"status": "completed"}]}])
    stuck = emulator.add_sync(executions=[{"steps": [{"status": "running", "polls": 100_000}]}])
    airflow.wait_for(
        "the DAGs to be parsed",
        lambda: (
            airflow.db.exists()
            and len(airflow.query("select dag_id from dag where dag_id like 'triggerer_safety%'")) == 2
        ),
        STARTUP,
    )
    airflow.airflow("dags", "trigger", DAG_ID, "-r", "skew", "-c", json.dumps({"sync": done.id, "stuck": stuck.id}))
    airflow.wait_for(
        "the DAG run to finish",
        lambda: airflow.query(
            "select state from dag_run where dag_id=? and run_id='skew' and state in ('success','failed')", DAG_ID
        ),
        RUN,
    )
    states = dict(airflow.query("select task_id, state from task_instance where dag_id=? and run_id='skew'", DAG_ID))
    assert states == {
        "valid": "success",
        "unknown_watch_option": "failed",
        "zero_poll_interval": "failed",
        "unknown_kind": "failed",
    }, states
    # The valid task was resumed by the triggerer that also held the bad rows: it never died.
    triggerer_log = (airflow.logs_dir / "triggerer.log").read_text(errors="replace")
    assert airflow.processes["triggerer"].poll() is None, triggerer_log[-3000:]
    assert "Trigger runner process has died" not in triggerer_log and "Trigger runner failed" not in triggerer_log
    # A resumed try's log may be written a moment after its state: wait for it.
    for task_id, named in NAMED.items():
        airflow.wait_for(
            f"{task_id} to fail naming {named}",
            lambda task_id=task_id, named=named: failed_with(task_log(airflow, task_id), ROW_ERROR, named, "9.9.9"),
            30,
        )
    # The bad triggers polled nothing: every request about their sync came from a task's own check (requests).
    agents = {
        request.headers.get("User-Agent", "").rsplit(" ", 1)[-1]
        for request in emulator.requests_to(rf"/api/syncs/{stuck.id}(/.*)?")
    }
    assert agents == {"(requests)"}, agents

    # The asset watcher: an ERROR in the triggerer's log, no asset event, no DAG run, no request.
    airflow.wait_for(
        "the watcher's error",
        lambda: (
            "PolytomicSyncCompletionTrigger cannot run"
            in (airflow.logs_dir / "triggerer.log").read_text(errors="replace")
        ),
        60,
    )
    triggerer_log = (airflow.logs_dir / "triggerer.log").read_text(errors="replace")
    assert "outcomes must be" in triggerer_log and "No asset events fire" in triggerer_log
    assert airflow.query("select count(*) from asset_event") == [(0,)]
    assert airflow.query("select count(*) from dag_run where dag_id='triggerer_safety_watched'") == [(0,)]
    assert emulator.requests_to(rf"/api/syncs/{WATCHED}(/.*)?") == []
    for path in airflow.logs_dir.glob("*.log"):
        assert API_KEY not in path.read_text(errors="replace"), path.name
