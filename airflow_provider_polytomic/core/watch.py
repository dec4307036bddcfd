"""Which execution a sensor judges, as a small state machine. No I/O. (What its status means is
:mod:`airflow_provider_polytomic.core.status`.)

:class:`SyncWatch` is a small state machine. A driver (the sensor's poke, the trigger's loop) asks it for the
next :class:`~airflow_provider_polytomic.core.protocol.ApiCall`, sends it with its own transport, and hands the
answer back to :meth:`SyncWatch.observe`, which returns a :class:`Judgement`. Both drivers therefore judge
exactly alike.

Which execution is judged:

- ``execution_id`` given: that one.
- otherwise the sync's current execution, else its last one; once an execution in progress has been seen,
  it is followed by id until it ends, even if a newer run starts meanwhile.
- ``completed_after``: executions created before it do not count.
- ``anchor`` (a process that lost its memory: a rescheduled poke, a restarted trigger): the executions list is
  read instead, and the execution in progress at the anchor is judged, else the first one created after it —
  the one the watch would have followed had it never forgotten. The anchor is an instant on Polytomic's clock,
  as every time it is compared with (:mod:`~airflow_provider_polytomic.core.clock`): a trigger is given
  Polytomic's "now" of the task's last answer; a reschedule-mode poke knows only its first poke's time on
  Airflow's clock (``local_anchor``), which the first answer's ``Date`` puts on Polytomic's. A run created
  before the anchor that had finished by then, or whose status is unknown, is never chosen: its end time is
  ``completed_at``, else (when the API leaves it null) its start or creation time
  (:func:`~airflow_provider_polytomic.core.models.finished_at`).
- ``completed_after`` is an instant the DAG author names (e.g. the data interval's end), compared as given with
  Polytomic's ``created_at``: it is not a reading of this process's clock, so it is not moved by the offset.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.clock import ServerClock, on_polytomic_clock
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicConfigError
from airflow_provider_polytomic.core.ids import validate_id
from airflow_provider_polytomic.core.models import (
    Execution,
    ExecutionPage,
    SyncStatus,
    finished_at,
)
from airflow_provider_polytomic.core.naming import name_sync
from airflow_provider_polytomic.core.scan import NewestFirstScan
from airflow_provider_polytomic.core.status import Judgement, Verdict, finished, judge, status_of
from airflow_provider_polytomic.core.values import parse_timestamp


@dataclass
class SyncWatch:
    """Follows one sync's execution to its end; see the module docstring for which execution."""

    sync_id: str
    execution_id: str | None = None
    completed_after: datetime | None = None
    anchor: datetime | None = None
    #: Options a DAG author sets (a constructor parameter of the sensors and start operators, under the same
    #: name) are marked ``author``: each task passes them to the wait it builds (:data:`AUTHOR_OPTIONS`;
    #: tests/unit/test_execution_wait.py fails for a task that lacks one). Every option so far
    #: can change the verdict; one that cannot (a hint for log lines) is marked ``ignorable``: a trigger of an
    #: older version that does not know it then drops it with a warning instead of failing
    #: (:data:`IGNORABLE_OPTIONS`, :mod:`~airflow_provider_polytomic.core.trigger_args`).
    fail_on_record_errors: bool = field(default=True, metadata={"author": True})
    kind: SyncKind = SyncKind.MODEL
    #: The sync's name, once the task has read it: every message of the watch (and of its trigger) names the
    #: sync as ``Polytomic sync 'Orders' (248df4b7-…)``, the first line as the last. A hint for log lines only.
    sync_name: str | None = field(default=None, metadata={"ignorable": True})
    #: An anchor on this process's clock (a reschedule-mode sensor's first poke), put on Polytomic's clock with
    #: the first answer. Never crosses to a trigger (``process``): a trigger is given ``anchor``.
    local_anchor: datetime | None = field(default=None, metadata={"process": True})
    _scan: NewestFirstScan | None = field(default=None, repr=False)
    #: Polytomic's clock as the last answer showed it.
    _clock: ServerClock | None = field(default=None, repr=False)
    _unknown_seen: set[str] = field(default_factory=set, repr=False)
    #: The last by-id call and what it was built from: a trigger polls the same execution every interval, and
    #: the call is immutable, so it is built (and its ids checked) once, not on every poll.
    _by_id: tuple[tuple[str, str, SyncKind], protocol.ApiCall[Any]] | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.kind = SyncKind(self.kind)
        self.sync_id = validate_id(self.sync_id, "sync id")
        self.execution_id = validate_id(self.execution_id, "execution id") if self.execution_id else None
        for name in _FLAGS:  # an author's truthy value, as the trigger's row will say it
            setattr(self, name, bool(getattr(self, name)))

    # -- the contract with a trigger: JSON primitives, no secret -------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """What a trigger needs to carry on (and a restarted one to resume): JSON primitives only. An option at
        its default is left out (:meth:`from_dict` reads it back as the default): a triggerer of an older version
        refuses an option it does not know, so a newer option is written only by a task that sets it."""
        return {
            name: _to_json(value)
            for name in WATCH_OPTIONS
            if (value := getattr(self, name)) != _DEFAULTS.get(name, _NO_DEFAULT)
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> SyncWatch:
        """The watch :meth:`to_dict` described (ids checked, timestamps parsed); a missing or null option takes
        its default. A value of the wrong type is a :class:`PolytomicConfigError` naming the option."""
        state = checked_options(state)
        options = {name: _from_json(name, state[name]) for name in WATCH_OPTIONS if state.get(name) not in (None, "")}
        return cls(**options)

    def next_call(self) -> protocol.ApiCall[Any]:
        if self.execution_id:
            built_from = (self.sync_id, self.execution_id, self.kind)
            if self._by_id is None or self._by_id[0] != built_from:
                self._by_id = (built_from, protocol.get_execution(*built_from))
            return self._by_id[1]
        if self.anchor is not None or self.local_anchor is not None:
            token = self._scan.page_token if self._scan is not None else None
            return protocol.list_executions(self.sync_id, page_token=token, kind=self.kind)
        return protocol.get_sync_status(self.sync_id, self.kind)

    def polytomic_now(self) -> datetime:
        """Now on Polytomic's clock, by the offset the last answer showed (this process's clock if none did):
        the anchor a trigger is given, so a restarted one finds the same execution whatever the clocks say."""
        return on_polytomic_clock(datetime.now(timezone.utc), self._clock)

    def observe(self, answer: Execution | SyncStatus | ExecutionPage) -> Judgement:
        judgement = self._observe(answer)
        if self.sync_name is None:
            return judgement
        return replace(
            judgement, message=name_sync(judgement.message, self.sync_id, self.sync_name), sync_name=self.sync_name
        )

    def _observe(self, answer: Execution | SyncStatus | ExecutionPage) -> Judgement:
        if isinstance(answer, (SyncStatus, ExecutionPage)) and answer.clock is not None:
            self._clock = answer.clock
        if isinstance(answer, ExecutionPage):
            chosen, more = self._choose_anchored(answer)
            if more:
                return Judgement(Verdict.WAITING, self.sync_id, None, "reading the next page of executions", again=True)
        elif isinstance(answer, SyncStatus):
            chosen = self._choose_current(answer)
        else:
            chosen = answer
        if chosen is None:
            return Judgement(Verdict.WAITING, self.sync_id, None, self._nothing_yet())
        judgement = judge(self.sync_id, chosen, fail_on_record_errors=self.fail_on_record_errors, kind=self.kind)
        # Follow by id from now on: a newer run must not replace the one being watched.
        self.execution_id = chosen.id
        if judgement.unknown_status and chosen.status not in self._unknown_seen:
            self._unknown_seen.add(chosen.status)  # warn once per status, then log it like any other poll
            warning = (
                f"Polytomic sync {self.sync_id} execution {chosen.id} has status '{chosen.status}', which this "
                "provider does not know; treating it as still running (it can never pass the gate)."
            )
            return replace(judgement, warn=True, message=warning)
        return judgement

    def _counts(self, execution: Execution) -> bool:
        if self.completed_after is None:
            return True
        return execution.created_at is not None and execution.created_at >= self.completed_after

    def _choose_current(self, status: SyncStatus) -> Execution | None:
        for candidate in (status.current_execution, status.last_execution):
            if candidate is not None and self._counts(candidate):
                return candidate
        return None

    def _choose_anchored(self, page: ExecutionPage) -> tuple[Execution | None, bool]:
        """The execution in progress at the anchor, else the first created after it; ``True`` when another page
        is needed."""
        if self.anchor is None and self.local_anchor is not None:
            # Put on Polytomic's clock, never later than it should be (see core/clock.py), then compared.
            self.anchor, self.local_anchor = on_polytomic_clock(self.local_anchor, page.clock), None
        anchor = self.anchor
        assert anchor is not None  # noqa: S101 - only called in anchored mode
        if self._scan is None:
            self._scan = NewestFirstScan(is_older=lambda execution: self._ended_before_anchor(execution, anchor))
        if self._scan.feed(page):
            return None, True
        candidates = [
            execution
            for execution in self._scan.found
            if self._eligible_at_anchor(execution, anchor) and self._counts(execution)
        ]
        self._scan = None
        if not candidates:
            return None, False
        # Judged once: from here on the chosen execution is followed by id (or the status is read).
        self.anchor = None
        return candidates[-1], False

    def _ended_before_anchor(self, execution: Execution, anchor: datetime) -> bool:
        """A documented finished run that ended before the anchor: it and everything older are out."""
        ended = finished_at(execution)
        return finished(execution, self.kind) and ended is not None and ended < anchor

    def _eligible_at_anchor(self, execution: Execution, anchor: datetime) -> bool:
        created = execution.created_at or execution.started_at
        if created is not None and created >= anchor:
            return True  # started after the anchor: any status may be judged (an unknown one waits)
        if status_of(execution, self.kind) is None:
            return False  # created before the anchor (or when unknown) with a status nobody can interpret
        if finished(execution, self.kind):
            ended = finished_at(execution)
            return ended is not None and ended >= anchor  # it was still running at the anchor
        return True  # running now, so running at the anchor (or started after it)

    def _nothing_yet(self) -> str:
        if self.completed_after is not None:
            return (
                f"Polytomic sync {self.sync_id} has no execution created after "
                f"{self.completed_after.isoformat()} yet; waiting."
            )
        return f"Polytomic sync {self.sync_id} has no execution yet; waiting."


#: The options a watch is made of, in order: its public fields (what :meth:`SyncWatch.to_dict` writes). A new
#: option is a new field; it crosses to the trigger and back with no other change.
WATCH_OPTIONS = tuple(
    item.name for item in fields(SyncWatch) if not item.name.startswith("_") and not item.metadata.get("process")
)
#: The options a task passes to the wait it builds (``ExecutionWait(author_options=...)``), from its own parameters.
AUTHOR_OPTIONS = tuple(item.name for item in fields(SyncWatch) if item.metadata.get("author"))
#: The options a reader that does not know them may drop (see the note on the fields).
IGNORABLE_OPTIONS = tuple(item.name for item in fields(SyncWatch) if item.metadata.get("ignorable"))
#: The options that are instants (ISO 8601 text across the boundary).
_TIMESTAMPS = frozenset(item.name for item in fields(SyncWatch) if "datetime" in str(item.type))
_FLAGS = frozenset(item.name for item in fields(SyncWatch) if str(item.type) == "bool")
_NO_DEFAULT = object()
_DEFAULTS = {item.name: item.default for item in fields(SyncWatch) if item.default is not MISSING}
_KINDS = frozenset(item.name for item in fields(SyncWatch) if "SyncKind" in str(item.type))


def completed_after_instant(value: datetime | str | None) -> datetime | None:
    """A DAG author's ``completed_after`` (a datetime, naive meaning UTC, or ISO 8601 text; empty is none)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        return parse_timestamp(str(value))
    except ValueError:
        raise PolytomicConfigError(
            f"completed_after must be a datetime or an ISO 8601 string, got {value!r:.100}."
        ) from None


