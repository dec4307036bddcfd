"""The asset watcher's logic without I/O: how an execution ended, which are new, the ledger, the payload."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_polytomic.core.completions import (
    LEDGER_IDS,
    CompletionLedger,
    completion_payload,
    newly_finished,
    outcome_of,
    outcomes,
    scan_since,
)
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicConfigError
from airflow_provider_polytomic.core.models import Execution, ExecutionPage

SYNC = "5c1e9a47-3d2b-4f6e-8a90-7b1c2d3e4f50"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def ended(execution_id: str, minute: int, status: str = "completed", **more: Any) -> Execution:
    """An execution created a minute before it ended, ``minute`` minutes after T0."""
    return Execution.from_api(
        {
            "id": execution_id,
            "status": status,
            "created_at": (T0 + timedelta(minutes=minute - 1)).isoformat(),
            "completed_at": (T0 + timedelta(minutes=minute)).isoformat(),
            **more,
        }
    )


def test_outcomes_and_the_ledger_without_io() -> None:
    def execution(status: str, **extra: Any) -> Execution:
        return Execution.from_api({"id": "e", "status": status, **extra})

    assert outcome_of(execution("completed"), SyncKind.MODEL) == "succeeded"
    assert outcome_of(execution("completed", counts={"error": 2}), SyncKind.MODEL) == "completed_with_errors"
    assert outcome_of(execution("errors"), SyncKind.BULK) == "completed_with_errors"
    assert outcome_of(execution("canceled"), SyncKind.MODEL) == "canceled"
    assert outcome_of(execution("running"), SyncKind.MODEL) is None
    assert outcome_of(execution("rebalancing"), SyncKind.MODEL) is None  # unknown: never finished

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ledger = CompletionLedger(start)
    for minute in range(1, LEDGER_IDS + 11):
        done = Execution.from_api(
            {"id": f"e{minute}", "status": "completed", "completed_at": (start + timedelta(minutes=minute)).isoformat()}
        )
        assert ledger.is_new(done)
        ledger.mark(done)
        assert not ledger.is_new(done)
    # Bounded: the ten oldest ids are forgotten and the watermark moved past them instead.
    assert len(ledger.seen) == LEDGER_IDS and ledger.watermark == start + timedelta(minutes=10)
    again = CompletionLedger.from_state(json.loads(json.dumps(ledger.to_state())))
    assert again == ledger
    assert CompletionLedger.from_state({"something": "else"}) is None


def test_outcomes_are_a_non_empty_choice_in_one_order() -> None:
    assert outcomes("succeeded") == ("succeeded",)
    assert outcomes(["canceled", "succeeded"]) == outcomes(["succeeded", "canceled"])
    for bad in ([], ["succeeded", "maybe"], "done"):
        with pytest.raises(PolytomicConfigError, match="outcomes must be a non-empty list"):
            outcomes(bad)


def test_the_scan_since_the_watermark_stops_at_the_first_run_that_ended_before_it() -> None:
    ledger = CompletionLedger(T0 + timedelta(minutes=10))
    scan = scan_since(ledger, SyncKind.MODEL)
    running = Execution.from_api({"id": "r", "status": "running", "created_at": T0.isoformat()})
    # A run still going is never the boundary, however old; the first one that ended at the watermark is.
    assert not scan.feed(ExecutionPage((running, ended("new", 12), ended("old", 10), ended("older", 5))))
    assert [execution.id for execution in scan.found] == ["r", "new"]


def test_newly_finished_skips_running_and_seen_runs_and_orders_oldest_first() -> None:
    ledger = CompletionLedger(T0)
    seen = ended("seen", 3)
    ledger.mark(seen)
    running = Execution.from_api({"id": "r", "status": "running", "created_at": T0.isoformat()})
    found = [running, ended("c", 9), ended("b", 7, "failed"), seen, ended("a", 1)]
    assert [
        execution.id for execution in newly_finished(found, ledger, SyncKind.MODEL, T0 + timedelta(minutes=10))
    ] == ["a", "b", "c"]


def test_a_payload_carries_the_summary_the_outcome_and_the_sensors_verdict() -> None:
    run = ended("e1", 2, counts={"error": 3}, errors=["row 7 was rejected"])
    payload = completion_payload(run, sync_id=SYNC, kind=SyncKind.MODEL, outcome="completed_with_errors")
    assert (payload["outcome"], payload["verdict"], payload["sync_kind"]) == (
        "completed_with_errors",
        "failed",
        "model",
    )
    assert payload["execution_id"] == "e1" and "3 record error" in payload["message"]
    assert json.loads(json.dumps(payload)) == payload


@pytest.mark.parametrize(
    "state",
    [
        None,
        {"version": 2, "watermark": T0.isoformat(), "seen": {}},
        {"version": 1, "watermark": None, "seen": {}},
        {"version": 1, "watermark": T0.isoformat(), "seen": ["e1"]},
        {"version": 1, "watermark": T0.isoformat(), "seen": {"e1": "yesterday"}},
        {"version": 1, "watermark": T0.isoformat(), "seen": {"e1": None}},
    ],
)
def test_a_saved_state_that_is_not_a_ledger_reads_as_none(state: Any) -> None:
    assert CompletionLedger.from_state(state) is None


def test_a_run_without_completed_at_is_new_once_if_it_was_seen_running_or_began_after_the_watermark() -> None:
    ledger = CompletionLedger(T0)
    before = {"created_at": (T0 - timedelta(minutes=5)).isoformat()}
    seen_running = Execution.from_api({"id": "r", "status": "running", **before})
    assert newly_finished([seen_running], ledger, SyncKind.MODEL, T0 + timedelta(minutes=1)) == []
    ended_null = Execution.from_api({"id": "r", "status": "completed", "completed_at": None, **before})
    never_seen = Execution.from_api({"id": "x", "status": "completed", **before})
    after = Execution.from_api(
        {"id": "y", "status": "completed", "created_at": (T0 + timedelta(minutes=1)).isoformat()}
    )
    # The scan goes past the run seen running (its end is unknown) and stops at the one never seen running.
    scan = scan_since(ledger, SyncKind.MODEL)
    assert not scan.feed(ExecutionPage((after, ended_null, never_seen)))
    assert [execution.id for execution in scan.found] == ["y", "r"]
    now = T0 + timedelta(minutes=2)
    new = newly_finished(scan.found, ledger, SyncKind.MODEL, now)
    assert [execution.id for execution in new] == ["r", "y"]  # both ended "now": by creation
    for execution in new:
        ledger.mark(execution, now)
    assert not ledger.is_new(ended_null) and not ledger.is_new(after) and ledger.running == {}
    # Saved and read back (the asset state store), a run seen running is still remembered.
    ledger.note_running([Execution.from_api({"id": "z", "status": "running", **before})], now)
    again = CompletionLedger.from_state(json.loads(json.dumps(ledger.to_state())))
    assert again is not None and again.running.keys() == {"z"} and again.seen.keys() == {"y", "r"}
    assert again.is_new(Execution.from_api({"id": "z", "status": "completed", **before}))
    # A ledger saved before ``running`` existed still reads.
    legacy = {key: value for key, value in ledger.to_state().items() if key != "running"}
    assert CompletionLedger.from_state(legacy) is not None


def test_a_new_watchers_watermark_is_polytomics_now_never_before_what_it_already_shows() -> None:
    from airflow_provider_polytomic.core.clock import ServerClock
    from airflow_provider_polytomic.core.completions import starting_watermark

    late = ended("late", 30)
    assert starting_watermark(ExecutionPage((late,))) == late.completed_at  # no Date: the newest time
    assert starting_watermark(ExecutionPage(())) == datetime(1970, 1, 1, tzinfo=timezone.utc)  # nothing yet
    behind = starting_watermark(ExecutionPage((), clock=ServerClock(timedelta(minutes=-2))))
    assert abs(behind - (datetime.now(timezone.utc) - timedelta(minutes=2))) < timedelta(seconds=5)
