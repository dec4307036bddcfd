"""Reading the JSON values of Polytomic's payloads: objects, timestamps and bounded text. No I/O."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from dateutil.parser import isoparse

#: How long an error message may be in a summary (and the default cut of :func:`truncate`).
SUMMARY_MAX_ERROR_CHARS = 300


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime (UTC when the text names no zone); None stays None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected an RFC 3339 timestamp, got {type(value).__name__} {value!r:.60}")
    try:
        # The standard library is ~10x faster; Python 3.10's cannot read "Z" or 9-digit fractions, dateutil can.
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        parsed = isoparse(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def isoformat(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class PayloadError(ValueError):
    """A payload this provider cannot read. Its message is written from field names and types only, never from
    a value of the payload, so it may be shown even for an answer that is never quoted (a definition's)."""


def json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{what} should be a JSON object, got {type(value).__name__}")
    return value


def json_list(value: Any, what: str) -> list[Any]:
    """A JSON array member (null or absent reads as empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{what} should be a list, got {type(value).__name__}")
    return value


def truncate(text: str, limit: int = SUMMARY_MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