def checked_options(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` if it names a sync and only watch options (a trigger checks this when it is made; the values
    are checked when the watch is built from them)."""
    if not isinstance(state, dict):
        raise PolytomicConfigError(f"A Polytomic watch must be a JSON object; got {type(state).__name__}.")
    unknown = set(state) - set(WATCH_OPTIONS)
    if unknown or not state.get("sync_id"):
        raise PolytomicConfigError(
            f"A Polytomic watch needs a sync_id; unknown option(s): {', '.join(sorted(unknown)) or '-'}."
        )
    return state


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, SyncKind):
        return value.value
    return value


def _from_json(name: str, value: Any) -> Any:
    """One option's value read back, or a config error naming the option (never a bare ``ValueError``)."""
    if name in _TIMESTAMPS:
        try:
            return parse_timestamp(value)
        except (TypeError, ValueError, OverflowError):
            raise PolytomicConfigError(
                f"Watch option {name} must be an ISO 8601 timestamp; got {value!r:.60}."
            ) from None
    if name in _KINDS and value not in [kind.value for kind in SyncKind]:  # a list: any value compares
        kinds = " or ".join(repr(kind.value) for kind in SyncKind)
        raise PolytomicConfigError(f"Watch option {name} must be {kinds}; got {value!r:.60}.")
    if name in _FLAGS and not isinstance(value, bool):
        raise PolytomicConfigError(f"Watch option {name} must be true or false; got {value!r:.60}.")
    return value
