"""Sensors and start operators given a sync's name (``sync_name=``): whole DAG runs against the emulator.

The name is looked up in the worker (``GET /api/syncs`` or ``/api/bulk/syncs``, pages of 50) and the task then
works with the id: the summary, the link and the messages carry both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor
from airflow_provider_polytomic.testing import EmulatedSync, PolytomicEmulator
from tests.airflow_features import _has
from tests.dag_runs import Run
from tests.dags.by_name_test_dags import MODES, dag_id

#: Airflow 3.3+: a task state store that lasts across a try's reschedule pokes.
HAS_TASK_STATE_STORE = _has("airflow.sdk.execution_time.context", "TaskStateStoreAccessor")
COMPLETED = {"status": "completed", "counts": {"insert": 10, "error": 0, "total": 10}}
NAME = "Orders to Salesforce"


@pytest.fixture
def run(run_test_dag: Callable[..., Run]) -> Callable[..., Run]:
    def run_one(what: str, mode: str, *, name: str = "", sync_id: str = "", console_log: str = "on_failure") -> Run:
        return run_test_dag(dag_id(what, mode, console_log), {"sync_id": sync_id, "sync_name": name}, "task")

    return run_one


def add(emulator: PolytomicEmulator, name: str = NAME, *steps: dict[str, Any], **sync: Any) -> EmulatedSync:
    return emulator.add_sync(name=name, executions=[{"steps": list(steps) or [COMPLETED]}], **sync)


def others(emulator: PolytomicEmulator, count: int, kind: str = "model") -> None:
    """``count`` other syncs, each updated more recently than the ones the tests look for."""
    for number in range(count):
        emulator.add_sync(name=f"Other sync {number:04d}", kind=kind, updated_ago=number)


@pytest.mark.parametrize("mode", MODES)
def test_a_sensor_by_name_judges_that_syncs_execution(
    mode: str, run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    others(emulator, 3)
    sync = add(emulator, NAME, {"status": "running", "polls": 2}, COMPLETED)
    result = run("sensor", mode, name=NAME)
    assert (result.state, result.task_state) == ("success", "success")
    assert (result.summary["sync_id"], result.summary["sync_name"]) == (sync.id, NAME)
    assert result.summary["execution_id"] == sync.executions[0].id
    assert result.xcom["polytomic_sync_url"] == f"{emulator.url}/syncs/{sync.id}"
    assert f"Polytomic sync name '{NAME}' is sync {sync.id} (connection 'polytomic_default')." in result.log
    assert f"sync '{NAME}' ({sync.id}) execution" in result.log  # the messages name it, with its id
    assert emulator.requests_to(f"/api/syncs/{sync.id}") == []  # the name is known: no definition request


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_a_start_operator_by_name_starts_that_sync(
    mode: str, run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    others(emulator, 3)
    sync = add(emulator, NAME)
    result = run("start", mode, name=NAME)
    assert result.task_state == "success"
    assert len(emulator.requests_to(f"/api/syncs/{sync.id}/executions", "POST")) == 1
    assert (result.summary["sync_id"], result.summary["sync_name"], result.summary["status"]) == (
        sync.id,
        NAME,
        "completed",
    )
    assert result.xcom["execution_id"] == result.summary["execution_id"]


@pytest.mark.parametrize("what", ["bulk_sensor", "bulk_start"])
def test_bulk_tasks_by_name_look_in_the_bulk_list(
    what: str, run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    add(emulator, NAME)  # a model sync of the same name is not a bulk sync
    sync = add(emulator, NAME, kind="bulk")
    result = run(what, "poke", name=NAME)
    assert result.task_state == "success"
    assert (result.summary["sync_id"], result.summary["sync_name"]) == (sync.id, NAME)
    assert [
        request.path for request in emulator.requests if "syncs?" in request.path or request.path.endswith("syncs")
    ] == ["/api/bulk/syncs"]
    assert result.xcom["polytomic_sync_url"] == f"{emulator.url}/bulk/syncs/{sync.id}"


def test_no_sync_of_that_name_fails_naming_it_the_connection_and_close_names(
    run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    add(emulator, NAME)
    add(emulator, "Contacts to HubSpot")
    result = run("sensor", "poke", name="Orders to SalesForce")
    assert result.task_state == "failed"
    assert "No Polytomic sync is named 'Orders to SalesForce'" in result.log
    assert "connection 'polytomic_default'" in result.log and f"Close names: '{NAME}'" in result.log
    assert result.xcom["polytomic_sync_url"] == emulator.url  # the link exists, to the app itself


def test_two_syncs_of_that_name_fail_listing_both_ids(run: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    first, second = add(emulator, NAME), add(emulator, NAME)
    result = run("start", "poke", name=NAME)
    assert result.task_state == "failed"
    assert f"2 Polytomic syncs are named '{NAME}'" in result.log
    assert first.id in result.log and second.id in result.log and "pass sync_id" in result.log
    assert emulator.requests_to(r".*/executions", "POST") == []  # nothing started


def test_a_paused_match_warns_and_goes_on(run: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    sync = add(emulator, NAME, active=False)
    result = run("sensor", "poke", name=NAME)
    assert result.task_state == "success"
    assert f"Polytomic sync '{NAME}' ({sync.id}) is paused (active: false): it may never run" in result.log


def test_a_name_on_the_third_page_is_found(run: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    others(emulator, 120)
    sync = add(emulator, NAME, updated_ago=10_000)  # the least recently updated: listed last
    result = run("sensor", "poke", name=NAME)
    assert result.summary["sync_id"] == sync.id
    pages = emulator.requests_to("/api/syncs")
    assert len(pages) == 3 and all(request.query["limit"] == ["50"] for request in pages)


def test_sync_id_and_sync_name_together_fail(run: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    sync = add(emulator, NAME)
    result = run("sensor", "poke", name=NAME, sync_id=sync.id)
    assert result.task_state == "failed"
    assert "needs exactly one of sync_id and sync_name; it got both" in result.log
    assert emulator.requests_to("/api/syncs") == []
    with pytest.raises(ValueError, match="exactly one of sync_id and sync_name"):
        PolytomicSyncStatusSensor(task_id="t", sync_id=sync.id, sync_name=NAME)
    with pytest.raises(ValueError, match=r"pass sync_id .* or sync_name"):
        PolytomicSyncStatusSensor(task_id="t")


def test_reschedule_pokes_by_name_list_once_per_try_where_airflow_keeps_it(
    run: Callable[..., Run], emulator: PolytomicEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """1,000 syncs: the first poke reads 20 pages; later pokes read none on Airflow 3.3+ (task state store), all 20
    again on older Airflow (nothing lasts between reschedule pokes there)."""
    others(emulator, 999)
    sync = add(emulator, NAME, {"status": "running", "polls": 4}, COMPLETED, updated_ago=10_000)
    result = run("sensor", "reschedule", name=NAME)
    assert result.task_state == "success"
    pokes = len(emulator.requests_to(f"/api/syncs/{sync.id}/status")) + len(
        emulator.requests_to(f"/api/syncs/{sync.id}/executions.*")
    )
    pages = len(emulator.requests_to("/api/syncs"))
    per_page = math.ceil(1000 / 50)
    if HAS_TASK_STATE_STORE:
        assert pages == per_page
        assert kept_in_the_task_state_store("by_name_sensor_reschedule_on_failure") == []  # deleted at the end
    else:
        assert pages == per_page * pokes
    total = len(emulator.requests)
    with capsys.disabled():
        print(f"\nby name, reschedule mode, 1,000 syncs: {pokes} pokes, {total} requests, {pages} list pages")


def kept_in_the_task_state_store(dag_id: str) -> list[str]:
    """The keys this provider left in Airflow 3.3's task state store for ``dag_id``'s task."""
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskStateStoreModel).filter(TaskStateStoreModel.dag_id == dag_id).all()
        return [row.key for row in rows if row.key.startswith("polytomic_")]
