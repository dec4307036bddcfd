"""The execution a sensor follows, in Airflow 3.3's task state store: kept while the wait goes on, gone when it ends.

Whole DAG runs (``dag.test()``, and a user's clear through Airflow's own ``clear_task_instances``) in poke,
reschedule and deferrable mode against the emulator; the store is Airflow's own (the metadata database).
The rule is :mod:`airflow_provider_polytomic.followed_execution`'s docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_polytomic.followed_execution import FOLLOWED_KEY
from airflow_provider_polytomic.testing import EmulatedSync, PolytomicEmulator
from tests.airflow_features import TASK_STATE_STORE
from tests.dag_runs import Run, clear_and_rerun, keep_task_state, task_state
from tests.dags.sensor_test_dags import MODES, dag_id

pytestmark = pytest.mark.skipif(not TASK_STATE_STORE, reason="needs the task state store (Airflow 3.3+)")

TASK = "wait_for_sync"
RUNNING = {"status": "running", "polls": 2, "counts": {"insert": 5, "total": 5}}
COMPLETED = {"status": "completed", "counts": {"insert": 10, "update": 2, "error": 0, "total": 12}}
FOREVER = {"status": "running", "polls": 10_000}


@pytest.fixture
def run_sensor(dagbag: Any, run_test_dag: Callable[..., Run]) -> Callable[..., tuple[Run, Any]]:
    """Run a sensor DAG on ``sync``; the run and what it left under the key."""

    def run(mode: str, sync: EmulatedSync, **options: Any) -> tuple[Run, Any]:
        dag = dag_id(mode, **options)
        result = run_test_dag(dag, {"sync_id": sync.id, "execution_id": "", "completed_after": ""}, TASK)
        return result, task_state(dag, result, TASK, FOLLOWED_KEY)

    return run


def by_id(sync: EmulatedSync, execution: int) -> str:
    """The path of a read of one of ``sync``'s executions (a fault's ``path``)."""
    return f"/api/syncs/{sync.id}/executions/{sync.executions[execution].id}"


# -- every ending of the wait, in every mode ------------------------------------------------------------------

ENDINGS = {
    # ending: (steps, DAG options, the task's state)
    "succeeded": ([RUNNING, COMPLETED], {}, "success"),
    "failed": ([RUNNING, {"status": "failed", "errors": ["boom"]}], {}, "failed"),
    "timed out": ([FOREVER], {"short": True}, "failed"),
    "skipped (soft_fail, timed out)": ([FOREVER], {"short": True, "soft_fail": True}, "skipped"),
    "skipped (soft_fail, failed)": ([RUNNING, {"status": "failed"}], {"soft_fail": True}, "skipped"),
}


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("mode", MODES)
def test_the_wait_leaves_no_key_however_it_ends(
    mode: str, ending: str, run_sensor: Callable[..., tuple[Run, Any]], emulator: PolytomicEmulator
) -> None:
    steps, options, state = ENDINGS[ending]
    sync = emulator.add_sync(executions=[{"steps": steps}])
    run, kept = run_sensor(mode, sync, **options)
    assert (run.task_state, run.tries) == (state, 1)
    assert kept is None


# -- a try that ends with a retry to come keeps the run; the last try forgets it -------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_retry_after_an_api_error_follows_the_same_run(
    mode: str, run_sensor: Callable[..., tuple[Run, Any]], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(
        executions=[
            {"steps": [{"status": "running", "polls": 4}, COMPLETED]},
            # A newer run starts while the first try fails: a retry that looked afresh would follow it (and fail).
            {"appear_after": 1, "steps": [{"status": "running", "polls": 3}, {"status": "failed"}]},
        ]
    )
    emulator.add_fault("status", path=by_id(sync, 0), status=401, requests=[1])  # the first try ends on it
    run, kept = run_sensor(mode, sync)
    assert (run.task_state, run.tries) == ("success", 2)
    assert run.summary["execution_id"] == sync.executions[0].id
    assert "as an earlier try or poke of this task did" in run.log
    assert kept is None


@pytest.mark.parametrize("mode", MODES)
def test_the_last_try_forgets_the_run(
    mode: str, run_sensor: Callable[..., tuple[Run, Any]], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(executions=[{"steps": [FOREVER]}])
    emulator.add_fault("status", path=by_id(sync, 0), status=401)  # every try ends on it; one retry
    run, kept = run_sensor(mode, sync)
    assert (run.task_state, run.tries) == ("failed", 2)
    assert "as an earlier try or poke of this task did" in run.log  # the retry followed it, then forgot it
    assert kept is None


# -- the followed run deleted -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_deleted_run_fails_the_try_saying_so_and_the_retry_looks_afresh(
    mode: str, run_sensor: Callable[..., tuple[Run, Any]], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(
        executions=[
            {"steps": [FOREVER]},  # followed, then deleted in the Polytomic app
            {"appear_after": 1, "steps": [RUNNING, COMPLETED]},  # the sync's current run by the retry
        ]
    )
    deleted = sync.executions[0].id
    emulator.add_fault("status", path=by_id(sync, 0), status=404)
    run, kept = run_sensor(mode, sync)
    assert (run.task_state, run.tries) == ("success", 2)
    assert run.summary["execution_id"] == sync.executions[1].id
    assert (
        f"execution {deleted}, which this task was following, no longer exists" in run.log
        and "the next try of this task will look afresh" in run.log
    )
    retry = run.log.split("no longer exists", 1)[1]
    assert f"execution {deleted}, as an earlier try or poke" not in retry
    assert kept is None


# -- a user's clear -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_cleared_task_looks_afresh(
    mode: str,
    dagbag: Any,
    run_sensor: Callable[..., tuple[Run, Any]],
    emulator: PolytomicEmulator,
    logs: Callable[[], str],
) -> None:
    sync = emulator.add_sync(
        executions=[
            {"created_ago": 7200, "steps": [{"status": "failed", "errors": ["old"]}]},
            {"created_ago": 60, "steps": [COMPLETED]},  # the sync's last run: what a fresh look judges
        ]
    )
    stale, last = sync.executions[0].id, sync.executions[1].id
    first, _ = run_sensor(mode, sync)
    assert first.summary["execution_id"] == last
    # What a try that could not clean up leaves (killed on its last try, or marked failed while deferred): the
    # run it followed, in the same form the sensor writes it.
    keep_task_state(
        dag_id(mode), first, TASK, FOLLOWED_KEY, {"sync_id": sync.id, "execution_id": stale, "try_number": 1}
    )
    again = clear_and_rerun(dagbag.dags[dag_id(mode)], first, TASK, logs)
    assert (again.task_state, again.tries) == ("success", 2)
    assert again.summary["execution_id"] == last
    assert "the one kept in the task state store is from an earlier wait of this task" in again.log
    assert task_state(dag_id(mode), again, TASK, FOLLOWED_KEY) is None
