"""End to end on Airflow 3: the asset-watcher example DAG runs once per completed Polytomic execution.

Scheduler, dag-processor, triggerer and api-server run as real processes with ``example_dags`` as the DAGs
folder. The emulator's sync finishes three executions over time (completed, failed, completed) after one that
finished an hour before; the triggerer's ``PolytomicSyncCompletionTrigger`` turns the two completed ones into
two asset events, and the scheduler makes one DAG run of ``example_polytomic_asset_watcher`` for each.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_polytomic.testing import PolytomicEmulator
from tests.airflow_processes import query, running_airflow
from tests.conftest import API_KEY

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "example_polytomic_asset_watcher"
SYNC = "6a2f0c3e-9b41-4d7e-8c15-2e3f4a5b6c7d"
DEADLINE = 240  # seconds for the whole run, start-up included

try:
    from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS
except ImportError:  # pragma: no cover
    AIRFLOW_V_3_0_PLUS = False

pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="asset watchers and the Airflow 3 process model")


@pytest.fixture
def airflow_processes(tmp_path: Path, emulator: PolytomicEmulator) -> Iterator[tuple[dict[str, str], Path]]:
    with running_airflow(
        tmp_path,
        emulator,
        {
            # A watcher is registered when the file is parsed after its DAG was unpaused.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "POLYTOMIC_EXAMPLE_SYNC_ID": SYNC,
        },
    ) as deployment:
        yield deployment


def _json(value: object) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def test_the_asset_watcher_example_runs_once_per_completed_execution(
    airflow_processes: tuple[dict[str, str], Path], emulator: PolytomicEmulator
) -> None:
    env, logs_dir = airflow_processes
    db = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    airflow = str(Path(sys.executable).parent / "airflow")
    running = [{"status": "running", "polls": 3, "counts": {"insert": 10}}]
    sync = emulator.add_sync(
        id=SYNC,
        executions=[
            {"created_ago": 3600, "steps": [{"status": "completed", "counts": {"insert": 1}}]},  # before: never
            {"appear_after": 0, "steps": [*running, {"status": "completed", "counts": {"insert": 100, "error": 0}}]},
            {"appear_after": 6, "steps": [*running, {"status": "failed", "errors": ["warehouse unreachable"]}]},
            {"appear_after": 12, "steps": [*running, {"status": "completed", "counts": {"insert": 200, "error": 0}}]},
        ],
    )
    old, first, failed, second = (execution.id for execution in sync.executions)
    started = time.monotonic()

    def wait_for(what: str, check: Callable[[], object]) -> None:
        while time.monotonic() - started < DEADLINE:
            if check():
                return
            time.sleep(1)
        tails = {path.name: path.read_text(errors="replace")[-3000:] for path in logs_dir.glob("*.log")}
        pytest.fail(f"gave up waiting for {what} after {DEADLINE} s; process logs:\n{json.dumps(tails, indent=1)}")

    def runs() -> list[tuple[object, ...]]:
        return query(db, "select run_id, run_type, state from dag_run where dag_id=? order by id", DAG_ID)

    wait_for("the DAG to be parsed", lambda: db.exists() and query(db, "select 1 from dag where dag_id=?", DAG_ID))
    subprocess.run([airflow, "dags", "unpause", DAG_ID], env=env, check=True, capture_output=True)
    wait_for("two finished DAG runs", lambda: sum(state in ("success", "failed") for *_, state in runs()) >= 2)
    # Let the watcher poll on for a while: nothing else may fire.
    polled = len(emulator.requests_to(rf"/api/syncs/{SYNC}/executions"))
    wait_for("more polls", lambda: len(emulator.requests_to(rf"/api/syncs/{SYNC}/executions")) >= polled + 5)
    time.sleep(3)  # a scheduler loop or two

    assert [(run_type, state) for _, run_type, state in runs()] == [("asset_triggered", "success")] * 2, runs()
    # Each run's task returned the summaries it was given: one execution each, oldest first.
    returned = [
        _json(value)
        for (value,) in query(
            db,
            "select x.value from xcom x join dag_run r on r.id = x.dag_run_id "
            "where x.dag_id=? and x.task_id='refresh_marts' and x.key='return_value' order by r.id",
            DAG_ID,
        )
    ]
    assert [[summary["execution_id"] for summary in summaries] for summaries in returned] == [[first], [second]]
    assert [summaries[0]["counts"]["insert"] for summaries in returned] == [100, 200]
    assert {summaries[0]["outcome"] for summaries in returned} == {"succeeded"}

    events = [_json(extra) for (extra,) in query(db, "select extra from asset_event order by id")]
    assert [event["payload"]["execution_id"] for event in events] == [first, second]
    # Airflow 3.3: the watcher's ledger lives in the asset state store (it saw the failed run, and fired not).
    if query(db, "select name from sqlite_master where type='table' and name='asset_state_store'"):
        ((value,),) = query(db, "select value from asset_state_store where key like 'polytomic-sync-completion/%'")
        assert set(_json(value)["seen"]) == {first, failed, second}
        assert old not in _json(value)["seen"]

    agents = {request.headers.get("User-Agent", "") for request in emulator.requests_to(rf"/api/syncs/{SYNC}/.*")}
    assert agents and all(agent.endswith("(aiohttp)") for agent in agents), agents
    for path in logs_dir.glob("*.log"):
        assert API_KEY not in path.read_text(errors="replace"), path.name
