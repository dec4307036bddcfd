"""The asset watcher without an asset state store (Airflow 3.0-3.2), with real Airflow processes.

The module docstring of ``triggers/polytomic_events.py`` promises, for that path: the watcher starts from a
watermark (the moment it starts), so a triggerer restart or a paused-then-unpaused DAG fires no execution twice,
and an execution that finished while the triggerer was down, or while the DAG was paused, does not fire.

Scheduler, dag-processor, triggerer and api-server run as processes with ``example_dags`` as the DAGs folder; the
emulated sync's executions start and finish when the test says (``tests/emulator_script.py``). Runs only on an
Airflow that really lacks the state store: on one that has it, ``tests/integration/test_process_faults.py``
covers the ledger.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_polytomic.testing import EmulatedExecution, EmulatedSync, PolytomicEmulator
from tests import emulator_script as script
from tests.airflow_features import ASSET_STATE_STORE, ASSET_WATCHERS
from tests.airflow_processes import AirflowDeployment, airflow_deployment
from tests.conftest import API_KEY

pytestmark = pytest.mark.skipif(
    not ASSET_WATCHERS or ASSET_STATE_STORE,
    reason="the watermark-only path: needs asset watchers without an asset state store (Airflow 3.0-3.2)",
)

DAG_ID = "example_polytomic_asset_watcher"
SYNC = "3b7e1f0a-5c2d-4e8f-9a6b-1d0c2e3f4a5b"
STARTUP = 150  # seconds: the deployment up, the DAG parsed
PHASE = 90  # seconds any one step may take
NO_STORE = "no asset state store"


def watcher(airflow: AirflowDeployment) -> tuple[object, object] | None:
    """The watcher's trigger row (id, triggerer) while one exists."""
    rows = airflow.query("select id, triggerer_id from trigger where classpath like '%PolytomicSyncCompletionTrigger'")
    return (rows[0][0], rows[0][1]) if rows else None


def events(airflow: AirflowDeployment) -> list[str]:
    rows = airflow.query("select extra from asset_event order by id")
    return [_json(extra)["payload"]["execution_id"] for (extra,) in rows]


def fired_runs(airflow: AirflowDeployment) -> list[str]:
    """The executions each finished DAG run was given, in run order."""
    values = airflow.query(
        "select x.value from xcom x where x.dag_id=? and x.task_id='refresh_marts' and x.key='return_value' "
        "order by x.dag_run_id",
        DAG_ID,
    )
    return [summary["execution_id"] for (value,) in values for summary in _json(value)]


def polls_of(emulator: PolytomicEmulator) -> int:
    return len(emulator.requests_to(rf"/api/syncs/{SYNC}/executions"))


def polls_stopped(emulator: PolytomicEmulator, quiet: float = 3.0) -> bool:
    """No poll for ``quiet`` seconds (the watcher polls every second)."""
    before = polls_of(emulator)
    time.sleep(quiet)
    return polls_of(emulator) == before


def watching_lines(airflow: AirflowDeployment) -> list[str]:
    text = "".join(path.read_text(errors="replace") for path in airflow.logs_dir.glob("triggerer*.log"))
    # The line each watcher start logs (not "Watching Polytomic sync ... again in", after an error).
    return [line for line in text.splitlines() if f"Watching Polytomic sync {SYNC} (connection" in line]


def test_restart_and_pause_fire_nothing_twice_and_not_what_finished_meanwhile(
    tmp_path: Path, emulator: PolytomicEmulator
) -> None:
    # One execution finished an hour ago: before any watcher, so it never fires.
    sync = script.add_sync(emulator, SYNC, executions=[{"created_ago": 3600, "steps": [{"status": "completed"}]}])
    env = {
        "POLYTOMIC_EXAMPLE_SYNC_ID": SYNC,
        # A watcher is (un)registered when the file is parsed after its DAG was (un)paused.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3",
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
    }
    with airflow_deployment(tmp_path, emulator, env, sqlite_wal=True) as airflow:
        check_the_watermark_only_path(airflow, emulator, sync)


def check_the_watermark_only_path(airflow: AirflowDeployment, emulator: PolytomicEmulator, sync: EmulatedSync) -> None:
    def wait(what: str, check: Callable[[], object], timeout: float = PHASE) -> None:
        airflow.wait_for(what, check, timeout)

    def watched_from_now(what: str, starts: int) -> None:
        """Wait for watcher start number ``starts`` to poll once: its watermark is set before that poll."""
        wait(f"the watcher to start ({what})", lambda: len(watching_lines(airflow)) >= starts)
        polled = polls_of(emulator)
        wait(f"the watcher to poll ({what})", lambda: polls_of(emulator) > polled)

    def finish_one(inserted: int) -> EmulatedExecution:
        execution = script.begin(emulator, sync, inserted)
        script.end(emulator, sync, execution)
        return execution

    wait(
        "the DAG to be parsed",
        lambda: airflow.db.exists() and airflow.query("select 1 from dag where dag_id=?", DAG_ID),
        STARTUP,
    )
    airflow.airflow("dags", "unpause", DAG_ID)
    watched_from_now("unpaused", 1)

    first = finish_one(1)
    wait("the first execution's DAG run", lambda: fired_runs(airflow) == [first.id])

    # The triggerer dies; an execution finishes while nobody watches; another triggerer takes the watcher over.
    before_kill = watcher(airflow)
    airflow.kill("triggerer")
    missed_while_down = finish_one(2)
    airflow.start("triggerer-2", ["triggerer"])
    wait("the new triggerer to take the watcher", lambda: (w := watcher(airflow)) is not None and w != before_kill)
    watched_from_now("after the restart", 2)
    after_restart = finish_one(3)
    wait("the DAG run after the restart", lambda: after_restart.id in fired_runs(airflow))

    # The DAG is paused: its watcher is removed; an execution finishes meanwhile; the DAG is unpaused.
    airflow.airflow("dags", "pause", DAG_ID)
    wait("the watcher to be removed", lambda: watcher(airflow) is None)
    wait("the watcher to stop polling", lambda: polls_stopped(emulator))
    missed_while_paused = finish_one(4)
    airflow.airflow("dags", "unpause", DAG_ID)
    wait("the watcher to come back", lambda: watcher(airflow) is not None)
    watched_from_now("after the unpause", 3)
    after_unpause = finish_one(5)
    wait("the DAG run after the unpause", lambda: after_unpause.id in fired_runs(airflow))

    # Let it poll on: nothing else may fire.
    polled = polls_of(emulator)
    wait("more polls", lambda: polls_of(emulator) >= polled + 5)
    time.sleep(3)  # a scheduler loop or two

    fired = [first.id, after_restart.id, after_unpause.id]
    assert events(airflow) == fired
    assert fired_runs(airflow) == fired
    runs = airflow.query("select run_type, state from dag_run where dag_id=?", DAG_ID)
    assert runs == [("asset_triggered", "success")] * 3, runs
    assert missed_while_down.id not in events(airflow) and missed_while_paused.id not in events(airflow)
    # The path under test: each of the three watcher starts said it had no state store.
    starts = watching_lines(airflow)
    assert len(starts) == 3 and all(NO_STORE in line for line in starts), starts
    if airflow.query("select name from sqlite_master where type='table' and name='asset_state_store'"):
        pytest.fail("this Airflow has an asset state store table: the skip condition is wrong")
    for path in airflow.logs_dir.glob("*.log"):
        assert API_KEY not in path.read_text(errors="replace"), path.name


def _json(value: object) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value
