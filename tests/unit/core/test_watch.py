"""Status semantics and the execution-following state machine, without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_polytomic.core.models import Execution, ExecutionPage, SyncStatus
from airflow_provider_polytomic.core.status import Verdict, judge
from airflow_provider_polytomic.core.watch import SyncWatch

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
T0 = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def execution(execution_id: str, status: str, created: datetime = T0, **more: Any) -> Execution:
    return Execution.from_api({"id": execution_id, "status": status, "created_at": created.isoformat(), **more})


def test_only_completed_succeeds() -> None:
    assert judge(SYNC, execution(A, "completed"), fail_on_record_errors=True).verdict is Verdict.SUCCEEDED
    for status in ("failed", "canceled", "interrupted"):
        result = judge(SYNC, execution(A, status, errors=["boom"]), fail_on_record_errors=True)
        assert result.verdict is Verdict.FAILED
        assert status in result.message and A in result.message and "boom" in result.message
    for status in ("created", "scheduled", "queued", "waiting", "running", "processing", "canceling"):
        assert judge(SYNC, execution(A, status), fail_on_record_errors=True).verdict is Verdict.WAITING


def test_unknown_status_never_passes() -> None:
    result = judge(SYNC, execution(A, "partially_done"), fail_on_record_errors=True)
    assert result.verdict is Verdict.WAITING and result.unknown_status


def test_the_watch_asks_for_one_warning_per_unknown_status() -> None:
    watch = SyncWatch(SYNC, execution_id=A)
    warnings = [watch.observe(execution(A, status)).warn for status in ("odd", "odd", "stranger", "odd")]
    assert warnings == [True, False, True, False]


def test_record_errors_fail_only_when_asked() -> None:
    done = execution(A, "completed", counts={"error": 12}, errors=[f"row {n}" for n in range(9)])
    failed = judge(SYNC, done, fail_on_record_errors=True)
    assert failed.verdict is Verdict.FAILED
    assert "12 record error" in failed.message and "row 0" in failed.message and "6 more" in failed.message
    assert judge(SYNC, done, fail_on_record_errors=False).verdict is Verdict.SUCCEEDED


def test_follows_the_first_running_execution_even_when_a_newer_run_starts() -> None:
    watch = SyncWatch(SYNC)
    assert watch.next_call().path.endswith("/status")
    first = watch.observe(SyncStatus(current_execution=execution(A, "running")))
    assert first.verdict is Verdict.WAITING and watch.execution_id == A
    assert watch.next_call().path.endswith(f"/executions/{A}")
    assert watch.observe(execution(A, "completed")).verdict is Verdict.SUCCEEDED


def test_completed_after_ignores_stale_runs() -> None:
    watch = SyncWatch(SYNC, completed_after=T0)
    stale = SyncStatus(last_execution=execution(A, "completed", created=T0 - timedelta(days=1)))
    assert watch.observe(stale).verdict is Verdict.WAITING and watch.execution_id is None
    fresh = SyncStatus(current_execution=execution(B, "running", created=T0 + timedelta(minutes=1)))
    assert watch.observe(fresh).verdict is Verdict.WAITING and watch.execution_id == B


def test_no_execution_waits() -> None:
    assert SyncWatch(SYNC).observe(SyncStatus()).verdict is Verdict.WAITING


def test_anchor_finds_the_run_in_progress_at_the_anchor_across_pages() -> None:
    watch = SyncWatch(SYNC, anchor=T0)
    assert watch.next_call().path.endswith("/executions")
    newest = execution(
        B, "completed", created=T0 + timedelta(minutes=5), completed_at=(T0 + timedelta(minutes=6)).isoformat()
    )
    page1 = ExecutionPage((newest,), next_page_token="1")
    assert watch.observe(page1).again
    assert watch.next_call().params == {"page_token": "1"}
    followed = execution(
        A, "failed", created=T0 - timedelta(minutes=1), completed_at=(T0 + timedelta(minutes=2)).isoformat()
    )
    older = execution(
        "33333333-3333-4333-8333-333333333333",
        "completed",
        created=T0 - timedelta(hours=2),
        completed_at=(T0 - timedelta(hours=1)).isoformat(),
    )
    result = watch.observe(ExecutionPage((followed, older)))
    assert result.verdict is Verdict.FAILED and result.execution is not None and result.execution.id == A


def test_a_watch_crosses_to_its_trigger_as_json_primitives_and_comes_back_the_same() -> None:
    import json

    from airflow_provider_polytomic.core.models import SyncKind

    watch = SyncWatch(SYNC, completed_after=T0, anchor=T0, fail_on_record_errors=False, kind=SyncKind.BULK)
    state = json.loads(json.dumps(watch.to_dict()))
    again = SyncWatch.from_dict(state)
    assert again.to_dict() == watch.to_dict()
    assert (again.completed_after, again.anchor, again.kind) == (T0, T0, SyncKind.BULK)
    assert again.next_call().path == watch.next_call().path


def test_an_outcome_crosses_back_as_an_event_and_a_malformed_event_is_refused() -> None:
    import pytest

    from airflow_provider_polytomic.core.status import Outcome

    judgement = judge(SYNC, execution(A, "failed", errors=["boom"]), fail_on_record_errors=True)
    outcome = Outcome.of(judgement, waited=12.34)
    back = Outcome.from_event(outcome.to_event())
    assert back == Outcome("failed", judgement.message, SYNC, A, judgement.summary(), 12.3)
    for bad in (None, {"verdict": "maybe"}, {"verdict": "succeeded", "summary": None}, "succeeded"):
        with pytest.raises(ValueError):
            Outcome.from_event(bad)


def test_one_classification_gives_the_gate_and_the_watcher_their_answers() -> None:
    from airflow_provider_polytomic.core.models import SyncKind
    from airflow_provider_polytomic.core.status import Ending, classify

    cases = [
        ("completed", {}, SyncKind.MODEL, Ending.SUCCEEDED),
        ("completed", {"counts": {"error": 2}}, SyncKind.MODEL, Ending.COMPLETED_WITH_ERRORS),
        ("errors", {}, SyncKind.BULK, Ending.COMPLETED_WITH_ERRORS),
        ("errors", {}, SyncKind.MODEL, None),  # not a model status: unknown, never finished
        ("canceled", {}, SyncKind.MODEL, Ending.CANCELED),
        ("interrupted", {}, SyncKind.BULK, Ending.INTERRUPTED),
        ("running", {}, SyncKind.MODEL, None),
        ("rebalancing", {}, SyncKind.MODEL, None),
    ]
    for status, more, kind, ending in cases:
        run = execution(A, status, **more)
        assert classify(run, kind) is ending, (status, kind)
        verdict = judge(SYNC, run, fail_on_record_errors=True, kind=kind).verdict
        assert verdict is (
            Verdict.WAITING if ending is None else Verdict.SUCCEEDED if ending is Ending.SUCCEEDED else Verdict.FAILED
        )
