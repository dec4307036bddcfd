"""The sensor's resume path: events from the trigger map to the same outcomes as poke mode."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

from airflow_provider_polytomic.core.errors import (
    PolytomicError,
    PolytomicExecutionGoneError,
    PolytomicSyncFailedError,
)
from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor

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
