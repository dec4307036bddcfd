"""Polytomic's clock as this process learns it: the Date header, the offset, and "now" on Polytomic's clock."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from email.utils import formatdate

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.clock import ServerClock, on_polytomic_clock, polytomic_now
from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.models import Execution

OURS = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
SYNC = "5c1e9a47-3d2b-4f6e-8a90-7b1c2d3e4f50"


def test_the_offset_is_polytomics_date_minus_our_clock_in_either_direction() -> None:
    behind = ServerClock.from_headers({"Date": "Sun, 01 Mar 2026 11:58:00 GMT"}, OURS)
    ahead = ServerClock.from_headers({"date": "Sun, 01 Mar 2026 12:02:00 GMT"}, OURS)  # any case
    assert behind is not None and behind.offset == timedelta(minutes=-2)
    assert ahead is not None and ahead.offset == timedelta(minutes=2)
    assert ahead.polytomic_time(OURS) == OURS + timedelta(minutes=2)
    assert on_polytomic_clock(OURS, behind) == OURS - timedelta(minutes=2)
    assert abs(ahead.now() - datetime.now(timezone.utc) - timedelta(minutes=2)) < timedelta(seconds=5)


def test_an_answer_without_a_believable_date_gives_no_clock() -> None:
    for headers in ({}, {"Date": ""}, {"Date": "yesterday"}, {"Date": "Sun, 01 Mar 1990 12:00:00 GMT"}):
        assert ServerClock.from_headers(headers, OURS) is None, headers
    assert on_polytomic_clock(OURS, None) == OURS  # nothing learned: our clock, the best there is


def test_polytomics_now_is_never_before_a_time_in_the_answer() -> None:
    # Date has whole seconds: a run that ended 0.4 s into that second is still "before now".
    ended = Execution.from_api({"id": "e", "status": "completed", "completed_at": "2026-03-01T12:02:00.400Z"})
    clock = ServerClock.from_headers({"Date": "Sun, 01 Mar 2026 12:02:00 GMT"}, datetime.now(timezone.utc))
    assert clock is not None
    assert polytomic_now(clock, [ended]) == max(clock.now(), ended.completed_at or OURS)
    assert polytomic_now(None, [ended]) == ended.completed_at
    assert polytomic_now(None, []) is None


def test_the_shared_response_parsing_gives_the_reads_that_compare_times_polytomics_clock() -> None:
    config = ClientConfig(conn_id="polytomic_test", base_url="https://app.polytomic.com", authorization="Bearer k")
    headers = {"Date": formatdate(time.time() - 120, usegmt=True)}  # Polytomic 2 minutes behind us
    page = protocol.list_executions(SYNC).read(config, 200, headers, b'{"data": [], "pagination": {}}')
    status = protocol.get_sync_status(SYNC).read(config, 200, headers, b'{"data": {}}')
    for answer in (page, status):
        assert answer.clock is not None
        assert timedelta(seconds=-122) < answer.clock.offset <= timedelta(seconds=-119)
    assert protocol.list_executions(SYNC).read(config, 200, {}, b'{"data": []}').clock is None
