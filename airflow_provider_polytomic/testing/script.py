"""The emulator's scripted syncs: what each execution goes through, tick by tick. No HTTP here.

A sync's executions are scripted as steps. With ``clock="polls"`` (default) each read of the sync (status,
one execution, or the execution list) moves it one tick: a step with ``polls=3`` is what the next three
reads see. With ``clock="seconds"`` steps last ``seconds`` of wall-clock time instead. An execution can
``appear_after`` some ticks, like a scheduled run that starts while a sensor waits.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_polytomic.testing.scenario import ScenarioError, validate

CLOCKS = frozenset({"polls", "seconds"})
SYNC_KINDS = frozenset({"model", "bulk"})
TERMINAL_MODEL_STATUSES = frozenset({"completed", "failed", "canceled", "interrupted"})
TERMINAL_BULK_STATUSES = TERMINAL_MODEL_STATUSES | {"errors"}
#: The keys of a scenario's sync that make up its definition.
DEFINITION_KEYS = (
    "model_ids",
    "target",
    "source_connection_id",
    "destination_connection_id",
    "source_configuration",
    "destination_configuration",
)
_RUNNING_COUNTS = {"insert": 10, "update": 0, "delete": 0, "upserts": 0, "error": 0, "warnings": 0, "total": 10}
_DONE_COUNTS = {"insert": 20, "update": 5, "delete": 0, "upserts": 0, "error": 0, "warnings": 0, "total": 25}
#: A run started through the API, by kind: a new model run is queued, a new bulk run created (bulk runs are
#: never ``queued``).
DEFAULT_RUN_STEPS: dict[str, tuple[dict[str, Any], ...]] = {
    kind: (
        {"status": first, "polls": 1, "seconds": 1.0},
        {"status": "running", "polls": 2, "seconds": 2.0, "counts": _RUNNING_COUNTS},
        {"status": "completed", "counts": _DONE_COUNTS},
    )
    for kind, first in (("model", "queued"), ("bulk", "created"))
}


def now(offset: float = 0.0) -> datetime:
    """Now on the emulated Polytomic's clock: this machine's, ``offset`` seconds ahead (negative: behind)."""
    return datetime.now(timezone.utc) + timedelta(seconds=offset)


@dataclass
class Step:
    """One stage of an execution: its status and what it reports, for ``polls`` reads or ``seconds``."""

    status: str
    polls: int = 1
    seconds: float = 1.0
    counts: dict[str, int] | None = None
    errors: list[str] | None = None
    #: Bulk syncs: the per-schema entries (``schema``, ``status``, ``record_count``, ``error_count``, ...).
    schemas: list[dict[str, Any]] | None = None
    #: Console log entries (``message``, ``level``, ``payload``) the execution writes when it reaches this step.
    console: list[dict[str, Any]] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(
            status=str(data["status"]),
            polls=int(data.get("polls", 1)),
            seconds=float(data.get("seconds", 1.0)),
            counts=dict(data["counts"]) if data.get("counts") is not None else None,
            errors=list(data["errors"]) if data.get("errors") is not None else None,
            schemas=[dict(item) for item in data["schemas"]] if data.get("schemas") is not None else None,
            console=[dict(item) for item in data["console"]] if data.get("console") is not None else None,
        )


@dataclass
class EmulatedExecution:
    """An execution and its script. Timestamps are filled in as the script reaches each stage."""

    id: str
    steps: list[Step]
    type: str = "manual"
    appear_after: float = 0
    created_ago: float | None = None  # seconds; for runs that happened before the emulator started
    #: Report ``completed_at: null`` even once ended (the ended time is still kept, for the emulator's own use).
    omit_completed_at: bool = False
    canceled_at_tick: float | None = None
    appeared_at_tick: float | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The console log written so far (``GET .../consolelog``): the entries of each step reached, oldest first.
    console: list[dict[str, Any]] = field(default_factory=list)
    console_steps: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], kind: str = "model") -> EmulatedExecution:
        steps = [Step.from_dict(step) for step in data.get("steps") or DEFAULT_RUN_STEPS[kind]]
        return cls(
            id=str(data.get("id") or uuid.uuid4()),
            steps=steps,
            type=str(data.get("type", "manual")),
            appear_after=float(data.get("appear_after", 0)),
            created_ago=float(data["created_ago"]) if data.get("created_ago") is not None else None,
            omit_completed_at=bool(data.get("omit_completed_at", False)),
        )

    def step_at(self, age: float, clock: str) -> Step:
        """The step the script is at ``age`` ticks after it appeared (the last step sticks)."""
        return self.steps[self.step_index(age, clock)]

    def step_index(self, age: float, clock: str) -> int:
        elapsed = 0.0
        for index, step in enumerate(self.steps):
            elapsed += step.polls if clock == "polls" else step.seconds
            if age < elapsed:
                return index
        return len(self.steps) - 1

    def write_console(self, reached: int, at: datetime) -> None:
        """Write the console entries of the steps up to ``reached`` not written yet, with ids as Polytomic's
        cursors look (``<milliseconds>-<sequence>``)."""
        for step in self.steps[self.console_steps : reached + 1]:
            for spec in step.console or []:
                self.console.append(
                    {
                        "id": f"{int(at.timestamp() * 1000)}-{len(self.console)}",
                        "level": str(spec.get("level", "info")),
                        "message": str(spec.get("message", "")),
                        "payload": dict(spec.get("payload") or {}),
                        "timestamp": at,
                    }
                )
        self.console_steps = max(self.console_steps, reached + 1)


@dataclass
class EmulatedSync:
    """A model (``kind="model"``) or bulk (``kind="bulk"``) sync and its scripted executions."""

    id: str
    name: str = "Emulated sync"
    kind: str = "model"
    clock: str = "polls"
    executions: list[EmulatedExecution] = field(default_factory=list)
    run_steps: list[Step] = field(default_factory=list)
    reads: int = 0
    started: float = field(default_factory=time.monotonic)
    idempotency: dict[str, str] = field(default_factory=dict)
    #: The definition (``GET /api/syncs/{id}``, ``GET /api/bulk/syncs/{id}``): model syncs read ``model_ids``
    #: and ``target``; bulk syncs the source and destination connections and configurations.
    definition: dict[str, Any] = field(default_factory=dict)
    #: Seconds the emulated Polytomic's clock is ahead of this machine's (the emulator's ``clock_offset``).
    clock_offset: float = 0.0
    #: False: paused (``active`` in lists and definitions). ``updated_at`` orders ``GET /api/syncs``.
    active: bool = True
    updated_at: datetime = field(default_factory=lambda: now() - timedelta(days=1))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "sync") -> EmulatedSync:
        validate(dict(data), "sync", where)
        kind = str(data.get("kind", "model"))
        sync = cls(
            id=str(data.get("id") or uuid.uuid4()),
            name=str(data.get("name", "Emulated sync")),
            kind=kind,
            clock=str(data.get("clock", "polls")),
            executions=[EmulatedExecution.from_dict(item, kind) for item in data.get("executions", [])],
            definition={key: data[key] for key in DEFINITION_KEYS if key in data},
            active=bool(data.get("active", True)),
            updated_at=now() - timedelta(seconds=float(data.get("updated_ago", 86400))),
        )
        sync.run_steps = [Step.from_dict(step) for step in data.get("run_steps") or DEFAULT_RUN_STEPS[kind]]
        if sync.kind not in SYNC_KINDS or sync.clock not in CLOCKS:
            raise ScenarioError(
                f"sync {sync.id}: kind must be one of {sorted(SYNC_KINDS)}, clock one of {sorted(CLOCKS)}"
            )
        return sync

    def now(self) -> datetime:
        return now(self.clock_offset)

    @property
    def terminal(self) -> frozenset[str]:
        return TERMINAL_BULK_STATUSES if self.kind == "bulk" else TERMINAL_MODEL_STATUSES

    def tick(self) -> float:
        return float(self.reads) if self.clock == "polls" else time.monotonic() - self.started

    def visible(self) -> list[EmulatedExecution]:
        """Executions that exist by now, oldest ``created_at`` first, their stage timestamps brought up to date."""
        now_tick = self.tick()
        seen = []
        for execution in self.executions:
            if execution.appeared_at_tick is None:
                if now_tick < execution.appear_after:
                    continue
                execution.appeared_at_tick = execution.appear_after
                if execution.created_ago is not None:
                    execution.created_at = self.now() - timedelta(seconds=execution.created_ago)
                else:
                    execution.created_at = self.now()
            self._update(execution, now_tick)
            seen.append(execution)
        # Scenario order is not time order once ``created_ago`` or ``appear_after`` is used.
        seen.sort(key=lambda item: item.created_at or self.now())
        return seen

    def status_of(self, execution: EmulatedExecution) -> Step:
        appeared = execution.appeared_at_tick or 0
        if execution.canceled_at_tick is not None:
            done = self.tick() > execution.canceled_at_tick
            reached = execution.step_at(execution.canceled_at_tick - appeared, self.clock)  # keeps its counts
            return Step(status="canceled" if done else "canceling", counts=reached.counts, errors=reached.errors)
        if execution.created_ago is not None:
            return execution.steps[-1]  # a run from the past has finished its script
        return execution.step_at(self.tick() - appeared, self.clock)

    def _update(self, execution: EmulatedExecution, now_tick: float) -> None:
        step = self.status_of(execution)
        written_at = execution.created_at if execution.created_ago is not None and execution.created_at else now()
        execution.write_console(self._reached(execution, now_tick), written_at)
        if step.status not in ("created", "scheduled", "queued", "waiting") and execution.started_at is None:
            execution.started_at = execution.created_at
        if step.status in self.terminal and execution.completed_at is None:
            execution.completed_at = self.now() if execution.created_ago is None else execution.created_at

    def _reached(self, execution: EmulatedExecution, now_tick: float) -> int:
        """The index of the step the execution's script has reached (where a cancel left it)."""
        if execution.created_ago is not None:
            return len(execution.steps) - 1
        tick = execution.canceled_at_tick if execution.canceled_at_tick is not None else now_tick
        return execution.step_index(tick - (execution.appeared_at_tick or 0), self.clock)

    def running(self) -> EmulatedExecution | None:
        active = [item for item in self.visible() if self.status_of(item).status not in self.terminal]
        return active[-1] if active else None

    def last_finished(self) -> EmulatedExecution | None:
        finished = [item for item in self.visible() if self.status_of(item).status in self.terminal]
        return max(finished, key=lambda item: item.completed_at or self.now(), default=None)

    def find(self, execution_id: str) -> EmulatedExecution | None:
        return next((item for item in self.visible() if item.id == execution_id), None)

    def start(
        self, idempotency_key: str | None, extra: Mapping[str, Any] | None = None
    ) -> tuple[EmulatedExecution, bool]:
        """A new execution (or the one this key already started); ``False`` when one is already running.

        ``extra``: bulk execution fields the start body decides (``is_test``, ``fetch_mode``, ``is_resync``).
        """
        if idempotency_key and idempotency_key in self.idempotency:
            existing = self.find(self.idempotency[idempotency_key])
            if existing is not None:
                return existing, True
        if self.running() is not None:
            return self.running(), False  # type: ignore[return-value]
        execution = EmulatedExecution(id=str(uuid.uuid4()), steps=list(self.run_steps), appear_after=self.tick())
        execution.extra.update(extra or {})
        execution.extra["started_through_api"] = True
        self.executions.append(execution)
        self.visible()
        if idempotency_key:
            self.idempotency[idempotency_key] = execution.id
        return execution, True
