"""The asset watcher's logic, without I/O: which finished executions are new, how each ended, what its event
says, and the ledger that makes each execution fire once. ``triggers/polytomic_events.py`` only drives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_polytomic.core.bounds import poll_interval
from airflow_provider_polytomic.core.clock import polytomic_now
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicConfigError
from airflow_provider_polytomic.core.ids import validate_id
from airflow_provider_polytomic.core.models import Execution, ExecutionPage
from airflow_provider_polytomic.core.scan import NewestFirstScan
from airflow_provider_polytomic.core.status import Ending, classify, finished, judge
from airflow_provider_polytomic.core.values import parse_timestamp

#: How a finished execution ended, as ``outcomes`` names it (the values of :class:`Ending`).
OUTCOMES = tuple(ending.value for ending in Ending)
SUCCEEDED = Ending.SUCCEEDED.value
COMPLETED_WITH_ERRORS = Ending.COMPLETED_WITH_ERRORS.value
DEFAULT_OUTCOMES = (SUCCEEDED,)
#: How many handled execution ids the ledger remembers; older ones are covered by its watermark.
LEDGER_IDS = 50
#: How many unfinished executions the ledger remembers (a sync runs one at a time; a few cover runs deleted
#: while running).
LEDGER_RUNNING = 10
STATE_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def outcome_of(execution: Execution, kind: SyncKind) -> str | None:
    """How a finished execution ended (one of :data:`OUTCOMES`); None while it has not finished."""
    ending = classify(execution, kind)
    return ending.value if ending is not None else None


def outcomes(value: Sequence[str] | str) -> tuple[str, ...]:
    """``outcomes`` as given to the watcher: a non-empty choice of :data:`OUTCOMES`, in one order."""
    chosen = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else []
    unknown = [item for item in chosen if item not in OUTCOMES]
    if unknown or not chosen:
        raise PolytomicConfigError(
            f"PolytomicSyncCompletionTrigger outcomes must be a non-empty list of {', '.join(OUTCOMES)}; "
            f"got {value!r:.120}."
        )
    return tuple(item for item in OUTCOMES if item in chosen)  # one order, so equal choices serialize equally


#: Seconds between retries while Polytomic refuses the watcher (401/403/404, a broken connection).
DEFAULT_PERMANENT_ERROR_INTERVAL = 300.0
#: The arguments of a watcher that cannot run with its row (it only reports that, naming the sync).
PLACEHOLDER_ARGUMENTS: dict[str, Any] = {
    "polytomic_conn_id": "polytomic_default",
    "outcomes": list(DEFAULT_OUTCOMES),
    "poll_interval": 60.0,
    "watermark": None,
    "kind": SyncKind.MODEL.value,
    "permanent_error_interval": DEFAULT_PERMANENT_ERROR_INTERVAL,
}


def watcher_arguments(given: Mapping[str, Any]) -> dict[str, Any]:
    """The watcher's arguments (``sync_id``, ``polytomic_conn_id``, ``outcomes``, ``poll_interval``, ``watermark``,
    ``kind``, ``permanent_error_interval``) checked, as it serializes them; raises naming the first bad one."""
    owner = "PolytomicSyncCompletionTrigger"
    conn_id, kind, watermark = given["polytomic_conn_id"], given["kind"], given["watermark"]
    if not isinstance(conn_id, str) or not conn_id.strip():
        raise PolytomicConfigError(f"{owner} polytomic_conn_id must name an Airflow connection; got {conn_id!r:.60}.")
    if kind not in [item.value for item in SyncKind]:  # a list: any value compares, hashable or not
        raise PolytomicConfigError(f"{owner} kind must be 'model' or 'bulk', got {kind!r:.40}.")
    try:
        readable = watermark is None or parse_timestamp(watermark) is not None
    except (TypeError, ValueError, OverflowError):
        readable = False
    if not readable:
        raise PolytomicConfigError(f"{owner} watermark must be ISO 8601, got {watermark!r:.60}.")
    return {
        "sync_id": validate_id(given["sync_id"], "sync id"),
        "polytomic_conn_id": conn_id,
        "outcomes": list(outcomes(given["outcomes"])),
        "poll_interval": poll_interval(given["poll_interval"], f"{owner} poll_interval"),
        "watermark": watermark,
        "kind": kind,
        "permanent_error_interval": poll_interval(
            given["permanent_error_interval"], f"{owner} permanent_error_interval"
        ),
    }


def scan_since(ledger: CompletionLedger, kind: SyncKind) -> NewestFirstScan:
    """A newest-first scan that stops at the first execution the ledger knows is old (a sync runs one execution at
    a time, so everything older finished earlier still)."""
    return NewestFirstScan(is_older=lambda execution: ledger.is_old(execution, kind))


def starting_watermark(first: ExecutionPage) -> datetime:
    """A new watcher's watermark: Polytomic's "now" of its first answer (never this process's clock, see
    :mod:`~airflow_provider_polytomic.core.clock`), so every execution that answer shows finished predates it.
    An answer with no ``Date`` and no execution: the epoch (nothing has finished yet, so nothing predates it)."""
    return polytomic_now(first.clock, first.executions) or _EPOCH


def newly_finished(
    found: Sequence[Execution], ledger: CompletionLedger, kind: SyncKind, now: datetime
) -> list[Execution]:
    """The scanned executions that finished and are new to the ledger, oldest first. The ledger notes those still
    running. ``now``: Polytomic's "now" of the answer (:func:`~airflow_provider_polytomic.core.clock.polytomic_now`),
    which stands in for a null ``completed_at``."""
    ledger.note_running([execution for execution in found if not finished(execution, kind)], now)
    new = [execution for execution in found if finished(execution, kind) and ledger.is_new(execution)]
    return sorted(new, key=lambda execution: (execution.completed_at or now, execution.created_at or _EPOCH))


def completion_payload(
    execution: Execution, *, sync_id: str, kind: SyncKind, outcome: str, sync_url: str | None = None
) -> dict[str, Any]:
    """One event's payload: the sensor's bounded summary, plus how the execution ended.

    ``verdict`` is what the sensor would conclude (``succeeded`` only for ``completed`` without record
    errors), ``message`` its one-line explanation.
    """
    judgement = judge(sync_id, execution, fail_on_record_errors=True, kind=kind)
    return {
        **execution.summary(sync_id),
        "sync_kind": kind.value,
        "sync_url": sync_url,
        "outcome": outcome,
        "verdict": judgement.verdict.value,
        "message": judgement.message,
    }


@dataclass
class CompletionLedger:
    """Which finished executions a watcher has handled. No I/O: the trigger loads and saves it.

    Every instant in it is on Polytomic's clock (:mod:`~airflow_provider_polytomic.core.clock`): the watermark
    starts at Polytomic's "now" of the watcher's first answer, never at this process's clock.

    An execution is new when its id is not in ``seen`` and it finished after ``watermark``: its ``completed_at``
    is later, or (the API left ``completed_at`` null) it was created later, or the ledger saw it running
    (``running``). ``seen`` keeps the last :data:`LEDGER_IDS` ids; forgetting one moves the watermark up to when
    it finished (for a run without ``completed_at``, when it was first seen finished), so the ledger stays small
    and never lets an old execution fire again.
    """

    watermark: datetime
    seen: dict[str, datetime] = field(default_factory=dict)
    #: Executions seen unfinished, by id, with when (Polytomic's clock): they fire when they end, whatever their
    #: ``completed_at`` says (or fails to say). At most :data:`LEDGER_RUNNING` are kept.
    running: dict[str, datetime] = field(default_factory=dict)

    def is_new(self, execution: Execution) -> bool:
        if execution.id in self.seen:
            return False
        if execution.id in self.running:
            return True
        if execution.completed_at is not None:
            return execution.completed_at > self.watermark
        created = execution.created_at or execution.started_at
        return created is not None and created > self.watermark

    def is_old(self, execution: Execution, kind: SyncKind) -> bool:
        """Where a newest-first scan may stop: a finished execution that is not new, and before which nothing
        is (it ended at or before the watermark, or, without ``completed_at``, began then and was never seen
        running; older runs ended before it began)."""
        if not finished(execution, kind) or execution.id in self.running:
            return False
        ended = execution.completed_at or execution.created_at or execution.started_at
        return ended is not None and ended <= self.watermark

    def note_running(self, executions: Sequence[Execution], at: datetime) -> bool:
        """Remember these unfinished executions; True when that changed the ledger."""
        added = [execution.id for execution in executions if execution.id not in self.running]
        for execution_id in added:
            self.running[execution_id] = at
        while len(self.running) > LEDGER_RUNNING:
            del self.running[min(self.running, key=self.running.__getitem__)]
        return bool(added)

    def mark(self, execution: Execution, now: datetime | None = None) -> None:
        """Handled: ``now`` (Polytomic's now of the answer that showed it finished) stands in for a null
        ``completed_at``."""
        self.running.pop(execution.id, None)
        self.seen[execution.id] = execution.completed_at or max(now or self.watermark, self.watermark)
        while len(self.seen) > LEDGER_IDS:
            oldest = min(self.seen, key=self.seen.__getitem__)
            self.watermark = max(self.watermark, self.seen.pop(oldest))

    def high_water(self) -> datetime:
        """Everything that finished at or before this instant has been handled (or predates the watcher)."""
        return max([self.watermark, *self.seen.values()])

    def to_state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "watermark": self.watermark.isoformat(),
            "seen": {execution_id: at.isoformat() for execution_id, at in self.seen.items()},
            "running": {execution_id: at.isoformat() for execution_id, at in self.running.items()},
        }

    @classmethod
    def from_state(cls, state: Any) -> CompletionLedger | None:
        """The ledger a watcher saved, or None for anything else (nothing saved, another format). ``running`` is
        optional: a ledger saved before it existed reads as one without it."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            return None
        try:
            watermark = parse_timestamp(state.get("watermark"))
            seen = state.get("seen") or {}
            running = state.get("running") or {}
            if watermark is None or not isinstance(seen, dict) or not isinstance(running, dict):
                return None
            return cls(
                watermark,
                {str(key): _aware(value) for key, value in seen.items()},
                {str(key): _aware(value) for key, value in running.items()},
            )
        except (TypeError, ValueError):
            return None


def _aware(value: Any) -> datetime:
    parsed = parse_timestamp(value)
    if parsed is None:
        raise ValueError("missing timestamp")
    return parsed
