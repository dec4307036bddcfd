"""The wait's explicit contract with the tasks that build it: every watch option a DAG author sets is a
constructor parameter of every sensor and start operator, and reaches the wait; a task that forgets one fails
here, not in a DAG run."""

from __future__ import annotations

from dataclasses import MISSING, Field, fields
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicError, PolytomicExecutionGoneError, PolytomicSyncFailedError
from airflow_provider_polytomic.core.status import Outcome, Verdict
from airflow_provider_polytomic.core.watch import AUTHOR_OPTIONS, SyncWatch
from airflow_provider_polytomic.execution_wait import ExecutionWait, build_wait, deferral_failure, settle, time_limit
from airflow_provider_polytomic.operators.polytomic import PolytomicStartBulkSyncOperator, PolytomicStartSyncOperator
from airflow_provider_polytomic.sensors.polytomic import PolytomicBulkSyncStatusSensor, PolytomicSyncStatusSensor

SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"
TASKS = (
    PolytomicSyncStatusSensor,
    PolytomicBulkSyncStatusSensor,
    PolytomicStartSyncOperator,
    PolytomicStartBulkSyncOperator,
)


def not_the_default(option: Field[Any]) -> Any:
    """A value a DAG author might set that differs from the option's default."""
    assert option.default is not MISSING, f"watch option {option.name}: an author option needs a default"
    if isinstance(option.default, bool):
        return not option.default
    raise AssertionError(f"watch option {option.name}: say here which non-default value to test it with")


@pytest.mark.parametrize("task_class", TASKS, ids=lambda task_class: task_class.__name__)
def test_every_watch_option_an_author_sets_is_a_parameter_of_every_task_and_reaches_its_watch(
    task_class: type[Any],
) -> None:
    chosen = {option.name: not_the_default(option) for option in fields(SyncWatch) if option.name in AUTHOR_OPTIONS}
    assert chosen, "no author options: nothing to check"
    task = task_class(task_id="wait", sync_id=SYNC, **chosen)  # a missing parameter is a TypeError here
    waiting = task._wait_for({}) if "Sensor" in task_class.__name__ else task._wait_for()
    watch = waiting.watch(SYNC)
    assert {name: getattr(watch, name) for name in chosen} == chosen
    assert watch.kind is task_class.sync_kind


def test_a_wait_built_without_every_author_option_refuses_at_once() -> None:
    parts: dict[str, Any] = {"hook": None, "kind": SyncKind.MODEL, "limit": None, "names": None, "console": None}
    with pytest.raises(TypeError, match="fail_on_record_errors"):
        ExecutionWait(**parts, author_options={}, log=None)
    with pytest.raises(TypeError, match="only_full_syncs"):
        ExecutionWait(**parts, author_options={**dict.fromkeys(AUTHOR_OPTIONS, True), "only_full_syncs": 1}, log=None)


def test_the_time_limit_is_the_timeout_capped_by_the_execution_timeout() -> None:
    assert time_limit(None, None) is None
    assert time_limit(600, None) == 600.0
    assert time_limit(600, timedelta(minutes=5)) == 300.0
    assert time_limit(None, timedelta(minutes=5)) == 300.0


def test_the_sensors_and_start_operators_build_the_same_wait_from_their_own_parameters() -> None:
    sensor = PolytomicSyncStatusSensor(task_id="gate", sync_id=SYNC, timeout=120, mode="reschedule")
    operator = PolytomicStartSyncOperator(task_id="run", sync_id=SYNC, timeout=90, deferrable=True)
    assert sensor._wait_for({}).limit == 120.0 and operator._wait_for().limit == 90.0
    # A reschedule poke with no task state store to keep the name reads no definition until it concludes...
    assert not sensor._wait_for({}).names.fetch_while_waiting
    # ...while the check before a deferral reads it, for the trigger to carry on.
    assert operator._wait_for().names.fetch_while_waiting
    built = build_wait(
        hook=operator.hook,
        kind=SyncKind.BULK,
        sync_id=SYNC,
        resolved_name="orders",
        author_options=dict.fromkeys(AUTHOR_OPTIONS, False),
        limit=None,
        console_log="never",
        fetch_while_waiting=True,
        cursor_store=None,
        log=operator.log,
    )
    # A sync given by name is named without a definition request (no connection is needed here).
    assert "orders" in built.names.named(f"Polytomic sync {SYNC} ended.", fetch=False)
    assert built.kind is SyncKind.BULK and built.watch(SYNC).kind is SyncKind.BULK


def test_an_outcome_becomes_the_tasks_in_one_place() -> None:
    summary = {"sync_id": SYNC, "execution_id": "e", "status": "completed"}
    assert settle(Outcome(Verdict.SUCCEEDED, "done", SYNC, "e", summary)) == summary
    with pytest.raises(PolytomicSyncFailedError, match="broke"):
        settle(Outcome(Verdict.FAILED, "broke", SYNC, "e", summary))
    with pytest.raises(AirflowSensorTimeout, match="too long"):
        settle(Outcome(Verdict.TIMEOUT, "too long", SYNC))
    with pytest.raises(PolytomicExecutionGoneError):
        settle(Outcome(Verdict.ERROR, "deleted", SYNC, "e", gone=True))
    with pytest.raises(PolytomicError, match="401"):
        settle(Outcome(Verdict.ERROR, "HTTP 401", SYNC))


def test_a_deferral_airflow_failed_is_a_timeout_or_a_failure_naming_the_triggers_last_words() -> None:
    assert isinstance(deferral_failure(SYNC, {"error": "Trigger timeout"}), AirflowSensorTimeout)
    crashed = deferral_failure(SYNC, {"error": "Trigger failure", "traceback": ["Traceback", "  x\n", "Boom\n"]})
    assert type(crashed) is PolytomicError and str(crashed).endswith(": Boom")
    assert "see the task log" in str(deferral_failure(SYNC, None))
