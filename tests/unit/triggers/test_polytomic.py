"""PolytomicSyncStatusTrigger over real HTTP (aiohttp) against the emulator."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout

import airflow_provider_polytomic.triggers.polytomic as trigger_module
from airflow_provider_polytomic import __version__
from airflow_provider_polytomic.core.errors import PolytomicConfigError, PolytomicError, PolytomicTriggerArgumentError
from airflow_provider_polytomic.testing import PolytomicEmulator
from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger
from benchmarks.wait_log import SimulatedClock, SimulatedWait, simulate, sync_steps
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


# -- what the wait logs, on a simulated clock (benchmarks/wait_log.py; the requests are real) -----------------


def simulated(
    emulator: PolytomicEmulator, clock: SimulatedClock, **kwargs: Any
) -> tuple[SimulatedWait, list[str], list[str]]:
    """The wait, and its INFO and WARNING lines."""
    wait = simulate(trigger_module, kwargs, clock, lambda: len(emulator.requests))
    info = [message for _, level, message in wait.lines if level == "INFO"]
    warnings = [message for _, level, message in wait.lines if level == "WARNING"]
    return wait, info, warnings


def test_an_hour_long_wait_logs_its_story_not_every_poll(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    """Queued for 3 polls, running for 60 (counts growing every poll, updates from the 13th), completed; 60 s
    polls. One poll fails (503): its warning is kept."""
    sync = emulator.add_sync(id=SYNC, executions=[{"steps": sync_steps(queued=3, running=60)}])
    emulator.add_fault("status", path=f"/api/syncs/{SYNC}/executions/.*", status=503, requests=[40])
    clock = SimulatedClock()
    wait, info, warnings = simulated(
        emulator,
        clock,
        sync_id=SYNC,
        execution_id=sync.executions[0].id,
        polytomic_conn_id=make_connection(max_retries=0),
        poll_interval=60,
        waiting_since=clock.now,
    )
    assert wait.event["verdict"] == "succeeded" and wait.polls == 65  # 64 answered, 1 failed
    assert len(warnings) == 1 and "HTTP 503" in warnings[0]
    assert info[0].startswith(f"Waiting for Polytomic sync {SYNC} execution {sync.executions[0].id}.")
    assert [line.rsplit(": ", 1)[-1].split(" (")[0] for line in info[1:3]] == ["queued", "running"]
    assert sum("update=200," in line for line in info) == 1  # updates started: told once
    assert "completed. Counts: insert=60000, update=9600, total=69600. Waited" in info[-1]
    still = [line for line in info if "Still waiting after" in line]
    assert still and all("running (insert=" in line for line in still)  # the heartbeat has status and counts
    # Steady state: after the last change (updates started, the 16th poll) and before the end (the last poll).
    changed = next(at for at, _, message in wait.lines if "update=200," in message)
    steady = [at for at, level, _ in wait.lines[:-1] if at > changed and level == "INFO"]
    assert len(steady) / (wait.polls - 16 - 1) <= 0.1
    assert len(wait.lines) / wait.polls <= 0.2  # before: a line per poll
    assert wait.event["waited"] == pytest.approx(clock.now - wait.began, abs=0.1)


def test_waited_counts_from_the_deferral_across_a_triggerer_restart(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(id=SYNC, executions=[{"steps": sync_steps(queued=1, running=2)}])
    clock = SimulatedClock()
    deferred = PolytomicSyncStatusTrigger(
        sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=60, waiting_since=clock.now
    )
    _, kwargs = round_trip(deferred).serialize()
    clock.now += 19 * 60  # the triggerer was down; another one rebuilds the trigger from its arguments
    wait, info, _ = simulated(emulator, clock, **kwargs)
    assert info[0].endswith("Waited 1140 s.")  # before: "Waited 0 s", from this triggerer's start
    assert 1200 <= int(info[1].rsplit("Waited ", 1)[1].split(" ")[0]) <= 1206  # the first poll, 60-66 s later
    assert wait.event["verdict"] == "succeeded" and wait.event["execution_id"] == sync.executions[0].id
    assert wait.event["waited"] == pytest.approx(clock.now - (wait.began - 19 * 60), abs=0.1)
    assert wait.event["waited"] > (19 + 3) * 60  # the whole wait: down 19 minutes, then 3 polls


def test_a_trigger_serialized_without_waiting_since_counts_from_its_start(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": sync_steps(queued=1, running=1)}])
    clock = SimulatedClock()
    _, kwargs = PolytomicSyncStatusTrigger(sync_id=SYNC, polytomic_conn_id=make_connection()).serialize()
    del kwargs["waiting_since"]  # as an older version of the provider serialized it
    wait, info, _ = simulated(emulator, clock, **kwargs)
    assert info[0].endswith("Waited 0 s.")
    assert wait.event["waited"] == pytest.approx(clock.now - wait.began, abs=0.1)


@pytest.mark.parametrize(("setting", "every", "warned"), [("120", "120", False), ("0", "600", True)])
def test_the_still_waiting_interval_is_read_from_airflows_configuration(
    make_connection: Callable[..., str],
    emulator: PolytomicEmulator,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    every: str,
    warned: bool,
) -> None:
    monkeypatch.setenv("AIRFLOW__POLYTOMIC__STILL_WAITING_LOG_INTERVAL", setting)
    monkeypatch.setattr(trigger_module, "_config_warned", False)
    sync = emulator.add_sync(id=SYNC, executions=[{"steps": sync_steps(queued=1, running=6)}])
    clock = SimulatedClock()
    kwargs = {"sync_id": SYNC, "execution_id": sync.executions[0].id, "polytomic_conn_id": make_connection()}
    _, info, warnings = simulated(emulator, clock, poll_interval=60, **kwargs)
    assert f"else a line every {every} s." in info[0]
    assert [("still_waiting_log_interval" in line) for line in warnings] == ([True] if warned else [])
    assert sum("Still waiting after" in line for line in info) == (2 if not warned else 0)  # 6 running polls
    _, _, again = simulated(emulator, clock, poll_interval=60, **kwargs)  # another trigger, same process
    assert again == []  # the setting's warning is given once per triggerer process


# -- a trigger row this version cannot run (issue 25.1): the triggerer must survive it ----------------------

#: What a provider of another version might have written (``serialize()``), one bad argument at a time, and
#: the words the error must name.
NEWER = "9.9.9"
BAD_ROWS = {
    "an unknown watch option": ({"watch": {"sync_id": SYNC, "only_full_syncs": True}}, "'only_full_syncs'"),
    "an unknown argument": ({"watch": {"sync_id": SYNC}, "priority": "high"}, "'priority'"),
    "a zero poll_interval": ({"watch": {"sync_id": SYNC}, "poll_interval": 0}, "poll_interval must be"),
    "a text poll_interval": ({"watch": {"sync_id": SYNC}, "poll_interval": "fast"}, "poll_interval must be"),
    "a text deadline": ({"watch": {"sync_id": SYNC}, "deadline": "tomorrow"}, "deadline (Unix time) must be"),
    "no sync_id": ({"watch": {"execution_id": None}}, "needs a sync_id"),
    "a watch that is not an object": ({"watch": "sync"}, "watch must be a JSON object"),
    "an unknown kind": ({"watch": {"sync_id": SYNC, "kind": "cdc"}}, "kind must be 'model' or 'bulk'"),
    "a kind of the wrong type": ({"watch": {"sync_id": SYNC, "kind": ["model"]}}, "kind must be"),
    "completed_after as a number": ({"watch": {"sync_id": SYNC, "completed_after": 5}}, "completed_after must be"),
    "completed_after as prose": ({"watch": {"sync_id": SYNC, "completed_after": "yesterday"}}, "completed_after"),
    "an anchor as a list": ({"watch": {"sync_id": SYNC, "anchor": ["2026-01-01"]}}, "anchor must be"),
    "fail_on_record_errors as text": (
        {"watch": {"sync_id": SYNC, "fail_on_record_errors": "false"}},
        "fail_on_record_errors must be true or false",
    ),
    "an execution id that is a path": ({"watch": {"sync_id": SYNC, "execution_id": "../../api/me"}}, "must be a UUID"),
    "no connection id": ({"watch": {"sync_id": SYNC}, "polytomic_conn_id": None}, "polytomic_conn_id must name"),
}


def from_row(kwargs: dict[str, Any]) -> PolytomicSyncStatusTrigger:
    """What Airflow's triggerer does with a row: import the class and call it with the stored kwargs."""
    classpath = f"{PolytomicSyncStatusTrigger.__module__}.{PolytomicSyncStatusTrigger.__qualname__}"
    module, _, name = classpath.rpartition(".")
    trigger: PolytomicSyncStatusTrigger = getattr(importlib.import_module(module), name)(
        **json.loads(json.dumps(kwargs))
    )
    return trigger


