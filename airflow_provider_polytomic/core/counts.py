"""What an execution reports about its records: its counts, and a bulk execution's schemas, each with a status.
Read as tolerantly as :mod:`.models` reads the execution around them. No I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from airflow_provider_polytomic.core.values import json_object, truncate

#: Longest status or type kept (the documented ones are under 20 characters; longer is unknown anyway).
MAX_STATUS_CHARS = 64
#: Longest error message kept from an execution (summaries and messages cut them shorter still).
MAX_MESSAGE_CHARS = 2000


def optional_count(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"counts.{key} should be a finite number, got {value!r:.60}")
    return int(value)


@dataclass(frozen=True)
class ExecutionCounts:
    """Record counts of an execution; each is None when this API version does not report it."""

    insert: int | None = None
    update: int | None = None
    delete: int | None = None
    upserts: int | None = None
    error: int | None = None
    warnings: int | None = None
    total: int | None = None

    @classmethod
    def from_api(cls, payload: Any) -> ExecutionCounts:
        if payload is None:
            return cls()
        payload = json_object(payload, "counts")
        return cls(
            insert=optional_count(payload, "insert"),
            update=optional_count(payload, "update"),
            delete=optional_count(payload, "delete"),
            upserts=optional_count(payload, "upserts"),
            error=optional_count(payload, "error"),
            warnings=optional_count(payload, "warnings"),
            total=optional_count(payload, "total"),
        )

    def to_dict(self) -> dict[str, int | None]:
        return {
            "insert": self.insert,
            "update": self.update,
            "delete": self.delete,
            "upserts": self.upserts,
            "error": self.error,
            "warnings": self.warnings,
            "total": self.total,
        }

    def describe(self) -> str:
        """Short text for a log line: only the counts the API reported."""
        parts = [f"{name}={value}" for name, value in self.to_dict().items() if value is not None]
        return ", ".join(parts) if parts else "no counts yet"


@dataclass(frozen=True)
class SchemaStatus:
    """One schema (table) of a bulk execution: the SDK's ``BulkSyncSchemaExecution``.

    Polytomic names the schema in ``schema`` (there is no ``name`` key); ``output_name`` is the table it
    writes to, used as the name when ``schema`` is missing.
    """

    schema: str
    output_name: str | None = None
    status: str | None = None
    status_message: str | None = None
    record_count: int | None = None
    error_count: int | None = None
    warning_count: int | None = None

    @classmethod
    def from_api(cls, payload: Any) -> SchemaStatus:
        payload = json_object(payload, "schema")

        def text(key: str, limit: int = MAX_MESSAGE_CHARS) -> str | None:
            value = payload.get(key)
            return truncate(value, limit) if isinstance(value, str) and value else None

        return cls(
            schema=text("schema") or text("output_name") or "?",
            output_name=text("output_name"),
            status=text("status", MAX_STATUS_CHARS),
            status_message=text("status_message"),
            record_count=optional_count(payload, "record_count"),
            error_count=optional_count(payload, "error_count"),
            warning_count=optional_count(payload, "warning_count"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": truncate(self.schema, 200),
            "output_name": truncate(self.output_name, 200) if self.output_name else None,
            "status": self.status,
            "status_message": truncate(self.status_message, 200) if self.status_message else None,
            "record_count": self.record_count,
            "error_count": self.error_count,
            "warning_count": self.warning_count,
        }
