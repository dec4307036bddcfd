"""The sensor end to end: whole DAG runs (``dag.test()``) in poke, reschedule and deferrable mode against the emulator.

Each run is a real Airflow task run (templating, XCom, retries, soft_fail, the deferral and its inline
trigger) talking HTTP to the emulator. Every run also checks that the API key appears nowhere: not in the
captured logs, not in any XCom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_polytomic.testing import EmulatedSync, PolytomicEmulator
from tests.dag_runs import Run
from tests.dag_runs import run_dag as run_dag_test
from tests.dags.sensor_test_dags import MODES, OUTLET_URI, dag_id

TASK = "wait_for_sync"


@pytest.fixture
def run_dag(dagbag: Any, run_test_dag: Callable[..., Run]) -> Iterator[Callable[..., Run]]:

    def run(
        mode: str,
        sync: EmulatedSync | str,
        *,
        soft_fail: bool = False,
        record_errors_ok: bool = False,
        short: bool = False,
        execution_id: str = "",
        completed_after: str = "",
    ) -> Run:
        sync_id = sync if isinstance(sync, str) else sync.id
        conf = {"sync_id": sync_id, "execution_id": execution_id, "completed_after": completed_after}
        return run_test_dag(
            dag_id(mode, soft_fail=soft_fail, record_errors_ok=record_errors_ok, short=short), conf, TASK
        )

    yield run


def script(emulator: PolytomicEmulator, *steps: dict[str, Any], **execution: Any) -> EmulatedSync:
    return emulator.add_sync(executions=[{"steps": list(steps), **execution}])


RUNNING = {"status": "running", "polls": 2, "counts": {"insert": 5, "total": 5}}
COMPLETED = {"status": "completed", "counts": {"insert": 10, "update": 2, "error": 0, "total": 12}}


# -- outcomes, in every mode ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_completed_passes_with_the_summary_and_a_line_per_poll(
    mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = script(emulator, {"status": "queued", "polls": 1}, RUNNING, COMPLETED)
    run = run_dag(mode, sync)
    assert (run.state, run.task_state) == ("success", "success")
    execution = sync.executions[0]
    summary = run.summary
    assert summary["sync_id"] == sync.id
    assert summary["execution_id"] == execution.id
    assert summary["status"] == "completed"
    assert summary["counts"]["insert"] == 10 and summary["counts"]["total"] == 12
    for field in ("created_at", "started_at", "completed_at"):
        assert datetime.fromisoformat(summary[field]).tzinfo is not None
    assert summary["errors"] == []
    assert run.xcom["polytomic_sync_url"] == f"{emulator.url}/syncs/{sync.id}"
    if mode != "deferrable":  # the trigger logs in the triggerer, not in the task log
        assert run.log.count(f"execution {execution.id}: running (insert=5, total=5)") >= 1
        assert "Waited" in run.log
    else:  # the resumed task says how long the trigger waited, as poke mode does
        assert "s in the triggerer." in run.log


@pytest.mark.parametrize("mode", MODES)
def test_completed_with_record_errors_fails_without_retrying(
    mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = script(
        emulator,
        RUNNING,
        {"status": "completed", "counts": {"insert": 8, "error": 2, "total": 10}, "errors": ["row 7: bad email"]},
    )
    run = run_dag(mode, sync)
    assert (run.state, run.task_state, run.tries) == ("failed", "failed", 1)
    assert "return_value" not in run.xcom
    assert "2 record error(s)" in run.log
    assert "row 7: bad email" in run.log


@pytest.mark.parametrize("mode", MODES)
def test_record_errors_pass_when_allowed(mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    sync = script(emulator, {"status": "completed", "counts": {"insert": 8, "error": 2}, "errors": ["row 7"]})
    run = run_dag(mode, sync, record_errors_ok=True)
    assert run.task_state == "success"
    assert run.summary["counts"]["error"] == 2
    assert run.summary["errors"] == ["row 7"]


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        ("poke", "failed"),
        ("poke", "canceled"),
        ("poke", "interrupted"),
        ("reschedule", "failed"),
        ("deferrable", "interrupted"),
    ],
)
def test_bad_endings_fail_with_polytomics_errors(
    mode: str, status: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    ended = {"status": status, "counts": {"insert": 3, "error": 1, "total": 4}}
    sync = script(emulator, RUNNING, {**ended, "errors": ["Snowflake: warehouse suspended"]})
    run = run_dag(mode, sync)
    assert (run.state, run.task_state, run.tries) == ("failed", "failed", 1)
    assert f"ended with status '{status}'" in run.log
    assert "Snowflake: warehouse suspended" in run.log
    assert sync.executions[0].id in run.log
    assert "Counts: insert=3, error=1, total=4." in run.log  # a failure says how far the run got


@pytest.mark.parametrize("mode", MODES)
def test_soft_fail_skips_a_failed_sync(mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    sync = script(emulator, {"status": "failed", "errors": ["boom"]})
    run = run_dag(mode, sync, soft_fail=True)
    assert run.task_state == "skipped"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("soft_fail", [False, True])
def test_timeout_fails_or_skips_and_is_never_retried(
    mode: str, soft_fail: bool, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = script(emulator, {"status": "running", "polls": 10_000})
    run = run_dag(mode, sync, soft_fail=soft_fail, short=True)
    assert run.task_state == ("skipped" if soft_fail else "failed")
    assert run.tries == 1
    assert "AirflowSensorTimeout" in run.log or "timed out" in run.log.lower()


def test_an_unknown_status_never_passes_and_is_logged_once(
    run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = script(emulator, {"status": "rebalancing", "polls": 10_000})
    run = run_dag("poke", sync, short=True)
    assert run.task_state == "failed"
    warnings = run.log.count("has status 'rebalancing', which this provider does not know")
    polls = run.log.count(f"execution {sync.executions[0].id}: rebalancing")
    # Once, then ordinary poll lines (Airflow 2 shows each line in two captures, hence no "== 1").
    assert warnings >= 1 and polls >= 3 * warnings


# -- which execution ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_follows_the_execution_it_saw_when_a_newer_run_starts(
    mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(
        executions=[
            {"steps": [{"status": "running", "polls": 4}, COMPLETED]},
            # A scheduled run starts while the sensor waits and would keep it waiting for ever.
            {"type": "schedule", "appear_after": 2, "steps": [{"status": "running", "polls": 10_000}]},
        ]
    )
    run = run_dag(mode, sync)
    assert run.task_state == "success"
    assert run.summary["execution_id"] == sync.executions[0].id


@pytest.mark.parametrize("offset", [120.0, -120.0], ids=["polytomic-ahead", "polytomic-behind"])
@pytest.mark.parametrize("mode", MODES)
def test_the_run_seen_at_the_first_poke_is_judged_whatever_polytomics_clock_says(
    mode: str, offset: float, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    """Polytomic's clock 2 minutes off Airflow's. In reschedule mode without a task state store (Airflow before
    3.3) each later poke finds the run again by its first poke's time, an instant on Airflow's clock. Before, 2 min
    behind: RUNNING, seen at the first poke, "ended before" that time on Polytomic's clock and was dropped (the
    sensor waited for its timeout); 2 min ahead: STALE, failed a minute before the first poke, counted as in
    progress at it and failed the task."""
    emulator.clock_offset = offset
    sync = emulator.add_sync(
        executions=[
            {"created_ago": 60, "steps": [{"status": "failed", "errors": ["stale"]}]},  # STALE
            {"steps": [RUNNING, COMPLETED]},  # RUNNING, seen at the first poke
        ]
    )
    run = run_dag(mode, sync)
    assert run.task_state == "success", run.log[-3000:]
    assert run.summary["execution_id"] == sync.executions[1].id


@pytest.mark.parametrize("mode", MODES)
def test_a_stale_last_run_does_not_open_the_gate(
    mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(
        executions=[
            {"created_ago": 86_400, "steps": [COMPLETED]},  # yesterday's good run
            {"appear_after": 3, "steps": [RUNNING, COMPLETED]},
        ]
    )
    after = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    run = run_dag(mode, sync, completed_after=after)
    assert run.task_state == "success"
    assert run.summary["execution_id"] == sync.executions[1].id


def test_a_stale_last_run_alone_times_out(run_dag: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    sync = emulator.add_sync(executions=[{"created_ago": 86_400, "steps": [COMPLETED]}])
    run = run_dag("poke", sync, short=True, completed_after=datetime.now(timezone.utc).isoformat())
    assert run.task_state == "failed"
    assert "return_value" not in run.xcom


@pytest.mark.parametrize("mode", MODES)
def test_execution_id_judges_exactly_that_execution(
    mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(
        executions=[
            {"created_ago": 3_600, "steps": [{"status": "failed", "errors": ["old failure"]}]},
            {"steps": [RUNNING, COMPLETED]},
        ]
    )
    wanted = sync.executions[0].id
    run = run_dag(mode, sync, execution_id=wanted)
    assert run.task_state == "failed"
    assert "old failure" in run.log
    assert emulator.requests_to(rf"/api/syncs/{sync.id}/executions/{wanted}")


# -- faults ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_a_burst_of_503s_is_waited_out(mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    sync = script(emulator, RUNNING, COMPLETED)
    emulator.add_fault("status", path=rf"/api/syncs/{sync.id}/.*", status=503, requests=[2, 3, 4])
    run = run_dag(mode, sync)
    assert run.task_state == "success"
    assert [r.status for r in emulator.requests_to(rf"/api/syncs/{sync.id}/.*")][1:4] == [503, 503, 503]


def test_429_retry_after_is_honoured(run_dag: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    sync = script(emulator, COMPLETED)
    emulator.add_fault("status", path=rf"/api/syncs/{sync.id}/status", status=429, retry_after="1", requests=[1])
    run = run_dag("poke", sync)
    assert run.task_state == "success"
    first, second = emulator.requests_to(rf"/api/syncs/{sync.id}/status")[:2]
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 0.9


@pytest.mark.parametrize("kind", ["delay", "drop", "truncated"])
def test_timeouts_and_dropped_connections_are_retried(
    kind: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = script(emulator, COMPLETED)
    emulator.add_fault(kind, path=rf"/api/syncs/{sync.id}/status", seconds=3, requests=[1])
    run = run_dag("poke", sync)
    assert run.task_state == "success"
    assert len(emulator.requests_to(rf"/api/syncs/{sync.id}/status")) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_revoked_key_mid_wait_fails_at_once_with_a_clear_message(
    mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = script(emulator, {"status": "running", "polls": 10_000})
    emulator.add_fault("status", path=rf"/api/syncs/{sync.id}/.*", status=401, requests=list(range(3, 100)))
    run = run_dag(mode, sync, soft_fail=True)  # soft_fail must not hide a broken connection
    assert run.task_state == "failed"
    assert "HTTP 401" in run.log and "polytomic_default" in run.log
    # No retry of the 401 within a try: one 401 per try (the DAG allows one task retry).
    statuses = [r.status for r in emulator.requests_to(rf"/api/syncs/{sync.id}/.*")]
    assert statuses.count(401) <= 2 * run.tries


def test_an_unknown_sync_fails_at_once_naming_it(run_dag: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    missing = "6a1f0c2d-9b8e-4d7c-a5f4-3e2d1c0b9a87"
    run = run_dag("poke", missing)
    assert run.task_state == "failed"
    assert "HTTP 404" in run.log and missing in run.log
    assert len(emulator.requests_to(rf"/api/syncs/{missing}/status")) == run.tries


def test_a_malformed_sync_id_is_refused_before_any_request(
    run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    run = run_dag("poke", "not-a-uuid")
    assert run.task_state == "failed"
    assert "not-a-uuid" in run.log
    assert emulator.requests == []
    # The link degrades quietly to the Polytomic app: its XCom exists, so rendering it logs no "XCom not found".
    assert run.xcom["polytomic_sync_url"] == emulator.url


@pytest.mark.parametrize("mode", MODES)
def test_proxy_pages_instead_of_answers_are_waited_out_in_every_mode(
    mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    """HTML pages with status 200 (a proxy's) used to fail the task at the first one. Five in a row spend the first
    poll's whole retry budget (4 retries): each mode then waits on, as for a 503, and all end alike."""
    sync = script(emulator, COMPLETED)
    emulator.add_fault("malformed", path=rf"/api/syncs/{sync.id}/status", requests=[1, 2, 3, 4, 5])
    run = run_dag(mode, sync)
    assert (run.state, run.task_state) == ("success", "success")
    assert run.tries == 1 and run.summary["status"] == "completed"
    assert "the body is not JSON" in run.log and "Gave up after 5 attempts" in run.log


def test_proxy_pages_that_never_stop_end_in_the_sensor_timeout(
    run_dag: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    """A poke that gets only proxy pages tries again at the next poke until the sensor's timeout (2 s here)."""
    sync = script(emulator, COMPLETED)
    emulator.add_fault("malformed", path=rf"/api/syncs/{sync.id}/status")
    run = run_dag("poke", sync, short=True)
    assert run.task_state == "failed" and run.tries == 1  # a timeout, which does not use the task's retry
    assert "AirflowSensorTimeout" in run.log or "timed out" in run.log.lower()
    assert "the body is not JSON" in run.log and "Trying again at the next poke." in run.log


@pytest.mark.parametrize("mode", MODES)
def test_a_connection_that_can_never_work_fails_at_once_even_under_soft_fail(
    mode: str, run_dag: Callable[..., Run], emulator: PolytomicEmulator, make_connection: Callable[..., str]
) -> None:
    """A key with a trailing newline used to be a "temporary" error waited out until the timeout, then skipped."""
    from tests.conftest import API_KEY

    sync = script(emulator, RUNNING, COMPLETED)
    make_connection("polytomic_default", password=API_KEY + "\n")
    run = run_dag(mode, sync, soft_fail=True)
    assert run.task_state == "failed"
    assert "API key (password field)" in run.log and "polytomic_default" in run.log
    assert emulator.requests == []


# -- outlets --------------------------------------------------------------------------------------------------


def test_the_asset_event_carries_the_summary(
    dagbag: Any,
    airflow_db: None,
    make_connection: Callable[..., str],
    logs: Callable[[], str],
    emulator: PolytomicEmulator,
) -> None:
    from airflow.utils.session import create_session

    try:
        from airflow.models.asset import AssetEvent, AssetModel
    except ImportError:  # Airflow 2: datasets
        from airflow.models.dataset import DatasetEvent as AssetEvent  # type: ignore[no-redef]
        from airflow.models.dataset import DatasetModel as AssetModel  # type: ignore[no-redef]

    make_connection("polytomic_default")
    sync = script(emulator, RUNNING, COMPLETED)
    dag = dagbag.dags["sensor_with_outlet"]
    if hasattr(dag, "sync_to_db"):  # Airflow 2: dag.test() does not register the DAG's datasets
        dag.sync_to_db()
    else:
        from airflow.models import dag as scheduler_dag

        # vars(): asking the module itself for DAG warns on later lines, which moved it to airflow.sdk.
        if hasattr(vars(scheduler_dag).get("DAG"), "bulk_write_to_db"):
            # Airflow 3.0's dag.test() does not register them either (later lines do): the dag-processor's way.
            from airflow.dag_processing.bundles.manager import DagBundlesManager
            from airflow.serialization.serialized_objects import SerializedDAG

            DagBundlesManager().sync_bundles_to_db()
            parsed = SerializedDAG.deserialize_dag(SerializedDAG.serialize_dag(dag))
            scheduler_dag.DAG.bulk_write_to_db("dags-folder", None, [parsed])
    run = run_dag_test(dag, {"sync_id": sync.id}, TASK, logs)
    assert run.task_state == "success"
    with create_session() as session:
        model = session.query(AssetModel).filter(AssetModel.uri == OUTLET_URI).one()
        key = AssetEvent.asset_id if hasattr(AssetEvent, "asset_id") else AssetEvent.dataset_id
        events = session.query(AssetEvent).filter(key == model.id).all()
        extras = [event.extra for event in events]
    assert any(extra.get("execution_id") == sync.executions[0].id for extra in extras), extras
    assert any(extra.get("status") == "completed" for extra in extras)
