"""What an execution's status means: documented statuses per kind, one classification of how a run ended,
the gate's verdict, and the outcome a task concludes with (the contract between a task and its trigger).
No I/O; every driver asks here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.models import Execution, ExecutionStatus
from airflow_provider_polytomic.core.values import truncate

S = ExecutionStatus
SUCCESS = frozenset({S.COMPLETED})
#: How many error messages a failure message quotes.
QUOTED_ERRORS = 3


class Verdict(enum.Enum):
    """Every state a wait can be in, closed: a poll's (:class:`Judgement`) is ``WAITING``, ``SUCCEEDED`` or
    ``FAILED``; a wait ends (:class:`Outcome`) with any but ``WAITING``. Not a ``str``: a comparison with text
    never matches by accident; the values exist only in a trigger event (:meth:`Outcome.to_event`)."""

    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: The wait cannot go on: a permanent error (a wrong key, an unknown sync), or the execution is gone.
    ERROR = "error"
    #: The time limit passed before the execution ended.
    TIMEOUT = "timeout"

    @property
    def final(self) -> bool:
        return self is not Verdict.WAITING


class Ending(enum.Enum):
    """How a finished execution ended (what an asset watcher's ``outcomes`` name, by value)."""

    SUCCEEDED = "succeeded"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"


#: The statuses that end a run badly, each with its ending: a new failure status is added here, with one.
FAILURE_ENDINGS = {S.FAILED: Ending.FAILED, S.CANCELED: Ending.CANCELED, S.INTERRUPTED: Ending.INTERRUPTED}
FAILURE = frozenset(FAILURE_ENDINGS)
#: Bulk only: the run finished with errors. A failure, unless record errors are tolerated.
FINISHED_WITH_ERRORS = frozenset({S.ERRORS})
#: The statuses that end a run: a new set of them is added here, and ``finished()`` follows.
TERMINAL = SUCCESS | FAILURE | FINISHED_WITH_ERRORS
#: The documented statuses of each kind; anything else is unknown (still running, and warned about).
DOCUMENTED = {
    SyncKind.MODEL: frozenset(
        {S.CREATED, S.SCHEDULED, S.QUEUED, S.WAITING, S.RUNNING, S.PROCESSING, S.CANCELING} | SUCCESS | FAILURE
    ),
    SyncKind.BULK: frozenset({S.CREATED, S.SCHEDULED, S.RUNNING, S.EXPORTING, S.CANCELING, S.PROCESSING} | TERMINAL),
}


def status_of(execution: Execution, kind: SyncKind) -> ExecutionStatus | None:
    """The execution's status if it is documented for this kind of sync, else None."""
    status = execution.known_status
    return status if status in DOCUMENTED[kind] else None


def finished(execution: Execution, kind: SyncKind) -> bool:
    return status_of(execution, kind) in TERMINAL


@dataclass(frozen=True)
class Judgement:
    """What the watch concluded from one answer."""

    verdict: Verdict
    sync_id: str
    execution: Execution | None
    message: str
    #: The status is not one this provider knows (it is treated as still running).
    unknown_status: bool = False
    #: Log ``message`` as a warning: set by the watch the first time it meets each unknown status.
    warn: bool = False
    #: The watch needs another request before it can judge (the next page of the executions list).
    again: bool = False
    #: The sync's name, when the watch knows it: the summary carries it (after ``sync_id``), so a task resumed
    #: from its trigger knows the name without asking Polytomic again.
    sync_name: str | None = None

    def summary(self) -> dict[str, Any] | None:
        if self.execution is None:
            return None
        summary = self.execution.summary(self.sync_id)
        if self.sync_name is None:
            return summary
        return {"sync_id": summary.pop("sync_id"), "sync_name": self.sync_name, **summary}


def classify(execution: Execution, kind: SyncKind) -> Ending | None:
    """How a finished execution ended, or None while it runs (an unknown status never counts as finished).

    The one classification: the gate's verdict (:func:`judge`) and the asset watcher's outcome both derive
    from it. ``completed`` with record errors and a bulk ``errors`` status are ``completed_with_errors``.
    """
    status = status_of(execution, kind)
    if status in SUCCESS:
        return Ending.COMPLETED_WITH_ERRORS if execution.error_count else Ending.SUCCEEDED
    if status in FINISHED_WITH_ERRORS:
        return Ending.COMPLETED_WITH_ERRORS
    if status in FAILURE_ENDINGS:
        return FAILURE_ENDINGS[status]
    return None


def judge(
    sync_id: str, execution: Execution, *, fail_on_record_errors: bool, kind: SyncKind = SyncKind.MODEL
) -> Judgement:
    """The verdict on one execution: success is exactly ``completed`` (without errors, when asked)."""
    ending = classify(execution, kind)
    about = f"Polytomic {'bulk ' if kind is SyncKind.BULK else ''}sync {sync_id} execution {execution.id}"
    counts = f"Counts: {execution.counts.describe()}."
    if ending is None:
        # Any other status, documented or not, is "still running"; an unknown one can never pass the gate.
        return Judgement(
            Verdict.WAITING,
            sync_id,
            execution,
            f"{about}: {execution.status} ({execution.counts.describe()}).",
            unknown_status=status_of(execution, kind) is None,
        )
    bulk_errors = execution.known_status in FINISHED_WITH_ERRORS
    if ending is Ending.SUCCEEDED or (ending is Ending.COMPLETED_WITH_ERRORS and not fail_on_record_errors):
        if bulk_errors:
            message = f"{about} finished with errors, tolerated (fail_on_record_errors=False). {counts}"
        else:
            message = f"{about} completed. {counts}"
        return Judgement(Verdict.SUCCEEDED, sync_id, execution, message)
    if ending is Ending.COMPLETED_WITH_ERRORS:
        what = (
            f"ended with status '{execution.status}' ({execution.error_count} record error(s)) and"
            if bulk_errors
            else f"completed with {execution.error_count} record error(s) and"
        )
        message = f"{about} {what} fail_on_record_errors=True{_quoted(execution)} {counts}"
    else:
        message = f"{about} ended with status '{execution.status}'{_quoted(execution)} {counts}"
    return Judgement(Verdict.FAILED, sync_id, execution, message)


def _quoted(execution: Execution) -> str:
    if not execution.errors:
        return "."
    quoted = "; ".join(truncate(message, 200) for message in execution.errors[:QUOTED_ERRORS])
    more = f" (and {len(execution.errors) - QUOTED_ERRORS} more)" if len(execution.errors) > QUOTED_ERRORS else ""
    return f". Polytomic reports: {quoted}{more}."


#: How a wait can end: every verdict but ``waiting`` (only ever a poll's state).
OUTCOME_VERDICTS = frozenset(verdict for verdict in Verdict if verdict.final)


@dataclass(frozen=True)
class Outcome:
    """How a wait ended: the trigger's one event, and what a poke concludes. The contract between a task and
    its trigger: :meth:`to_event` gives JSON primitives, :meth:`from_event` reads them back (or refuses)."""

    verdict: Verdict
    message: str
    sync_id: str
    execution_id: str | None = None
    summary: dict[str, Any] | None = None
    #: Seconds the trigger polled (so the resumed task can say how long it waited).
    waited: float | None = None
    #: An ``error`` because the execution no longer exists (a 404 to a read of it): the wait is over.
    gone: bool = False

    def __post_init__(self) -> None:
        if self.verdict not in OUTCOME_VERDICTS:
            raise ValueError(f"a wait cannot end with {self.verdict!r}")

    @classmethod
    def of(cls, judgement: Judgement, waited: float | None = None) -> Outcome:
        execution_id = judgement.execution.id if judgement.execution else None
        return cls(judgement.verdict, judgement.message, judgement.sync_id, execution_id, judgement.summary(), waited)

    def to_event(self) -> dict[str, Any]:
        """The event's payload. Its form is read back by every later version (a trigger event stays in the
        database across an upgrade): the verdict is its value, the text ``"succeeded"``, ``"error"``, ..."""
        return {
            "verdict": self.verdict.value,
            "message": self.message,
            "sync_id": self.sync_id,
            "execution_id": self.execution_id,
            "summary": self.summary,
            "waited": round(self.waited, 1) if self.waited is not None else None,
            "gone": self.gone,
        }

    @classmethod
    def from_event(cls, event: Any) -> Outcome:
        """The outcome a trigger sent; ``ValueError`` for anything that is not one."""
        verdict = _event_verdict(event)
        if verdict is None:
            raise ValueError(f"not a Polytomic trigger event: {event!r:.300}")
        summary, waited = event.get("summary"), event.get("waited")
        if verdict in (Verdict.SUCCEEDED, Verdict.FAILED) and not isinstance(summary, dict):
            raise ValueError(f"a '{verdict.value}' event without a summary: {event!r:.300}")
        return cls(
            verdict=verdict,
            message=str(event.get("message") or ""),
            sync_id=str(event.get("sync_id") or ""),
            execution_id=event.get("execution_id") if isinstance(event.get("execution_id"), str) else None,
            summary=summary if isinstance(summary, dict) else None,
            waited=float(waited) if isinstance(waited, (int, float)) else None,
            gone=event.get("gone") is True,  # absent from an older trigger's event
        )


def _event_verdict(event: Any) -> Verdict | None:
    """The final verdict an event names (by value), or None."""
    if not isinstance(event, dict) or not isinstance(event.get("verdict"), str):
        return None
    try:
        verdict = Verdict(event["verdict"])
    except ValueError:
        return None
    return verdict if verdict in OUTCOME_VERDICTS else None
