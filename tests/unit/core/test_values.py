"""Reading JSON values: timestamps always come out timezone-aware."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_polytomic.core.values import PayloadError, json_list, parse_timestamp, truncate

JAN_1 = datetime(2024, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", JAN_1),
        ("2024-01-01T02:00:00+02:00", JAN_1),
        ("2024-01-01T00:00:00.123456789Z", datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=timezone.utc)),
        ("2024-01-01T00:00:00", JAN_1),  # no zone: UTC, never naive
    ],
)
def test_timestamps_are_timezone_aware(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


def test_truncate_keeps_short_text_and_marks_a_cut() -> None:
    assert truncate("abc", 5) == "abc"
    assert truncate("abcdef", 5) == "abcd…"


def test_a_list_member_reads_null_as_empty_and_names_the_field_never_the_value() -> None:
    assert json_list(None, "entries") == []
    assert json_list([1, "a"], "entries") == [1, "a"]
    with pytest.raises(PayloadError, match=r"^entries should be a list, got str$"):
        json_list("password=hunter2", "entries")
