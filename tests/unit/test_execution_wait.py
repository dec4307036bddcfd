"""What the sensors and start operators share: the options every watch takes from the task, the time limit,
the one place an outcome becomes the task's, a deferral that Airflow failed, and the link pushed first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout

from airflow_provider_polytomic.core.errors import (
    PolytomicError,
    PolytomicExecutionGoneError,
    PolytomicSyncFailedError,
)
from airflow_provider_polytomic.core.status import Outcome
from airflow_provider_polytomic.core.watch import AUTHOR_OPTIONS
from airflow_provider_polytomic.execution_wait import PolytomicExecutionWaitMixin
from airflow_provider_polytomic.links.polytomic import SYNC_URL_XCOM_KEY
from airflow_provider_polytomic.operators.polytomic import PolytomicStartBulkSyncOperator, PolytomicStartSyncOperator
from airflow_provider_polytomic.sensors.polytomic import PolytomicBulkSyncStatusSensor, PolytomicSyncStatusSensor

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
HOSTS: tuple[type[Any], ...] = (
    PolytomicSyncStatusSensor,
    PolytomicBulkSyncStatusSensor,
    PolytomicStartSyncOperator,
    PolytomicStartBulkSyncOperator,
)
SUMMARY = {"sync_id": SYNC, "execution_id": "e", "status": "completed"}


class TaskInstance:
    """The one call of Airflow's task instance the link uses."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.mark.parametrize("host", HOSTS, ids=lambda host: host.__name__)
def test_every_task_that_waits_has_every_option_a_watch_takes_from_it(host: type[Any]) -> None:
    """The watch reads AUTHOR_OPTIONS off the task by name: a task class without one would fail at run time."""
    task = host(task_id="t", sync_id=SYNC)
    assert issubclass(host, PolytomicExecutionWaitMixin)
    missing = [name for name in AUTHOR_OPTIONS if not hasattr(task, name)]
    assert missing == []
    assert task._sync_watch(SYNC).kind is task.sync_kind


@pytest.mark.parametrize(
    ("timeout", "execution_timeout", "limit"),
    [(None, None, None), (300, None, 300.0), (None, timedelta(minutes=2), 120.0), (300, timedelta(minutes=2), 120.0)],
)
def test_the_time_limit_is_timeout_capped_by_execution_timeout(
    timeout: float | None, execution_timeout: timedelta | None, limit: float | None
) -> None:
    task = PolytomicSyncStatusSensor(task_id="t", sync_id=SYNC, execution_timeout=execution_timeout)
    task.timeout = timeout  # type: ignore[assignment]
    assert task._time_limit() == limit


def test_an_outcome_becomes_the_tasks_in_one_place() -> None:
    settle = PolytomicExecutionWaitMixin._settle
    assert settle(Outcome("succeeded", "done", SYNC, "e", SUMMARY)) == SUMMARY
    with pytest.raises(PolytomicSyncFailedError, match="broke"):
        settle(Outcome("failed", "broke", SYNC, "e", SUMMARY))
    with pytest.raises(AirflowSensorTimeout, match="too long"):
        settle(Outcome("timeout", "too long", SYNC))
    with pytest.raises(PolytomicExecutionGoneError):
        settle(Outcome("error", "deleted", SYNC, "e", gone=True))
    with pytest.raises(PolytomicError, match="401"):
        settle(Outcome("error", "HTTP 401", SYNC))


def test_a_deferral_airflow_failed_is_a_timeout_or_a_failure_naming_the_triggers_last_words() -> None:
    task = PolytomicSyncStatusSensor(task_id="t", sync_id=SYNC)
    assert isinstance(task._deferral_failure(SYNC, {"error": "Trigger timeout"}), AirflowSensorTimeout)
    crashed = task._deferral_failure(SYNC, {"error": "Trigger failure", "traceback": ["Traceback", "  x\n", "Boom\n"]})
    assert type(crashed) is PolytomicError and str(crashed).endswith(": Boom")
    assert "see the task log" in str(task._deferral_failure(SYNC, None))


def test_the_link_is_pushed_first_whatever_the_sync_id(make_connection: Any) -> None:
    conn_id = make_connection()
    for sync_id, expected in ((SYNC, f"/syncs/{SYNC}"), ("{{ not rendered }}", "")):
        ti = TaskInstance()
        PolytomicSyncStatusSensor(task_id="t", sync_id=sync_id, polytomic_conn_id=conn_id)._push_sync_url(
            {"ti": ti}, sync_id
        )
        assert ti.pushed[SYNC_URL_XCOM_KEY].startswith("http://127.0.0.1")
        assert ti.pushed[SYNC_URL_XCOM_KEY].endswith(expected)
    ti = TaskInstance()
    PolytomicSyncStatusSensor(task_id="t", sync_id=SYNC, polytomic_conn_id="missing")._push_sync_url({"ti": ti}, SYNC)
    assert ti.pushed == {SYNC_URL_XCOM_KEY: ""}  # an unusable connection: no link rather than a wrong one
