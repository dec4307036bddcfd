"""PolytomicStartSyncOperator against the emulator: whole DAG runs with ``dag.test()``, plus kill → cancel."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout

from airflow_provider_polytomic.core.errors import PolytomicSyncFailedError
from airflow_provider_polytomic.core.watch import SyncWatch
from airflow_provider_polytomic.operators.polytomic import PolytomicStartSyncOperator
from airflow_provider_polytomic.testing import EmulatedSync, PolytomicEmulator
from tests.dag_runs import Run

TASK = "run_sync"
QUICK_RUN = [
    {"status": "queued", "polls": 1},
    {"status": "running", "polls": 2, "counts": {"insert": 3}},
    {"status": "completed", "counts": {"insert": 7, "error": 0, "total": 7}},
]
FOREVER = [{"status": "running", "polls": 100_000}]


@pytest.fixture
def run_dag(run_test_dag: Callable[..., Run]) -> Callable[[str, EmulatedSync], Run]:
    return lambda dag_id, sync: run_test_dag(dag_id, {"sync_id": sync.id}, TASK)


def starts(emulator: PolytomicEmulator, sync: EmulatedSync) -> list[Any]:
    return emulator.requests_to(rf"/api/syncs/{sync.id}/executions", method="POST")


def cancels(emulator: PolytomicEmulator, sync: EmulatedSync) -> list[Any]:
    return emulator.requests_to(rf"/api/syncs/{sync.id}/executions/[^/]+/cancel", method="POST")


@pytest.mark.parametrize("dag_id", ["start_poke", "start_deferrable"])
def test_starts_one_run_and_waits_for_it(
    dag_id: str, run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(run_steps=QUICK_RUN)
    run = run_dag(dag_id, sync)
    assert run.task_state == "success"
    (execution,) = sync.executions
    assert run.xcom["execution_id"] == execution.id  # pushed before waiting
    assert run.summary["execution_id"] == execution.id
    assert run.summary["status"] == "completed" and run.summary["counts"]["insert"] == 7
    (start,) = starts(emulator, sync)
    assert start.body == {"identities": None, "resync": False, "test": False}
    assert start.headers["Idempotency-Key"].startswith("airflow-")
    assert cancels(emulator, sync) == []


def test_without_waiting_it_returns_right_after_the_start(
    run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(run_steps=FOREVER)
    run = run_dag("start_nowait", sync)
    assert run.task_state == "success"
    assert run.summary["execution_id"] == sync.executions[0].id
    assert len(emulator.requests) == 1  # the start, nothing else


def test_a_retry_after_a_crash_gets_the_same_run_back(
    run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(run_steps=QUICK_RUN)
    # The first try dies mid-wait (a non-retryable answer stands in for a lost worker); the task retries.
    emulator.add_fault("status", path=rf"/api/syncs/{sync.id}/executions/.+", status=403, requests=[1])
    run = run_dag("start_poke", sync)
    assert (run.task_state, run.tries) == ("success", 2)
    assert len(sync.executions) == 1  # no second run
    first, second = starts(emulator, sync)
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


def test_attaches_to_a_run_already_going_and_does_not_cancel_it(
    run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(
        executions=[{"type": "schedule", "steps": [{"status": "running", "polls": 3}, {"status": "completed"}]}]
    )
    run = run_dag("start_poke", sync)
    assert run.task_state == "success"
    assert run.summary["execution_id"] == sync.executions[0].id
    assert [request.status for request in starts(emulator, sync)] == [409]
    assert "already running" in run.log


def test_if_running_fail_fails_clearly(
    run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(executions=[{"steps": FOREVER}])
    run = run_dag("start_fail_if_running", sync)
    assert run.task_state == "failed"
    assert "HTTP 409" in run.log and sync.id in run.log
    assert len(sync.executions) == 1


@pytest.mark.parametrize("dag_id", ["start_short_poke", "start_short_deferrable"])
def test_a_timeout_cancels_the_run_it_started(
    dag_id: str, run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(run_steps=FOREVER)
    run = run_dag(dag_id, sync)
    assert (run.task_state, run.tries) == ("failed", 1)  # a timeout is final: a retry would re-attach
    (cancel,) = cancels(emulator, sync)
    assert cancel.path.endswith(f"/executions/{sync.executions[0].id}/cancel")
    assert "Canceled Polytomic sync" in run.log


class _TaskInstance:
    dag_id, run_id, task_id, map_index = "dag", "manual__1", "run_sync", -1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def test_killing_the_task_cancels_the_run_it_started(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(run_steps=FOREVER)
    operator = PolytomicStartSyncOperator(
        task_id="run_sync", sync_id=sync.id, polytomic_conn_id=make_connection(), poll_interval=0.05
    )
    # execute()'s own steps (Airflow 2 refuses a bare execute() outside a task instance): start, then wait.
    execution = operator._start({"ti": _TaskInstance()}, sync.id)  # type: ignore[arg-type]
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            operator._wait_for().wait(SyncWatch(sync.id, execution_id=execution.id), operator.poll_interval)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=wait, daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while len(emulator.requests) < 3 and time.monotonic() < deadline:  # started, and polling
        time.sleep(0.01)
    operator.on_kill()
    worker.join(timeout=10)
    (cancel,) = cancels(emulator, sync)
    assert cancel.path.endswith(f"/executions/{execution.id}/cancel")
    # The run then ends 'canceled', which the waiting loop reports as a failed sync.
    assert len(outcome) == 1 and isinstance(outcome[0], PolytomicSyncFailedError)
    assert "canceled" in str(outcome[0])


def test_killing_a_task_that_attached_to_someone_elses_run_cancels_nothing(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(executions=[{"type": "schedule", "steps": FOREVER}])
    operator = PolytomicStartSyncOperator(task_id="run_sync", sync_id=sync.id, polytomic_conn_id=make_connection())
    execution = operator._start({"ti": _TaskInstance()}, sync.id)  # type: ignore[arg-type]
    assert execution.id == sync.executions[0].id
    operator.on_kill()
    assert cancels(emulator, sync) == []


def test_the_wait_in_the_worker_backs_off_while_polytomic_fails_and_its_timeout_says_so(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(run_steps=FOREVER)
    operator = PolytomicStartSyncOperator(
        task_id="run_sync", sync_id=sync.id, polytomic_conn_id=make_connection(), poll_interval=0.2, timeout=2.5
    )
    execution = operator._start({"ti": _TaskInstance()}, sync.id)  # type: ignore[arg-type]
    emulator.add_fault("status", path=rf"/api/syncs/{sync.id}/executions/.+", status=503)
    with pytest.raises(AirflowSensorTimeout) as raised:
        operator._wait_for().wait(SyncWatch(sync.id, execution_id=execution.id), operator.poll_interval)
    # The poll policy's pauses (0.4, 0.8, 1.6 s...), not one every 0.2 s (about 12 polls in 2.5 s).
    failed = int(re.search(r"the last (\d+) poll\(s\) in a row failed", str(raised.value)).group(1))  # type: ignore[union-attr]
    assert 2 <= failed <= 5, str(raised.value)
    assert f"Timed out waiting for Polytomic sync {sync.id} (time limit 2 s)." in str(raised.value)
    assert "HTTP 503" in str(raised.value)
