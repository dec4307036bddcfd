"""The start operators: what they refuse when the DAG is parsed, the bulk start's options taken from the task,
and the start itself against the emulator (a new run, a run already going: attach or fail, cancel)."""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest

from airflow_provider_polytomic.core.bulk_start import BulkStartOptions
from airflow_provider_polytomic.core.errors import PolytomicConflictError
from airflow_provider_polytomic.operators.polytomic import (
    STARTED_XCOM_KEY,
    PolytomicStartBulkSyncOperator,
    PolytomicStartSyncOperator,
)
from airflow_provider_polytomic.testing import PolytomicEmulator

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"


class TaskInstance:
    """What the start reads of Airflow's task instance (its identity) and writes to it (XCom)."""

    dag_id, run_id, task_id, map_index = "dag", "manual__2026-01-01T00:00:00+00:00", "start", -1

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def test_if_running_must_be_attach_or_fail() -> None:
    with pytest.raises(ValueError, match="if_running must be one of"):
        PolytomicStartSyncOperator(task_id="start", sync_id=SYNC, if_running="wait")


def test_a_bulk_test_run_that_resyncs_is_refused_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match=r"^load: A bulk sync start cannot be both a test run and a resync"):
        PolytomicStartBulkSyncOperator(task_id="load", sync_id=SYNC, resync_mode="rebuild", test=True)


def test_the_bulk_operator_takes_every_bulk_start_option_and_passes_them_as_rendered() -> None:
    """A new option in BulkStartOptions without an operator parameter fails here, not in a DAG run."""
    parameters = inspect.signature(PolytomicStartBulkSyncOperator.__init__).parameters
    assert set(typing.get_type_hints(BulkStartOptions)) <= set(parameters)
    task = PolytomicStartBulkSyncOperator(task_id="load", sync_id=SYNC, fetch_mode="full", schemas="{{ params.s }}")
    task.schemas = ["public.users"]  # as Airflow renders the template
    assert task._options() == {"fetch_mode": "full", "resync_mode": None, "schemas": ["public.users"], "test": False}


def test_a_start_records_the_run_it_started(emulator: PolytomicEmulator, make_connection: Any) -> None:
    emulator.add_sync(id=SYNC)
    task = PolytomicStartSyncOperator(task_id="start", sync_id=SYNC, polytomic_conn_id=make_connection())
    ti = TaskInstance()
    execution = task._start({"ti": ti}, SYNC)  # type: ignore[arg-type]
    assert task._started == execution.id == ti.pushed[STARTED_XCOM_KEY]
    (request,) = emulator.requests_to(rf"/api/syncs/{SYNC}/executions", "POST")
    assert request.headers["Idempotency-Key"].startswith("airflow-")


@pytest.mark.parametrize("if_running", ["attach", "fail"])
def test_a_run_already_going_is_attached_to_and_never_ours_to_cancel_or_fails(
    emulator: PolytomicEmulator, make_connection: Any, if_running: str
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 10_000}]}])
    task = PolytomicStartSyncOperator(
        task_id="start", sync_id=SYNC, polytomic_conn_id=make_connection(), if_running=if_running
    )
    ti = TaskInstance()
    if if_running == "fail":
        with pytest.raises(PolytomicConflictError):
            task._start({"ti": ti}, SYNC)  # type: ignore[arg-type]
        return
    execution = task._start({"ti": ti}, SYNC)  # type: ignore[arg-type]
    assert execution.status == "running" and task._started is None and STARTED_XCOM_KEY not in ti.pushed
    task.on_kill()  # attached, not started: nothing is canceled
    assert emulator.requests_to(rf"/api/syncs/{SYNC}/executions/.*/cancel", "POST") == []


def test_a_killed_task_cancels_the_run_it_started(emulator: PolytomicEmulator, make_connection: Any) -> None:
    emulator.add_sync(id=SYNC)
    task = PolytomicStartSyncOperator(task_id="start", sync_id=SYNC, polytomic_conn_id=make_connection())
    execution = task._start({"ti": TaskInstance()}, SYNC)  # type: ignore[arg-type]
    task.on_kill()
    assert [r.path for r in emulator.requests_to(rf"/api/syncs/{SYNC}/executions/.*/cancel", "POST")] == [
        f"/api/syncs/{SYNC}/executions/{execution.id}/cancel"
    ]
