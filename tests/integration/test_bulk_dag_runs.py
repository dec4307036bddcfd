"""Bulk (ELT) syncs: the shared machinery parameterised by sync kind, core and whole DAG runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicConfigError
from airflow_provider_polytomic.core.models import SUMMARY_MAX_SCHEMAS, Execution
from airflow_provider_polytomic.core.status import Verdict, judge
from airflow_provider_polytomic.testing import EmulatedSync, PolytomicEmulator
from tests.dag_runs import Run

SYNC = "5c2b9e1a-7d3f-4a8b-9c6e-1f0a2b3c4d5e"
EXEC = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
#: As the SDK's BulkSyncSchemaExecution names them: ``schema`` (there is no ``name``), ``output_name``, ...
SCHEMAS = [
    {
        "schema": "public.orders",
        "output_name": "orders",
        "status": "completed",
        "status_message": None,
        "record_count": 900,
        "error_count": 0,
        "warning_count": 0,
    },
    {
        "schema": "public.customers",
        "output_name": "customers",
        "status": "completed",
        "status_message": None,
        "record_count": 100,
        "error_count": 0,
        "warning_count": 2,
    },
]


def bulk(status: str, **extra: Any) -> Execution:
    return Execution.from_api({"id": EXEC, "status": status, "record_count": 1000, "error_count": 0, **extra})


# -- core -------------------------------------------------------------------------------------------------


def test_a_bulk_execution_reads_counts_schemas_and_status_message() -> None:
    execution = bulk("failed", error_count=3, warning_count=1, schemas=SCHEMAS, status_message="disk full")
    assert (execution.counts.total, execution.counts.error, execution.counts.warnings) == (1000, 3, 1)
    assert execution.errors == ("disk full",)
    summary = execution.summary(SYNC)
    assert summary["schemas"][0] == SCHEMAS[0] and summary["schemas_total"] == 2


def test_the_summary_lists_a_bounded_number_of_schemas() -> None:
    many = [{"schema": f"s{i}", "status": "completed"} for i in range(5_000)]
    summary = bulk("completed", schemas=many).summary(SYNC)
    assert len(summary["schemas"]) == SUMMARY_MAX_SCHEMAS and summary["schemas_total"] == 5_000
    assert [schema["schema"] for schema in summary["schemas"][:2]] == ["s0", "s1"]


def test_a_schema_is_named_by_schema_then_output_name() -> None:
    entries = [
        {"schema": "public.orders", "output_name": "orders", "name": "ignored"},
        {"output_name": "customers", "name": "ignored"},
        {"status": "running"},
    ]
    summary = bulk("running", schemas=entries).summary(SYNC)
    named = [(schema["schema"], schema["output_name"]) for schema in summary["schemas"]]
    assert named == [("public.orders", "orders"), ("customers", "customers"), ("?", None)]
    assert all("name" not in schema for schema in summary["schemas"])


@pytest.mark.parametrize(
    ("status", "tolerate", "verdict"),
    [
        ("completed", False, Verdict.SUCCEEDED),
        ("exporting", False, Verdict.WAITING),
        ("errors", False, Verdict.FAILED),
        ("errors", True, Verdict.SUCCEEDED),
        ("interrupted", True, Verdict.FAILED),
    ],
)
def test_bulk_status_semantics(status: str, tolerate: bool, verdict: Verdict) -> None:
    result = judge(SYNC, bulk(status), fail_on_record_errors=not tolerate, kind=SyncKind.BULK)
    assert result.verdict is verdict
    assert not result.unknown_status


def test_errors_is_not_a_model_status() -> None:
    result = judge(SYNC, bulk("errors"), fail_on_record_errors=True, kind=SyncKind.MODEL)
    assert result.verdict is Verdict.WAITING and result.unknown_status


def test_bulk_calls_use_the_bulk_api() -> None:
    assert protocol.get_sync_status(SYNC, SyncKind.BULK).path == f"/api/bulk/syncs/{SYNC}/status"
    start = protocol.start_bulk_sync(SYNC, idempotency_key="airflow-abcdef12", fetch_mode="full", schemas=["a"])
    assert start.path == f"/api/bulk/syncs/{SYNC}/executions"
    # No legacy 'resync' boolean, and 'test' only when it is a test run (Polytomic's default is false).
    assert start.body == {"fetch_mode": "full", "schemas": ["a"]}
    test = protocol.start_bulk_sync(SYNC, idempotency_key="airflow-abcdef12", test=True)
    assert test.body == {"test": True}
    with pytest.raises(PolytomicConfigError, match="fetch_mode"):
        protocol.start_bulk_sync(SYNC, idempotency_key="airflow-abcdef12", fetch_mode="everything")
    with pytest.raises(PolytomicConfigError, match="mutually exclusive"):
        protocol.start_bulk_sync(SYNC, idempotency_key="airflow-abcdef12", resync_mode="rebuild", test=True)


def test_the_bulk_start_operator_refuses_test_with_resync_mode_when_the_dag_is_parsed() -> None:
    from airflow_provider_polytomic.operators.polytomic import PolytomicStartBulkSyncOperator

    with pytest.raises(ValueError, match=r"load: .*mutually exclusive"):
        PolytomicStartBulkSyncOperator(task_id="load", sync_id=SYNC, resync_mode="rebuild", test=True)
    PolytomicStartBulkSyncOperator(task_id="resync", sync_id=SYNC, resync_mode="rebuild")  # each alone is fine
    PolytomicStartBulkSyncOperator(task_id="test", sync_id=SYNC, test=True)


# -- whole DAG runs -------------------------------------------------------------------------------------


@pytest.fixture
def run_dag(run_test_dag: Callable[..., Run]) -> Callable[[str, EmulatedSync], Run]:
    return lambda dag_id, sync: run_test_dag(dag_id, {"sync_id": sync.id}, "task")


def bulk_sync(emulator: PolytomicEmulator, *steps: dict[str, Any], started: bool = True) -> EmulatedSync:
    if started:
        return emulator.add_sync(kind="bulk", executions=[{"steps": list(steps)}])
    return emulator.add_sync(kind="bulk", run_steps=list(steps))


RUNNING = {"status": "exporting", "polls": 2, "counts": {"total": 400}}
DONE = {"status": "completed", "counts": {"total": 1000, "error": 0}, "schemas": SCHEMAS}


@pytest.mark.parametrize("dag_id", ["bulk_sensor_poke", "bulk_sensor_deferrable"])
def test_the_bulk_sensor_passes_a_completed_run_with_its_schemas(
    dag_id: str, run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = bulk_sync(emulator, RUNNING, DONE)
    run = run_dag(dag_id, sync)
    assert run.task_state == "success"
    assert run.summary["counts"]["total"] == 1000
    assert [schema["schema"] for schema in run.summary["schemas"]] == ["public.orders", "public.customers"]
    assert run.summary["schemas"] == SCHEMAS
    assert run.xcom["polytomic_sync_url"] == f"{emulator.url}/bulk/syncs/{sync.id}"
    assert all(request.path.startswith("/api/bulk/syncs/") for request in emulator.requests)


@pytest.mark.parametrize("dag_id", ["bulk_sensor_poke", "bulk_sensor_deferrable"])
def test_errors_fails_the_bulk_sensor(
    dag_id: str, run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = bulk_sync(emulator, RUNNING, {"status": "errors", "counts": {"total": 10, "error": 4}, "errors": ["bad"]})
    run = run_dag(dag_id, sync)
    assert (run.task_state, run.tries) == ("failed", 1)
    assert "ended with status 'errors'" in run.log and "bad" in run.log


def test_errors_passes_when_record_errors_are_tolerated(
    run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = bulk_sync(emulator, {"status": "errors", "counts": {"total": 10, "error": 4}})
    run = run_dag("bulk_sensor_errors_ok", sync)
    assert run.task_state == "success" and run.summary["status"] == "errors"


def test_completed_with_an_error_count_fails(
    run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = bulk_sync(emulator, {"status": "completed", "counts": {"total": 10, "error": 2}})
    assert run_dag("bulk_sensor_poke", sync).task_state == "failed"


def test_the_bulk_start_operator_sends_its_options_and_waits(
    run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = bulk_sync(emulator, RUNNING, DONE, started=False)
    run = run_dag("bulk_start_poke", sync)
    assert run.task_state == "success"
    (start,) = emulator.requests_to(rf"/api/bulk/syncs/{sync.id}/executions", method="POST")
    assert start.body == {"fetch_mode": "incremental", "schemas": ["public.orders"]}
    assert run.summary["execution_id"] == sync.executions[0].id == run.xcom["execution_id"]


def test_a_bulk_timeout_cancels_through_the_bulk_api(
    run_dag: Callable[[str, EmulatedSync], Run], emulator: PolytomicEmulator
) -> None:
    sync = bulk_sync(emulator, {"status": "running", "polls": 100_000}, started=False)
    run = run_dag("bulk_start_short_deferrable", sync)
    assert run.task_state == "failed"
    (cancel,) = emulator.requests_to(rf"/api/bulk/syncs/{sync.id}/executions/[^/]+/cancel", method="POST")
    assert cancel.status == 200
