"""Which execution is judged: the execution-following state machine, without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_polytomic.core.errors import PolytomicConfigError, PolytomicInvalidIdError
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

    from airflow_provider_polytomic.core.constants import SyncKind

    watch = SyncWatch(SYNC, completed_after=T0, anchor=T0, fail_on_record_errors=False, kind=SyncKind.BULK)
    state = json.loads(json.dumps(watch.to_dict()))
    again = SyncWatch.from_dict(state)
    assert again.to_dict() == watch.to_dict()
    assert (again.completed_after, again.anchor, again.kind) == (T0, T0, SyncKind.BULK)
    assert again.next_call().path == watch.next_call().path


def test_an_option_at_its_default_stays_out_of_the_trigger_row_so_an_older_triggerer_can_run_it() -> None:
    # An older triggerer refuses a watch option it does not know (it could change the verdict): a newer option
    # is written only by a task that sets it, so upgrading workers first fails only the tasks that use it.
    from airflow_provider_polytomic.core.constants import SyncKind
    from airflow_provider_polytomic.core.watch import WATCH_OPTIONS

    plain = SyncWatch(SYNC)
    assert plain.to_dict() == {"sync_id": SYNC}
    assert SyncWatch.from_dict(plain.to_dict()) == plain
    every = SyncWatch(SYNC, A, T0, T0, fail_on_record_errors=False, kind=SyncKind.BULK, sync_name="Orders")
    assert list(every.to_dict()) == list(WATCH_OPTIONS)  # a value that is not the default is always written
    assert SyncWatch(SYNC, fail_on_record_errors=0).to_dict() == {"sync_id": SYNC, "fail_on_record_errors": False}


def test_a_named_watch_names_the_sync_in_every_message_and_the_summary() -> None:
    named = f"Polytomic sync 'Orders' ({SYNC})"
    watch = SyncWatch(SYNC, completed_after=T0, sync_name="Orders")
    nothing = watch.observe(SyncStatus())
    running = watch.observe(SyncStatus(current_execution=execution(A, "running", created=T0)))
    unknown = watch.observe(execution(A, "rebalancing", created=T0))
    done = watch.observe(execution(A, "completed", created=T0))
    assert [named in item.message for item in (nothing, running, unknown, done)] == [True] * 4
    assert done.summary() is not None and list(done.summary() or {})[:3] == ["sync_id", "sync_name", "execution_id"]
    assert SyncWatch.from_dict(watch.to_dict()).sync_name == "Orders"  # it crosses to the trigger
    assert f"Polytomic sync {SYNC} execution {A}: running" in SyncWatch(SYNC).observe(execution(A, "running")).message


def test_a_reschedule_pokes_anchor_is_put_on_polytomics_clock_before_it_is_compared() -> None:
    """The first poke ran at T0 on Airflow's clock; Polytomic's is 2 minutes behind. The run seen running then
    ended 30 s later, at T0 - 90 s on Polytomic's clock: still the one judged (before: dropped as "ended before the
    anchor", and the sensor waited for its timeout)."""
    from airflow_provider_polytomic.core.clock import ServerClock

    watch = SyncWatch(SYNC, local_anchor=T0)
    assert watch.next_call().path.endswith("/executions")
    ran = execution(
        A, "completed", created=T0 - timedelta(seconds=150), completed_at=(T0 - timedelta(seconds=90)).isoformat()
    )
    older = execution(B, "failed", created=T0 - timedelta(hours=2), completed_at=(T0 - timedelta(hours=1)).isoformat())
    behind = ServerClock(timedelta(minutes=-2))
    result = watch.observe(ExecutionPage((ran, older), clock=behind))
    assert result.verdict is Verdict.SUCCEEDED and result.execution is not None and result.execution.id == A
    # With Polytomic 2 minutes ahead, a run that ended a minute before the first poke (T0 + 60 s on its clock)
    # is not the one in progress at it.
    ahead = ServerClock(timedelta(minutes=2))
    stale = execution(B, "failed", created=T0, completed_at=(T0 + timedelta(seconds=60)).isoformat())
    newer = execution(A, "running", created=T0 + timedelta(seconds=110))
    again = SyncWatch(SYNC, local_anchor=T0)
    result = again.observe(ExecutionPage((newer, stale), clock=ahead))
    assert result.verdict is Verdict.WAITING and again.execution_id == A


