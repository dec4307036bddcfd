"""The typed models: the reference page's sample parsed field by field, and tolerance where the API is."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from airflow_provider_polytomic.core.counts import ExecutionCounts
from airflow_provider_polytomic.core.models import (
    SUMMARY_MAX_ERRORS,
    Execution,
    ExecutionStatus,
    SyncStatus,
)

# The sample response on Polytomic's "Get Sync Status" reference page.
REFERENCE_SAMPLE = {
    "data": {
        "current_execution": {
            "completed_at": "2024-01-01T00:00:00Z",
            "counts": {
                "delete": 42,
                "error": 5,
                "insert": 80,
                "total": 100,
                "update": 15,
                "upserts": 10,
                "warnings": 10,
            },
            "created_at": "2024-01-01T00:00:00Z",
            "errors": ["something went wrong"],
            "id": "248df4b7-aa70-47b8-a036-33ac447e668d",
            "started_at": "2024-01-01T00:00:00Z",
            "status": "created",
            "type": "scheduled",
        },
        "last_execution": {
            "completed_at": "2024-01-01T00:00:00Z",
            "counts": {
                "delete": 42,
                "error": 5,
                "insert": 80,
                "total": 100,
                "update": 15,
                "upserts": 10,
                "warnings": 10,
            },
            "created_at": "2024-01-01T00:00:00Z",
            "errors": ["something went wrong"],
            "id": "248df4b7-aa70-47b8-a036-33ac447e668d",
            "started_at": "2024-01-01T00:00:00Z",
            "status": "created",
            "type": "scheduled",
        },
        "next_execution_time": "2024-01-01T00:00:00Z",
    }
}

JAN_1 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_reference_sample_parses_field_by_field() -> None:
    status = SyncStatus.from_api(REFERENCE_SAMPLE["data"])
    assert status.next_execution_time == JAN_1
    for execution in (status.current_execution, status.last_execution):
        assert execution is not None
        assert execution.id == "248df4b7-aa70-47b8-a036-33ac447e668d"
        assert execution.status == "created"
        assert execution.known_status is ExecutionStatus.CREATED
        assert execution.type == "scheduled"
        assert execution.created_at == JAN_1
        assert execution.started_at == JAN_1
        assert execution.completed_at == JAN_1
        assert execution.counts == ExecutionCounts(
            insert=80, update=15, delete=42, upserts=10, error=5, warnings=10, total=100
        )
        assert execution.errors == ("something went wrong",)
        assert execution.error_count == 5


@pytest.mark.parametrize(
    "payload", [{}, {"current_execution": None, "last_execution": None, "next_execution_time": None}]
)
def test_a_sync_that_never_ran_has_no_executions(payload: dict[str, object]) -> None:
    status = SyncStatus.from_api(payload)
    assert status.current_execution is None
    assert status.last_execution is None
    assert status.next_execution_time is None


def test_missing_optional_fields_are_none() -> None:
    execution = Execution.from_api(
        {"id": "248df4b7-aa70-47b8-a036-33ac447e668d", "status": "running", "counts": {"insert": 3}, "errors": None}
    )
    assert execution.type is None
    assert execution.created_at is None and execution.completed_at is None
    assert execution.counts.insert == 3
    assert execution.counts.upserts is None and execution.counts.warnings is None
    assert execution.errors == ()
    assert execution.error_count == 0


def test_unknown_status_is_kept_not_crashed_on() -> None:
    execution = Execution.from_api({"id": "x", "status": "defrobnicating"})
    assert execution.status == "defrobnicating"
    assert execution.known_status is None


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "running"},
        {"id": "x"},
        {"id": "x", "status": "running", "counts": {"insert": "many"}},
        {"id": "x", "status": "ok", "errors": "bad"},
        {"id": "x", "status": "ok", "created_at": "yesterday"},
        ["not", "an", "object"],
    ],
)
def test_payloads_that_break_the_contract_raise_value_error(payload: object) -> None:
    with pytest.raises(ValueError):
        Execution.from_api(payload)


def test_to_dict_is_json_safe_and_round_trips_the_values() -> None:
    status = SyncStatus.from_api(REFERENCE_SAMPLE["data"])
    document = json.loads(json.dumps(status.to_dict()))
    assert document["current_execution"]["created_at"] == "2024-01-01T00:00:00+00:00"
    assert document["current_execution"]["counts"]["upserts"] == 10
    assert document["next_execution_time"] == "2024-01-01T00:00:00+00:00"


def test_summary_is_bounded_whatever_the_error_list() -> None:
    errors = [f"row {n}: " + "x" * 5000 for n in range(10_000)]
    execution = Execution.from_api({"id": "e", "status": "completed", "counts": {"error": 100_000}, "errors": errors})
    summary = execution.summary("s")
    assert summary["errors_total"] == 10_000
    assert len(summary["errors"]) == SUMMARY_MAX_ERRORS
    assert summary["errors"][0].startswith("row 0: ")
    assert len(json.dumps(summary)) < 4096
    assert set(summary) >= {
        "sync_id",
        "execution_id",
        "status",
        "type",
        "created_at",
        "started_at",
        "completed_at",
        "counts",
        "errors",
    }


def test_reference_page_sample_matches_the_stored_page() -> None:
    """The sample above is the one on the stored reference page, not one made up here."""
    page = Path(__file__).resolve().parents[4] / "shared" / "polytomic-api" / "get-sync-status-reference-page.txt"
    if not page.exists():
        pytest.skip("shared/ is not beside this checkout")
    text = page.read_text()
    for needle in ('"delete": 42', '"upserts": 10', '"warnings": 10', '"status": "created"', "something went wrong"):
        assert needle in text


@pytest.mark.parametrize("bad_id", ["a b", " a", "a\tb", "a\u00a0b", "a\u2003b", "a\u3000b", "a\nb", "a\x85b"])
def test_an_execution_id_with_any_whitespace_is_refused(bad_id: str) -> None:
    with pytest.raises(ValueError, match="is not an id"):
        Execution.from_api({"id": bad_id, "status": "running"})


def test_the_only_printable_whitespace_is_the_ascii_space() -> None:
    # Execution.from_api checks ids for whitespace with `" " in id` after isprintable(): sound only while this holds.
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if c.isprintable() and c.isspace()] == [" "]
