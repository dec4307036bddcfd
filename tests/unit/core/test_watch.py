"""Which execution is judged: the execution-following state machine, without a server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_provider_polytomic.core.errors import PolytomicInvalidIdError
from airflow_provider_polytomic.core.models import ExecutionPage, SyncStatus
from airflow_provider_polytomic.core.status import Verdict
from airflow_provider_polytomic.core.watch import SyncWatch
from tests.unit.core.samples import SYNC, T0, A, B, execution


def test_the_watch_asks_for_one_warning_per_unknown_status() -> None:
    watch = SyncWatch(SYNC, execution_id=A)
    warnings = [watch.observe(execution(A, status)).warn for status in ("odd", "odd", "stranger", "odd")]
    assert warnings == [True, False, True, False]


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


def test_a_watch_following_an_execution_reuses_its_call_until_the_execution_changes() -> None:
    watch = SyncWatch(SYNC, execution_id=A)
    first = watch.next_call()
    assert watch.next_call() is first  # built (and its ids checked) once, not on every poll
    watch.observe(execution(B, "running"))  # a driver may hand it another execution: it follows that one
    assert watch.execution_id == B
    assert watch.next_call().path.endswith(f"/executions/{B}") and watch.next_call() is not first
    watch.execution_id = "not-a-uuid"
    with pytest.raises(PolytomicInvalidIdError):
        watch.next_call()  # a changed id is checked again