def test_the_anchor_a_trigger_gets_is_polytomics_now_and_a_local_anchor_never_crosses() -> None:
    from airflow_provider_polytomic.core.clock import ServerClock
    from airflow_provider_polytomic.core.watch import WATCH_OPTIONS

    watch = SyncWatch(SYNC)
    watch.observe(SyncStatus(clock=ServerClock(timedelta(minutes=-2))))
    ours = datetime.now(timezone.utc)
    assert abs(watch.polytomic_now() - (ours - timedelta(minutes=2))) < timedelta(seconds=5)
    assert "local_anchor" not in WATCH_OPTIONS and "local_anchor" not in SyncWatch(SYNC, local_anchor=T0).to_dict()


@pytest.mark.parametrize(
    ("option", "value", "complaint"),
    [
        ("kind", "cdc", "kind must be 'model' or 'bulk'"),
        ("kind", {"model": 1}, "kind must be"),
        ("completed_after", 5, "completed_after must be an ISO 8601 timestamp"),
        ("completed_after", "yesterday", "completed_after must be an ISO 8601 timestamp"),
        ("anchor", ["2026-01-01"], "anchor must be an ISO 8601 timestamp"),
        ("fail_on_record_errors", "false", "fail_on_record_errors must be true or false"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_config_error_naming_the_option(
    option: str, value: object, complaint: str
) -> None:
    # Never a bare ValueError (a trigger turns config errors into its error event), never a silent bool("false").
    with pytest.raises(PolytomicConfigError, match=complaint):
        SyncWatch.from_dict({"sync_id": SYNC, option: value})


def test_a_watch_that_is_not_an_object_is_a_config_error() -> None:
    with pytest.raises(PolytomicConfigError, match="must be a JSON object"):
        SyncWatch.from_dict(["sync_id"])  # type: ignore[arg-type]


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


def test_an_authors_completed_after_is_an_aware_instant_or_a_clear_error() -> None:
    from airflow_provider_polytomic.core.watch import completed_after_instant

    utc = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)
    assert completed_after_instant(None) is None and completed_after_instant("") is None
    assert completed_after_instant(datetime(2026, 1, 2, 3, 4)) == utc  # naive means UTC
    assert completed_after_instant("2026-01-02T04:04:00+01:00") == utc
    with pytest.raises(PolytomicConfigError, match="completed_after must be"):
        completed_after_instant("yesterday")


def test_reliability_md_says_of_every_watch_option_whether_an_older_triggerer_may_drop_it() -> None:
    # The page's list is written by hand: a new option must be placed on one side, or this fails.
    import re
    from pathlib import Path

    from airflow_provider_polytomic.core.watch import IGNORABLE_OPTIONS, WATCH_OPTIONS

    page = (Path(__file__).resolve().parents[3] / "docs" / "reliability.md").read_text()
    paragraph = page.split("**Which options may be ignored.**", 1)[1].split("\n\n", 1)[0].replace("\n", " ")
    names = r"((?:`\w+`(?:, | and )?)+)"
    ignorable = re.search(r"(?:is|are) ignorable: " + names, paragraph)
    deciding = re.search(names + r" each decide", paragraph)
    assert ignorable and deciding, paragraph
    assert set(re.findall(r"`(\w+)`", ignorable[1])) == set(IGNORABLE_OPTIONS)
    assert set(re.findall(r"`(\w+)`", deciding[1])) == set(WATCH_OPTIONS) - set(IGNORABLE_OPTIONS)