async def events_of(trigger: PolytomicSyncStatusTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_row_this_version_cannot_run_ends_in_one_error_event_not_a_dead_triggerer(
    case: str, make_connection: Callable[..., str], emulator: PolytomicEmulator, logs: Callable[[], str]
) -> None:
    row, named = BAD_ROWS[case]
    row = {"polytomic_conn_id": make_connection(), "poll_interval": 0.05, **row, "provider_version": NEWER}
    # Airflow (2.11, 3.0, 3.3) catches only TypeError here; anything else kills the triggerer's runner.
    trigger = from_row(row)
    (event,) = asyncio.run(events_of(trigger))  # one event, never a raw ValueError from run()
    assert event["verdict"] == "error", event
    assert named in event["message"] and "PolytomicSyncStatusTrigger cannot run" in event["message"], event
    assert f"airflow-provider-polytomic {NEWER}" in event["message"] and __version__ in event["message"]
    assert "Run the same provider version" in event["message"]
    assert emulator.requests == []  # nothing polled on arguments it cannot trust
    assert named in logs()  # in the trigger's own log lines too (the task log, in a triggerer)
    assert trigger.serialize()[1].items() >= json.loads(json.dumps(row)).items()  # the row is kept as it came
    # The task resumes with that event: it fails with the message (never skipped, never "not understood").
    from airflow_provider_polytomic.core.status import Outcome
    from airflow_provider_polytomic.execution_wait import settle

    with pytest.raises(PolytomicError, match="cannot run") as failure:
        settle(Outcome.from_event(event))
    assert not isinstance(failure.value, AirflowSensorTimeout)


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_trigger_built_by_hand_with_a_bad_argument_raises_at_once_and_only_a_type_error(case: str) -> None:
    row, named = BAD_ROWS[case]
    with pytest.raises(PolytomicTriggerArgumentError) as raised:
        from_row({"poll_interval": 1, **row})  # no provider_version: a DAG author's (or a pre-marker row)
    # A clear configuration error for the DAG author, and a TypeError, which a triggerer catches (one failed
    # trigger, never a dead runner).
    assert isinstance(raised.value, TypeError) and isinstance(raised.value, PolytomicConfigError)
    assert named in str(raised.value)


def test_serialize_says_which_version_wrote_the_row(make_connection: Callable[..., str]) -> None:
    kwargs = PolytomicSyncStatusTrigger(sync_id=SYNC, polytomic_conn_id=make_connection()).serialize()[1]
    assert kwargs["provider_version"] == __version__
    # Every other watch option can change the verdict (docs/reliability.md): sync_name only names the sync in log
    # lines, waiting_since only the "waited" figures.
    assert kwargs["ignorable"] == ["sync_name", "waiting_since"]


def test_an_unknown_option_the_writer_marked_ignorable_is_dropped_with_a_warning(
    make_connection: Callable[..., str], emulator: PolytomicEmulator, logs: Callable[[], str]
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 1}, {"status": "completed"}]}])
    row = {
        "watch": {"sync_id": SYNC, "log_hint": "nightly"},
        "polytomic_conn_id": make_connection(),
        "poll_interval": 0.05,
        "started_at": 1.0,
        "provider_version": NEWER,
        "ignorable": ["log_hint", "started_at"],
    }
    (event,) = asyncio.run(events_of(from_row(row)))
    assert event["verdict"] == "succeeded", event
    assert "ignores 'log_hint', 'started_at'" in logs() and f"polytomic {NEWER}" in logs()


