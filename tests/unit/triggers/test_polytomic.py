"""PolytomicSyncStatusTrigger over real HTTP (aiohttp) against the emulator."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from airflow_provider_polytomic.testing import PolytomicEmulator
from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger
from tests.conftest import API_KEY

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"


def round_trip(trigger: PolytomicSyncStatusTrigger) -> PolytomicSyncStatusTrigger:
    classpath, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))  # JSON primitives only
    module, _, name = classpath.rpartition(".")
    rebuilt: PolytomicSyncStatusTrigger = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == trigger.serialize()
    return rebuilt


def test_serialize_round_trips_without_the_key(make_connection: Callable[..., str]) -> None:
    trigger = PolytomicSyncStatusTrigger(
        sync_id=SYNC,
        polytomic_conn_id=make_connection(),
        poll_interval=5,
        completed_after="2026-01-01T00:00:00+00:00",
        deadline=time.time() + 60,
    )
    rebuilt = round_trip(trigger)
    assert API_KEY not in json.dumps(rebuilt.serialize())


def test_the_trigger_logs_its_final_poll_and_says_how_long_it_waited(
    make_connection: Callable[..., str], emulator: PolytomicEmulator, logs: Callable[[], str]
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 1}, {"status": "completed"}]}])
    trigger = PolytomicSyncStatusTrigger(sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.05)
    event = asyncio.run(trigger.wait())
    assert event["verdict"] == "succeeded" and isinstance(event["waited"], float) and event["waited"] >= 0
    assert "completed. Counts: no counts yet. Waited" in logs()


def test_waits_for_completion_and_yields_one_summary(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(
        id=SYNC,
        executions=[
            {
                "steps": [
                    {"status": "running", "polls": 2, "counts": {"insert": 1}},
                    {"status": "completed", "counts": {"insert": 4}},
                ]
            }
        ],
    )
    trigger = round_trip(
        PolytomicSyncStatusTrigger(sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.05)
    )
    event = asyncio.run(trigger.wait())
    assert event["verdict"] == "succeeded"
    assert event["summary"]["counts"]["insert"] == 4
    assert len(emulator.requests) == 3
    assert {request.headers["User-Agent"].rsplit(" ", 1)[-1] for request in emulator.requests} == {"(aiohttp)"}


def test_transient_errors_keep_it_polling_and_401_ends_it(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 1}, {"status": "failed"}]}])
    emulator.add_fault("status", path=f"/api/syncs/{SYNC}/status", status=503, requests=[1, 2, 3])
    trigger = PolytomicSyncStatusTrigger(
        sync_id=SYNC, polytomic_conn_id=make_connection(max_retries=1), poll_interval=0.05
    )
    event = asyncio.run(trigger.wait())
    assert event["verdict"] == "failed" and event["summary"]["status"] == "failed"
    bad = PolytomicSyncStatusTrigger(
        sync_id=SYNC, polytomic_conn_id=make_connection("bad", password="nope-nope"), poll_interval=0.05
    )
    event = asyncio.run(bad.wait())
    assert event["verdict"] == "error" and "HTTP 401" in event["message"] and "nope-nope" not in event["message"]


def test_deadline_yields_timeout(make_connection: Callable[..., str], emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 1000}]}])
    trigger = PolytomicSyncStatusTrigger(
        sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.05, deadline=time.time() + 0.3
    )
    assert asyncio.run(trigger.wait())["verdict"] == "timeout"


def test_a_restarted_trigger_carries_on_with_the_same_execution(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    """A triggerer restart re-creates the trigger from its kwargs; a newer run must not take over."""
    sync = emulator.add_sync(
        id=SYNC,
        executions=[
            {"appear_after": 2, "steps": [{"status": "running", "polls": 6}, {"status": "completed"}]},
            {"appear_after": 5, "type": "schedule", "steps": [{"status": "running", "polls": 10_000}]},
        ],
    )
    original = PolytomicSyncStatusTrigger(
        sync_id=SYNC,
        polytomic_conn_id=make_connection(),
        anchor=datetime.now(timezone.utc).isoformat(),  # what the sensor passes when it saw no execution yet
        poll_interval=0.05,
        deadline=time.time() + 30,
    )

    async def run_until_killed() -> None:
        task = asyncio.ensure_future(original.wait())
        while len(emulator.requests) < 6:  # both executions exist now; the first is still running
            await asyncio.sleep(0.01)
        task.cancel()  # the triggerer goes away mid-wait

    asyncio.run(run_until_killed())
    assert sync.status_of(sync.executions[0]).status == "running"
    event = asyncio.run(round_trip(original).wait())
    assert event["verdict"] == "succeeded"
    assert event["execution_id"] == sync.executions[0].id


def test_a_connection_that_can_never_work_ends_the_trigger_with_an_error_event(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    for conn_id, named in (
        (make_connection("spaced", host="exa mple.com"), "contains a blank"),
        (make_connection("newline", password=API_KEY + "\n"), "API key (password field)"),
        ("not_defined_anywhere", "Airflow connection 'not_defined_anywhere' is not defined"),
    ):
        trigger = PolytomicSyncStatusTrigger(sync_id=SYNC, polytomic_conn_id=conn_id, poll_interval=0.05)
        event = asyncio.run(trigger.wait())  # an event, not a raw ValueError or AirflowNotFoundException
        assert event["verdict"] == "error" and named in event["message"], event
        assert API_KEY not in json.dumps(event)
    assert emulator.requests == []


def test_a_timeout_after_a_run_of_503s_says_polytomic_was_failing(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 1000}]}])
    emulator.add_fault("status", path=f"/api/syncs/{SYNC}/status", status=503)
    trigger = PolytomicSyncStatusTrigger(
        sync_id=SYNC,
        polytomic_conn_id=make_connection(max_retries=0),
        poll_interval=0.05,
        deadline=time.time() + 0.5,
    )
    event = asyncio.run(trigger.wait())
    assert event["verdict"] == "timeout"
    assert "Polytomic was failing" in event["message"] and "HTTP 503" in event["message"]


@pytest.mark.parametrize("interval", [0, -1, float("nan"), float("inf")])
def test_a_poll_interval_that_would_hammer_polytomic_is_refused(interval: float) -> None:
    from airflow_provider_polytomic.core.errors import PolytomicConfigError
    from airflow_provider_polytomic.operators.polytomic import (
        PolytomicStartBulkSyncOperator,
        PolytomicStartSyncOperator,
    )
    from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor

    with pytest.raises(PolytomicConfigError, match="poll_interval must be a positive number"):
        PolytomicSyncStatusTrigger(sync_id=SYNC, poll_interval=interval)
    for operator in (PolytomicStartSyncOperator, PolytomicStartBulkSyncOperator):
        with pytest.raises(PolytomicConfigError, match="poll_interval must be a positive number"):
            operator(task_id="start", sync_id=SYNC, poll_interval=interval)
    if interval == interval and interval != float("inf"):  # Airflow itself refuses nan and inf poke intervals
        from airflow.providers.common.compat.sdk import AirflowException

        # Airflow 2 refuses a negative one itself (AirflowException); zero is left to the provider.
        with pytest.raises((AirflowException, ValueError), match="poke_interval"):
            PolytomicSyncStatusSensor(task_id="wait", sync_id=SYNC, poke_interval=interval)


def test_one_proxy_page_on_a_shared_read_fails_no_waiter(make_connection: Callable[..., str]) -> None:
    """Ten triggers on one execution share one read; it got a proxy's HTML page with status 200, and all ten ended
    in 'error'. Each now takes it for what it nearly always is, an edge fault, and the read's retry answers all."""
    from tests import faultservers

    execution = faultservers.EXECUTION
    done = {"id": execution, "status": "completed", "created_at": "2026-01-01T00:00:00Z"}
    seen: list[str] = []

    def answer(method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        seen.append(path)
        if len(seen) == 1:
            time.sleep(0.3)  # long enough for all ten to join this read
            return 200, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway</body></html>"
        return 200, {}, json.dumps({"data": done}).encode()

    with faultservers.http_server(answer) as server:
        conn_id = make_connection(host=server.url)

        async def ten() -> list[dict[str, object]]:
            triggers = [
                PolytomicSyncStatusTrigger(
                    sync_id=SYNC, execution_id=execution, polytomic_conn_id=conn_id, poll_interval=0.1
                )
                for _ in range(10)
            ]
            return list(await asyncio.gather(*(trigger.wait() for trigger in triggers)))

        events = asyncio.run(ten())
    assert [event["verdict"] for event in events] == ["succeeded"] * 10
    assert len(seen) == 2  # one shared read, its one retry: the page was retried once for all ten


def test_a_poll_that_keeps_getting_proxy_pages_keeps_polling_until_its_deadline(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 1000}]}])
    emulator.add_fault("malformed", path=f"/api/syncs/{SYNC}/status")
    trigger = PolytomicSyncStatusTrigger(
        sync_id=SYNC, polytomic_conn_id=make_connection(max_retries=0), poll_interval=0.05, deadline=time.time() + 0.5
    )
    event = asyncio.run(trigger.wait())
    assert event["verdict"] == "timeout", event
    assert "Polytomic was failing" in event["message"] and "the body is not JSON" in event["message"]
    assert len(emulator.requests) >= 2  # polled again after the first page, backing off
