"""Typed views of Polytomic API payloads, and their JSON-safe summaries.

Parsing is as tolerant as the API is: optional fields may be missing or null, an unknown status string is
kept (never crashed on), and timestamps become timezone-aware datetimes. What the API guarantees (an
execution has an id and a status) is checked, and a payload that breaks it raises ``ValueError``, which
the protocol layer turns into :class:`~airflow_provider_polytomic.core.errors.PolytomicBadResponseError`.
An execution's record counts and a bulk execution's schemas are read in :mod:`.counts`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from airflow_provider_polytomic.core.clock import ServerClock
from airflow_provider_polytomic.core.counts import (
    MAX_MESSAGE_CHARS,
    MAX_STATUS_CHARS,
    ExecutionCounts,
    SchemaStatus,
    optional_count,
)
from airflow_provider_polytomic.core.values import (
    isoformat,
    json_object,
    parse_timestamp,
    truncate,
)

#: How many error messages a summary keeps, and how long each may be. An execution may report
#: hundreds of thousands of errors; XCom values, trigger events and logs must stay small.
SUMMARY_MAX_ERRORS = 5
#: How many of a bulk execution's schemas a summary lists.
SUMMARY_MAX_SCHEMAS = 20


class ExecutionStatus(str, enum.Enum):
    """The documented execution statuses of model and bulk syncs (the API may send others).

    ``exporting`` and ``errors`` are bulk-only; which statuses mean what for each kind is decided in
    :mod:`airflow_provider_polytomic.core.status`.
    """

    CREATED = "created"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    WAITING = "waiting"
    RUNNING = "running"
    PROCESSING = "processing"
    CANCELING = "canceling"
    CANCELED = "canceled"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    EXPORTING = "exporting"
    ERRORS = "errors"

    @classmethod
    def parse(cls, value: str) -> ExecutionStatus | None:
        """The enum member for ``value``, or None for a status this version does not know."""
        try:
            return cls(value)
        except ValueError:
            return None


@dataclass(frozen=True)
class Execution:
    """One execution (run) of a model or bulk sync.

    A bulk execution reports ``record_count``/``error_count``/``warning_count`` instead of ``counts``; they
    are read into ``counts.total``/``counts.error``/``counts.warnings``. Its ``status_message``, when set,
    becomes its one error message.
    """

    id: str
    status: str
    type: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    counts: ExecutionCounts = field(default_factory=ExecutionCounts)
    errors: tuple[str, ...] = ()
    schemas: tuple[SchemaStatus, ...] = ()

    @classmethod
    def from_api(cls, payload: Any) -> Execution:
        payload = json_object(payload, "execution")
        execution_id = payload.get("id")
        status = payload.get("status")
        if not isinstance(execution_id, str) or not execution_id:
            raise ValueError("execution has no id")
        # A printable string's only possible whitespace is the ASCII space (every other whitespace character is
        # a control or separator, so not printable): one ``in`` instead of a generator over every character.
        if len(execution_id) > 64 or not execution_id.isprintable() or " " in execution_id:
            raise ValueError(f"execution id {execution_id!r:.80} is not an id")
        if not isinstance(status, str) or not status:
            raise ValueError(f"execution {execution_id} has no status")
        errors = payload.get("errors") or []
        if not isinstance(errors, list):
            raise ValueError(f"execution {execution_id}: errors should be a list")
        # [null] or [""] is no error at all.
        errors = [message for message in errors if message is not None and str(message).strip()]
        kind = payload.get("type")
        counts = ExecutionCounts.from_api(payload.get("counts"))
        if payload.get("counts") is None and any(key in payload for key in ("record_count", "error_count")):
            counts = ExecutionCounts(
                error=optional_count(payload, "error_count"),
                warnings=optional_count(payload, "warning_count"),
                total=optional_count(payload, "record_count"),
            )
        message = payload.get("status_message")
        if not errors and isinstance(message, str) and message:
            errors = [message]
        schemas = payload.get("schemas") or []
        if not isinstance(schemas, list):
            raise ValueError(f"execution {execution_id}: schemas should be a list")
        return cls(
            id=execution_id,
            status=truncate(status, MAX_STATUS_CHARS),
            type=truncate(kind, MAX_STATUS_CHARS) if isinstance(kind, str) else None,
            created_at=parse_timestamp(payload.get("created_at")),
            started_at=parse_timestamp(payload.get("started_at")),
            completed_at=parse_timestamp(payload.get("completed_at")),
            counts=counts,
            errors=tuple(truncate(str(message), MAX_MESSAGE_CHARS) for message in errors),
            schemas=tuple(SchemaStatus.from_api(schema) for schema in schemas),
        )

    @property
    def known_status(self) -> ExecutionStatus | None:
        return ExecutionStatus.parse(self.status)

    @property
    def error_count(self) -> int:
        """Records in error: the larger of ``counts.error`` and the number of error messages."""
        return max(self.counts.error or 0, len(self.errors))

    def to_dict(self) -> dict[str, Any]:
        """The whole execution as JSON-safe primitives (every error message included)."""
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "created_at": isoformat(self.created_at),
            "started_at": isoformat(self.started_at),
            "completed_at": isoformat(self.completed_at),
            "counts": self.counts.to_dict(),
            "errors": list(self.errors),
        }

    def summary(self, sync_id: str) -> dict[str, Any]:
        """The bounded, JSON-safe summary that sensors return and triggers send.

        ``errors`` keeps the first few messages, each cut short; ``errors_total`` says how many there were.
        A bulk execution adds the first few ``schemas`` and ``schemas_total``.
        """
        whole = self.to_dict()
        summary = {
            "sync_id": sync_id,
            "execution_id": whole.pop("id"),
            **whole,
            "errors": [truncate(message) for message in self.errors[:SUMMARY_MAX_ERRORS]],
            "errors_total": len(self.errors),
        }
        if self.schemas:
            summary["schemas"] = [schema.to_dict() for schema in self.schemas[:SUMMARY_MAX_SCHEMAS]]
            summary["schemas_total"] = len(self.schemas)
        return summary


def finished_at(execution: Execution) -> datetime | None:
    """When a finished execution ended: ``completed_at``, else (an API that omits it) its start or creation."""
    return execution.completed_at or execution.started_at or execution.created_at


@dataclass(frozen=True)
class SyncStatus:
    """What ``GET /api/syncs/{id}/status`` says: the run in progress, the last finished one, the next."""

    current_execution: Execution | None = None
    last_execution: Execution | None = None
    next_execution_time: datetime | None = None
    #: Polytomic's clock as the answer's ``Date`` showed it (set by ``ApiCall.read``).
    clock: ServerClock | None = field(default=None, compare=False, repr=False)

    def with_clock(self, clock: ServerClock | None) -> SyncStatus:
        return replace(self, clock=clock)

    @classmethod
    def from_api(cls, payload: Any) -> SyncStatus:
        payload = json_object(payload, "sync status")
        current = payload.get("current_execution")
        last = payload.get("last_execution")
        return cls(
            current_execution=Execution.from_api(current) if current else None,
            last_execution=Execution.from_api(last) if last else None,
            next_execution_time=parse_timestamp(payload.get("next_execution_time")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "current_execution": self.current_execution.to_dict() if self.current_execution else None,
            "last_execution": self.last_execution.to_dict() if self.last_execution else None,
            "next_execution_time": isoformat(self.next_execution_time),
        }


@dataclass(frozen=True)
class ExecutionPage:
    """One page of ``GET /api/syncs/{id}/executions`` (newest first unless asked otherwise)."""

    executions: tuple[Execution, ...]
    next_page_token: str | None = None
    #: Polytomic's clock as the answer's ``Date`` showed it (set by ``ApiCall.read``).
    clock: ServerClock | None = field(default=None, compare=False, repr=False)

    def with_clock(self, clock: ServerClock | None) -> ExecutionPage:
        return replace(self, clock=clock)

    @classmethod
    def from_document(cls, document: Any) -> ExecutionPage:
        """Read the whole response document: the list is in ``data``, the token in ``pagination``."""
        document = json_object(document, "executions page")
        items = document.get("data") or []
        if not isinstance(items, list):
            raise ValueError("data should be a list of executions")
        pagination = document.get("pagination") or {}
        token = pagination.get("next_page_token") if isinstance(pagination, dict) else None
        return cls(
            tuple(Execution.from_api(item) for item in items), token if isinstance(token, str) and token else None
        )
