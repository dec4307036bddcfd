"""The newest-first scan of an executions list, page by page, without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow_provider_polytomic.core.models import Execution, ExecutionPage
from airflow_provider_polytomic.core.scan import MAX_PAGES, NewestFirstScan

T0 = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def run(number: int) -> Execution:
    """Execution ``e{number}``, created ``number`` minutes after T0 (a higher number is newer)."""
    return Execution.from_api(
        {"id": f"e{number}", "status": "completed", "created_at": (T0 + timedelta(minutes=number)).isoformat()}
    )


def older_than(number: int) -> NewestFirstScan:
    return NewestFirstScan(is_older=lambda execution: execution.created_at < T0 + timedelta(minutes=number))


def ids(scan: NewestFirstScan) -> list[str]:
    return [execution.id for execution in scan.found]


def test_it_stops_at_the_first_execution_beyond_the_boundary() -> None:
    scan = older_than(3)
    assert scan.feed(ExecutionPage((run(6), run(5)), next_page_token="2"))
    assert scan.page_token == "2"
    assert not scan.feed(ExecutionPage((run(4), run(2), run(5)), next_page_token="5"))
    # e5 after the boundary is never taken: everything past the boundary is older (the list is newest first).
    assert ids(scan) == ["e6", "e5", "e4"]
    assert scan.page_token is None and not scan.truncated and scan.pages == 2


def test_a_page_that_repeats_the_last_execution_of_the_previous_one_keeps_it_once() -> None:
    scan = older_than(0)
    assert scan.feed(ExecutionPage((run(5), run(4), run(3)), next_page_token="3"))
    # A run started meanwhile shifted the offsets: the next page begins with e3 again.
    assert not scan.feed(ExecutionPage((run(3), run(2), run(1))))
    assert ids(scan) == ["e5", "e4", "e3", "e2", "e1"]


def test_the_end_of_the_list_ends_the_scan() -> None:
    scan = older_than(0)
    assert not scan.feed(ExecutionPage((run(2), run(1))))
    assert ids(scan) == ["e2", "e1"] and not scan.truncated


def test_an_endless_list_is_cut_at_max_pages_and_says_so() -> None:
    scan = older_than(-1_000)
    fed = 0
    while scan.feed(ExecutionPage((run(1_000 - fed),), next_page_token=str(fed + 1))):
        fed += 1
        assert fed < MAX_PAGES
    assert scan.pages == MAX_PAGES and scan.truncated and scan.page_token is None
    assert len(scan.found) == MAX_PAGES


def test_an_empty_page_with_a_token_asks_for_the_next() -> None:
    scan = older_than(0)
    assert scan.feed(ExecutionPage((), next_page_token="50"))
    assert scan.page_token == "50" and scan.found == []
