"""The sensor's resume path: events from the trigger map to the same outcomes as poke mode."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

from airflow_provider_polytomic.core.errors import (
    PolytomicError,
    PolytomicExecutionGoneError,
    PolytomicSyncFailedError,
)
from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor
from airflow_provider_polytomic.testing import PolytomicEmulator

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
RUN = "5b0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"
SUMMARY = {"sync_id": SYNC, "execution_id": "e", "status": "completed", "counts": {}, "errors": []}


def sensor(**kwargs: Any) -> PolytomicSyncStatusSensor:
    return PolytomicSyncStatusSensor(task_id="wait", sync_id=SYNC, **kwargs)


def event(verdict: str, summary: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"verdict": verdict, "message": f"sync {verdict}", "sync_id": SYNC, "execution_id": "e", "summary": summary}


def test_success_returns_the_summary() -> None:
    # No connection here: the sync's name cannot be read (one warning), and the summary says so.
    expected = {**SUMMARY, "sync_name": None}
    assert sensor().resume_execution("execute_complete", {"event": event("succeeded", SUMMARY)}, {}) == expected


@pytest.mark.parametrize("soft_fail", [False, True])
def test_failure_and_timeout_fail_or_skip(soft_fail: bool) -> None:
    expected_fail: type[Exception] = AirflowSkipException if soft_fail else PolytomicSyncFailedError
    expected_timeout: type[Exception] = AirflowSkipException if soft_fail else AirflowSensorTimeout
    with pytest.raises(expected_fail):
        sensor(soft_fail=soft_fail).resume_execution("execute_complete", {"event": event("failed", SUMMARY)}, {})
    with pytest.raises(expected_timeout):
        sensor(soft_fail=soft_fail).resume_execution("execute_complete", {"event": event("timeout")}, {})
    for airflow_words in ("Trigger/execution timeout", "Trigger timeout"):
        with pytest.raises(expected_timeout):
            sensor(soft_fail=soft_fail).resume_execution("__fail__", {"error": airflow_words}, {})


@pytest.mark.parametrize("bad", [None, {}, {"verdict": "maybe"}, event("succeeded", None)])
def test_unknown_or_broken_events_fail_even_under_soft_fail(bad: Any) -> None:
    with pytest.raises(PolytomicError):
        sensor(soft_fail=True).resume_execution("execute_complete", {"event": bad}, {})


def test_api_errors_are_not_skipped_by_soft_fail() -> None:
    with pytest.raises(PolytomicError, match="HTTP 401"):
        sensor(soft_fail=True).resume_execution(
            "execute_complete", {"event": {**event("error"), "message": "HTTP 401"}}, {}
        )


def test_ids_are_templated() -> None:
    assert {"sync_id", "execution_id", "completed_after"} <= set(PolytomicSyncStatusSensor.template_fields)


def test_the_trigger_is_told_when_the_wait_began() -> None:
    """So a restarted trigger's "waited" counts from the deferral (the start operators defer the same way)."""
    import time

    from airflow_provider_polytomic.core.watch import SyncWatch

    before = time.time()
    waiting = sensor()._wait_for({})  # type: ignore[arg-type]  # no task state store
    deferral = waiting.defer_args(
        SyncWatch(sync_id=SYNC), conn_id="polytomic_default", poll_interval=60, deadline=None, timeout=None
    )
    trigger = deferral["trigger"]
    _, kwargs = trigger.serialize()
    assert before <= kwargs["waiting_since"] <= time.time()
    assert kwargs["watch"] == {"sync_id": SYNC}  # no option the task left at its default, no unknown name


class TaskInstanceStandIn:
    """What the sensor asks of Airflow's task instance before it defers: somewhere to push the link's URL."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@pytest.mark.parametrize("offset", [120.0, -120.0], ids=["polytomic-ahead", "polytomic-behind"])
def test_a_restarted_trigger_with_no_execution_yet_finds_the_run_whatever_polytomics_clock_says(
    offset: float, make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    """The sensor defers before any run exists; the triggerer restarts; meanwhile a run starts and ends. Before,
    with Polytomic 2 minutes behind, the trigger's anchor (the worker's clock) came after that run on Polytomic's
    clock: "ended before the anchor", dropped, and the trigger waited until its deadline."""
    from airflow.providers.common.compat.sdk import TaskDeferred

    emulator.clock_offset = offset
    sync = emulator.add_sync(
        executions=[{"appear_after": 1, "steps": [{"status": "running", "polls": 1}, {"status": "completed"}]}]
    )
    waiting = PolytomicSyncStatusSensor(
        task_id="wait", sync_id=sync.id, polytomic_conn_id=make_connection(), deferrable=True, poke_interval=0.05
    )
    waiting.timeout = 3  # the trigger's deadline: before, it was reached
    with pytest.raises(TaskDeferred) as deferred:
        waiting.execute({"ti": TaskInstanceStandIn()})  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    classpath, kwargs = trigger.serialize()
    assert kwargs["watch"]["anchor"] and not kwargs["watch"].get("execution_id")
    with emulator.lock:  # the triggerer is down; the run starts and ends
        sync.reads += 5
        sync.visible()
    assert sync.status_of(sync.executions[0]).status == "completed"
    module, _, name = classpath.rpartition(".")
    restarted = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    event = asyncio.run(restarted.wait())
    assert event["verdict"] == "succeeded", event
    assert event["execution_id"] == sync.executions[0].id


@pytest.mark.parametrize("soft_fail", [False, True])
def test_a_trigger_the_triggerer_could_not_build_fails_the_task_naming_why(soft_fail: bool) -> None:
    # What Airflow sends when a trigger's constructor raised TypeError (a row without the version mark): the
    # reason is the traceback's last line, which otherwise only the triggerer's own log would show.
    import traceback

    from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger

    try:
        PolytomicSyncStatusTrigger(sync_id=SYNC, kind="cdc")
    except TypeError as error:
        lines = traceback.format_exception(type(error), error, error.__traceback__)
    with pytest.raises(PolytomicError, match=r"failed \(Trigger failure\): .*kind must be 'model' or 'bulk'"):
        sensor(soft_fail=soft_fail).resume_execution("__fail__", {"error": "Trigger failure", "traceback": lines}, {})
    with pytest.raises(PolytomicError, match="see the task log"):  # no traceback: as before
        sensor(soft_fail=soft_fail).resume_execution("__fail__", {"error": "Trigger failure"}, {})


def test_the_followed_run_gone_fails_saying_the_next_try_looks_afresh_unless_the_author_named_it() -> None:
    gone = {**event("error"), "execution_id": RUN, "message": "Polytomic answered GET ... with HTTP 404", "gone": True}
    with pytest.raises(PolytomicExecutionGoneError) as raised:
        sensor(soft_fail=True).resume_execution("execute_complete", {"event": gone}, {})
    assert f"execution {RUN}, which this task was following, no longer exists" in str(raised.value)
    assert "the next try of this task will look afresh" in str(raised.value)
    assert "HTTP 404" in str(raised.value)
    # The DAG names the execution: no other to look for, so the message is Polytomic's alone.
    with pytest.raises(PolytomicExecutionGoneError) as raised:
        sensor(execution_id=RUN).resume_execution("execute_complete", {"event": gone}, {})
    assert "look afresh" not in str(raised.value)
