"""Which kept execution a sensor follows, and which endings of a try end its wait (pure decisions, no store)."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

from airflow_provider_polytomic.core.errors import (
    PolytomicAuthError,
    PolytomicExecutionGoneError,
    PolytomicSyncFailedError,
    RequestContext,
)
from airflow_provider_polytomic.followed_execution import followed_in_this_wait, wait_over
from tests.airflow_features import TASK_STATE_STORE

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
RUN = "5b0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"


def kept(try_number: object, sync_id: str = SYNC) -> dict[str, object]:
    return {"sync_id": sync_id, "execution_id": RUN, "try_number": try_number}


def test_only_a_key_written_since_the_last_clear_is_followed() -> None:
    # This wait began at try 3 (say, cleared after two tries): keys of tries 3 and later are its own.
    assert followed_in_this_wait(kept(3), SYNC, first_try=3) == RUN
    assert followed_in_this_wait(kept(4), SYNC, first_try=3) == RUN
    assert followed_in_this_wait(kept(2), SYNC, first_try=3) is None  # before the clear
    # Another sync (the DAG was edited), no try (a provider from before this rule), or junk: look afresh.
    assert followed_in_this_wait(kept(3, sync_id="other"), SYNC, first_try=3) is None
    for bad in (None, True, "3", 3.0):
        assert followed_in_this_wait(kept(bad), SYNC, first_try=1) is None
    assert followed_in_this_wait({"sync_id": SYNC, "execution_id": RUN}, SYNC, first_try=1) is None
    assert followed_in_this_wait([SYNC, RUN], SYNC, first_try=1) is None


def test_a_verdict_a_timeout_a_skip_or_a_deleted_run_end_the_wait_on_any_try() -> None:
    final = [
        PolytomicSyncFailedError("failed", summary={}),
        AirflowFailException("never works"),
        AirflowSensorTimeout("timed out"),
        AirflowSkipException("soft_fail"),
        PolytomicExecutionGoneError("gone", sync_id=SYNC, execution_id=RUN),
    ]
    for error in final:
        assert wait_over(error, retry_follows=True), error


@pytest.mark.skipif(not TASK_STATE_STORE, reason="asked only where a task state store exists (Airflow 3.3+)")
def test_another_error_ends_the_wait_only_on_the_last_try_and_a_stopped_try_never_does() -> None:
    from airflow.sdk.exceptions import AirflowRescheduleException, AirflowTaskTerminated, TaskDeferred

    api_error = PolytomicAuthError("HTTP 401", context=RequestContext("polytomic_default", "GET", "/api/x"))
    assert not wait_over(api_error, retry_follows=True)  # the retry continues on the same run
    assert wait_over(api_error, retry_follows=False)  # nothing continues: leave nothing behind
    from datetime import datetime, timezone

    for goes_on in (
        AirflowRescheduleException(datetime.now(timezone.utc)),
        TaskDeferred(trigger=None, method_name="execute_complete"),  # type: ignore[arg-type]
        AirflowTaskTerminated("killed"),
        KeyboardInterrupt(),
    ):
        assert not wait_over(goes_on, retry_follows=False), goes_on