def test_ignorable_is_honoured_only_in_a_row_and_only_for_the_names_listed(emulator: PolytomicEmulator) -> None:
    by_hand = {"watch": {"sync_id": SYNC, "log_hint": "x"}, "ignorable": ["log_hint"]}
    with pytest.raises(PolytomicTriggerArgumentError, match="'log_hint'"):
        from_row(by_hand)
    row = {**by_hand, "watch": {"sync_id": SYNC, "log_hint": "x", "only_full_syncs": True}, "provider_version": NEWER}
    (event,) = asyncio.run(events_of(from_row(row)))
    assert event["verdict"] == "error" and "'only_full_syncs'" in event["message"]
    assert "'log_hint'" not in event["message"]


def test_a_404_on_the_followed_execution_says_it_is_gone_and_on_the_sync_does_not(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 10_000}]}])
    followed = sync.executions[0].id
    emulator.add_fault("status", path=f"/api/syncs/{SYNC}/executions/{followed}", status=404)
    conn = make_connection()
    event = asyncio.run(
        PolytomicSyncStatusTrigger(
            sync_id=SYNC, execution_id=followed, polytomic_conn_id=conn, poll_interval=0.05
        ).wait()
    )
    assert (event["verdict"], event["gone"], event["execution_id"]) == ("error", True, followed)
    unknown = "1c9e4a7b-0d2f-4e6a-9b8c-3f5e7d9a1b2c"
    event = asyncio.run(PolytomicSyncStatusTrigger(sync_id=unknown, polytomic_conn_id=conn, poll_interval=0.05).wait())
    assert (event["verdict"], event["gone"]) == ("error", False)


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
