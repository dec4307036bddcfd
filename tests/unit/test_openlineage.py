"""The tasks' OpenLineage side: the sync's definition read once, its name in messages and summaries, a failed
read one warning that changes no outcome, and the facets of the execution judged (against the emulator)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
from airflow_provider_polytomic.openlineage import TaskLineage
from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor
from airflow_provider_polytomic.testing import PolytomicEmulator

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
SUMMARY = {"sync_id": SYNC, "execution_id": "e", "status": "completed", "counts": {}, "errors": []}


def sensor(conn_id: str, sync_id: str = SYNC) -> PolytomicSyncStatusSensor:
    return PolytomicSyncStatusSensor(task_id="t", sync_id=sync_id, polytomic_conn_id=conn_id)


def lineage(conn_id: str, sync_id: str = SYNC) -> TaskLineage:
    """What a task builds once it knows its sync (its own log, so the warnings reach the task log)."""
    task = sensor(conn_id, sync_id)
    return TaskLineage(
        hook=PolytomicHook(polytomic_conn_id=conn_id), kind=SyncKind.MODEL, sync_id=sync_id, log=task.log
    )


def test_the_name_is_read_once_and_put_next_to_the_id(emulator: PolytomicEmulator, make_connection: Any) -> None:
    emulator.add_sync(id=SYNC, name="Orders to Salesforce")
    names = lineage(make_connection(), sync_id=SYNC.upper())  # the API spells ids in lower case
    assert names.named(f"Polytomic sync {SYNC} failed.") == f"Polytomic sync 'Orders to Salesforce' ({SYNC}) failed."
    assert names.with_sync_name(SUMMARY)["sync_name"] == "Orders to Salesforce"
    names.named("again")
    definitions = emulator.requests_to(rf"/api/syncs/{SYNC}")
    assert len(definitions) == 1


def test_a_definition_that_cannot_be_read_is_one_warning_and_no_name(
    make_connection: Any, logs: Callable[[], str]
) -> None:
    names = lineage(make_connection())  # the emulator has no such sync: 404
    assert names.named(f"Polytomic sync {SYNC} failed.") == f"Polytomic sync {SYNC} failed."
    warned = logs().count("Could not read the definition")  # Airflow 2 may show a line twice (logging and stderr)
    assert warned and "outcome is unchanged" in logs()
    summary = names.with_sync_name(SUMMARY)
    names.named("again")
    assert summary["sync_name"] is None and list(summary)[:2] == ["sync_id", "sync_name"]
    assert logs().count("Could not read the definition") == warned  # one warning per task, whatever follows


def test_the_facets_carry_the_execution_judged_even_without_the_definition(make_connection: Any) -> None:
    pytest.importorskip("airflow.providers.openlineage")
    task = sensor(make_connection())
    assert task.get_openlineage_facets_on_complete(None).run_facets == {}  # nothing judged yet
    task._wait_for({}).names.with_sync_name(SUMMARY)  # what the task's wait saw
    facets = task.get_openlineage_facets_on_failure(None).run_facets
    assert facets["polytomic"].syncId == SYNC and facets["polytomic"].executionId == "e"


def test_a_name_learned_earlier_in_the_try_needs_no_definition_request(
    emulator: PolytomicEmulator, make_connection: Any
) -> None:
    names = lineage(make_connection())
    names.saw({**SUMMARY, "sync_name": "Orders"})  # the trigger's event carried it
    assert names.named(f"Polytomic sync {SYNC} ended.") == f"Polytomic sync 'Orders' ({SYNC}) ended."
    assert emulator.requests_to(rf"/api/syncs/{SYNC}") == []
