"""What an execution reports about its records: counts read strictly as numbers, schemas named and bounded."""

from __future__ import annotations

import math

import pytest

from airflow_provider_polytomic.core.counts import (
    MAX_MESSAGE_CHARS,
    MAX_STATUS_CHARS,
    ExecutionCounts,
    SchemaStatus,
    optional_count,
)


def test_counts_the_api_does_not_report_are_none_not_zero() -> None:
    assert ExecutionCounts.from_api(None) == ExecutionCounts()
    counts = ExecutionCounts.from_api({"insert": 3, "update": 2.0, "error": None})
    assert (counts.insert, counts.update, counts.error, counts.total) == (3, 2, None, None)
    assert counts.describe() == "insert=3, update=2"
    assert ExecutionCounts().describe() == "no counts yet"


@pytest.mark.parametrize("value", [True, "3", math.inf, math.nan, [1]])
def test_a_count_that_is_not_a_finite_number_is_refused_naming_it(value: object) -> None:
    with pytest.raises(ValueError, match=r"counts\.insert should be a finite number"):
        ExecutionCounts.from_api({"insert": value})
    with pytest.raises(ValueError, match=r"counts\.record_count"):
        optional_count({"record_count": value}, "record_count")


def test_counts_must_be_an_object() -> None:
    with pytest.raises(ValueError):
        ExecutionCounts.from_api([1, 2])


def test_a_schema_is_named_by_schema_else_its_output_table() -> None:
    assert SchemaStatus.from_api({"schema": "public.users", "output_name": "users"}).schema == "public.users"
    assert SchemaStatus.from_api({"output_name": "users"}).schema == "users"
    assert SchemaStatus.from_api({}).schema == "?"


def test_a_schemas_texts_are_bounded_when_read_and_shorter_still_in_a_summary() -> None:
    schema = SchemaStatus.from_api(
        {"schema": "s" * 5000, "status": "x" * 500, "status_message": "m" * 5000, "record_count": 7}
    )
    assert len(schema.schema) <= MAX_MESSAGE_CHARS and len(schema.status or "") <= MAX_STATUS_CHARS
    summary = schema.to_dict()
    assert len(summary["schema"]) <= 200 and len(summary["status_message"]) <= 200
    assert summary["record_count"] == 7 and summary["error_count"] is None
