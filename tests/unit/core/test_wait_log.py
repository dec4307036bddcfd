"""What a deferred wait logs: its story (start, changes, "still waiting", warnings, end), not every poll."""

from __future__ import annotations

import math
from typing import Any

import pytest

from airflow_provider_polytomic.core.status import Judgement, Verdict, judge
from airflow_provider_polytomic.core.wait_log import (
    DEFAULT_STILL_WAITING_INTERVAL,
    WaitLog,
    still_waiting_interval,
    wait_began,
)
from airflow_provider_polytomic.core.watch import SyncWatch
from tests.unit.core.samples import SYNC, A, B, execution

T0 = 1_767_268_800.0  # a Unix time: when the task deferred


def poll(execution_id: str, status: str, **counts: int) -> Judgement:
    return judge(SYNC, execution(execution_id, status, counts=counts or None), fail_on_record_errors=True)


def test_a_simulated_hour_logs_a_tenth_of_a_line_per_poll_in_steady_state() -> None:
    """Queued for 3 minutes, running for an hour with counts growing every poll, polled every 60 s."""
    story = WaitLog(began=T0)
    story.start(SYNC, {"execution_id": A}, 60, T0)
    timeline = [poll(A, "queued")] * 3 + [poll(A, "running", insert=100 * n, total=100 * n) for n in range(1, 61)]
    logged = [
        (minute, line.text)
        for minute, judgement in enumerate(timeline, start=1)
        if (line := story.poll(judgement, T0 + 60 * minute)) is not None
    ]
    # Each change once (queued, running), then one "still waiting" line every 10 minutes, with the counts.
    assert [minute for minute, _ in logged] == [1, 4, 14, 24, 34, 44, 54]
    assert "queued (no counts yet). Waited 60 s." in logged[0][1]
    assert "running (insert=100, total=100). Waited 240 s." in logged[1][1]
    assert "running (insert=1100, total=1100). Still waiting after 840 s." in logged[2][1]
    steady = [minute for minute, _ in logged if minute > 4]  # after the last change
    assert len(steady) / (len(timeline) - 4) <= 0.1


def test_counts_are_news_when_one_starts_moving_not_when_they_grow() -> None:
    story = WaitLog(began=T0)
    story.start(SYNC, {"execution_id": A}, 60, T0)
    assert story.poll(poll(A, "running"), T0 + 60) is not None  # the first poll is always told
    assert story.poll(poll(A, "running", insert=5), T0 + 120) is not None  # rows start to move
    assert story.poll(poll(A, "running", insert=500_000), T0 + 180) is None  # they only grow
    line = story.poll(poll(A, "running", insert=500_001, error=1), T0 + 240)  # the first record error
    assert line is not None and "error=1" in line.text and not line.warning
    assert story.poll(poll(A, "running", insert=500_001, error=90), T0 + 300) is None
    assert story.poll(poll(A, "running", insert=9, error=0), T0 + 360) is None  # a count falling is not news


def test_another_execution_or_status_is_news() -> None:
    story = WaitLog(began=T0)
    story.start(SYNC, {}, 60, T0)
    nothing = Judgement(Verdict.WAITING, SYNC, None, f"Polytomic sync {SYNC} has no execution yet; waiting.")
    assert story.poll(nothing, T0 + 60) is not None
    assert story.poll(nothing, T0 + 120) is None
    assert story.poll(poll(A, "queued"), T0 + 180) is not None  # an execution found
    assert story.poll(poll(A, "running"), T0 + 240) is not None  # its status changed
    assert story.poll(poll(B, "running"), T0 + 300) is not None  # another execution


def test_a_warning_restarts_the_still_waiting_clock_and_an_unknown_status_is_warned() -> None:
    story = WaitLog(began=T0, every=300)
    story.start(SYNC, {"execution_id": A}, 60, T0)
    assert story.poll(poll(A, "running"), T0 + 60) is not None
    story.logged(T0 + 290)  # a transient failure was logged
    assert story.poll(poll(A, "running"), T0 + 350) is None
    still = story.poll(poll(A, "running"), T0 + 590)
    assert still is not None and still.text.endswith("Still waiting after 590 s.")
    watch = SyncWatch(sync_id=SYNC, execution_id=A)
    first = story.poll(watch.observe(execution(A, "defragmenting")), T0 + 600)
    assert first is not None and first.warning and "does not know" in first.text
    assert story.poll(watch.observe(execution(A, "defragmenting")), T0 + 660) is None  # told once


def test_waited_counts_from_the_deferral() -> None:
    story = WaitLog(began=T0)
    restarted_at = T0 + 19 * 60  # a triggerer restart rebuilt the trigger 19 minutes into the wait
    assert story.start(SYNC, {"execution_id": A}, 60, restarted_at).endswith("Waited 1140 s.")
    assert story.final(poll(A, "completed"), restarted_at + 60).endswith(
        "completed. Counts: no counts yet. Waited 1200 s."
    )
    assert story.waited(T0 - 5) == 0.0  # a clock stepped back never gives a negative wait


@pytest.mark.parametrize(
    ("watch", "says"),
    [
        ({"execution_id": A}, f"sync {SYNC} execution {A}."),
        ({"execution_id": A, "kind": "bulk"}, f"bulk sync {SYNC} execution {A}."),
        ({"anchor": "2026-01-01T12:00:00+00:00"}, "in progress at 2026-01-01T12:00:00+00:00, else the first created"),
        ({"completed_after": "2026-01-01T00:00:00+00:00"}, "current execution, else its last one, if created after"),
    ],
)
def test_the_start_line_says_which_execution_or_how_it_is_found(watch: dict[str, Any], says: str) -> None:
    line = WaitLog(began=T0, every=300).start(SYNC, watch, 30, T0)
    assert says in line and "Polling every 30 s; logging each change, else a line every 300 s." in line


@pytest.mark.parametrize("value", [None, "1767268800", math.nan, math.inf, True, -5, 0, [1]])
def test_a_missing_or_bad_waiting_since_counts_from_now(value: Any) -> None:
    assert wait_began(value, T0) == T0


def test_waiting_since_is_kept_and_a_clock_ahead_is_capped() -> None:
    assert wait_began(T0 - 1140, T0) == T0 - 1140
    assert wait_began(int(T0) - 60, T0) == T0 - 60
    assert wait_began(T0 + 30, T0) == T0  # the worker's clock ahead of the triggerer's


@pytest.mark.parametrize(
    ("raw", "expected", "warned"),
    [(None, 600.0, False), ("", 600.0, False), ("300", 300.0, False), ("0.5", 0.5, False)]
    + [(bad, 600.0, True) for bad in ("0", "-1", "nan", "inf", "ten minutes", "1e9")],
)
def test_the_still_waiting_interval_setting(raw: Any, expected: float, warned: bool) -> None:
    every, warning = still_waiting_interval(raw)
    assert every == expected == (DEFAULT_STILL_WAITING_INTERVAL if warned else every)
    assert (warning is not None) is warned
    if warning is not None:
        assert "[polytomic] still_waiting_log_interval" in warning and "Using 600 s." in warning


def test_the_start_line_names_the_sync_as_the_later_lines_do() -> None:
    line = WaitLog(began=T0).start(SYNC, {"execution_id": A, "sync_name": "Orders"}, 30, T0)
    assert line.startswith(f"Waiting for Polytomic sync 'Orders' ({SYNC}) execution {A}.")
