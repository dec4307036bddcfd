"""What a deferred wait logs: its story, not every poll. No I/O; the status trigger asks here.

A trigger's log line is not free in a real triggerer: each one travels to the triggerer's supervisor and wakes
its main loop (which then re-reads the triggers from the database). One INFO line per poll cost a shared
triggerer about four times the poll itself. So a deferred wait logs:

- its start: which execution it follows, or how it will find it (:meth:`WaitLog.start`);
- every change a poll sees (:meth:`WaitLog.poll`): the execution followed, its status, and its counts when they
  change *materially*, i.e. a count that was zero or unreported becomes positive (rows start to move, the first
  record errors or warnings appear). Counts that only grow are not news; the next "still waiting" line has them;
- a "still waiting" line when nothing has been logged for :attr:`WaitLog.every` seconds (default 10 minutes,
  ``[polytomic] still_waiting_log_interval``), with the status and counts, so a long wait never looks dead;
- every warning (the driver logs them and calls :meth:`WaitLog.logged`) and the final line (:meth:`WaitLog.final`).

Poke and reschedule modes log every poke instead: each poke is its own log section, and its cost is the
worker's process, not the line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from airflow_provider_polytomic.core.bounds import MAX_POLL_INTERVAL, bounded_number
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicConfigError
from airflow_provider_polytomic.core.naming import name_sync
from airflow_provider_polytomic.core.status import Judgement

#: Seconds without a line after which a waiting trigger says it is still waiting.
DEFAULT_STILL_WAITING_INTERVAL = 600.0
#: Where a deployment changes it (Airflow configuration: section, option).
STILL_WAITING_OPTION = ("polytomic", "still_waiting_log_interval")


class LogLine(NamedTuple):
    text: str
    warning: bool = False


@dataclass(frozen=True)
class _Seen:
    """What a logged line told about the wait: the execution, its status, and which counts were moving."""

    execution_id: str | None
    status: str | None
    moving: frozenset[str]

    @classmethod
    def of(cls, judgement: Judgement) -> _Seen:
        execution = judgement.execution
        if execution is None:
            return cls(None, None, frozenset())
        moving = frozenset(name for name, value in execution.counts.to_dict().items() if value)
        return cls(execution.id, execution.status, moving)

    def news(self, since: _Seen) -> bool:
        """Whether this is worth a line after ``since``: another execution or status, or a count that started."""
        return (self.execution_id, self.status) != (since.execution_id, since.status) or not self.moving <= since.moving


@dataclass
class WaitLog:
    """Decides which of a deferred wait's observations are logged; see the module docstring.

    :param began: Unix time the wait began (the deferral), which every "waited" figure counts from.
    :param every: Seconds without a line before a "still waiting" line.
    """

    began: float
    every: float = DEFAULT_STILL_WAITING_INTERVAL
    #: When the last line was logged (Unix time); the start line sets it.
    last_line: float = 0.0
    _told: _Seen | None = field(default=None, repr=False)

    def waited(self, now: float) -> float:
        return max(now - self.began, 0.0)

    def start(self, sync_id: str, watch: dict[str, Any], poll_interval: float, now: float) -> str:
        """The first line: what is waited for (``watch``: the trigger's watch options) and how often it polls."""
        self.last_line = now
        bulk = "bulk " if watch.get("kind") == SyncKind.BULK.value else ""
        what = f"Polytomic {bulk}sync {sync_id}"
        if watch.get("execution_id"):
            what += f" execution {watch['execution_id']}"
        elif watch.get("anchor"):
            what += f": the execution in progress at {watch['anchor']}, else the first created after it"
        else:
            what += ": its current execution, else its last one"
        if watch.get("completed_after") and not watch.get("execution_id"):
            what += f", if created after {watch['completed_after']}"
        what = name_sync(what, sync_id, watch.get("sync_name"))  # as every later line names it
        return (
            f"Waiting for {what}. Polling every {poll_interval:g} s; logging each change, else a line every "
            f"{self.every:g} s. Waited {self.waited(now):.0f} s."
        )

    def poll(self, judgement: Judgement, now: float) -> LogLine | None:
        """The line to log for a poll that is still waiting, or None when it has nothing new to say."""
        seen = _Seen.of(judgement)
        if judgement.warn:  # the first sight of an unknown status: always said, as a warning
            return self._said(seen, now, LogLine(judgement.message, warning=True))
        if self._told is None or seen.news(self._told):
            return self._said(seen, now, LogLine(f"{judgement.message} Waited {self.waited(now):.0f} s."))
        if now - self.last_line >= self.every:
            return self._said(seen, now, LogLine(f"{judgement.message} Still waiting after {self.waited(now):.0f} s."))
        return None

    def logged(self, now: float) -> None:
        """A line was logged elsewhere (a warning): the wait does not look dead, so the clock starts again."""
        self.last_line = now

    def final(self, judgement: Judgement, now: float) -> str:
        return f"{judgement.message} Waited {self.waited(now):.0f} s."

    def _said(self, seen: _Seen, now: float, line: LogLine) -> LogLine:
        self._told, self.last_line = seen, now
        return line


def wait_began(value: Any, now: float) -> float:
    """When the wait began, from the trigger's ``waiting_since`` argument: a Unix time no later than ``now``.

    A trigger serialized before the argument existed (None), or with a value that is not a time, counts from
    ``now``; a worker clock ahead of the triggerer's is capped at ``now``. Never raises: a shared triggerer runs it.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return now
    return min(float(value), now)


def still_waiting_interval(raw: Any) -> tuple[float, str | None]:
    """The configured "still waiting" interval (seconds), and a warning when the setting was refused."""
    if raw is None or raw == "":
        return DEFAULT_STILL_WAITING_INTERVAL, None
    section, option = STILL_WAITING_OPTION
    try:
        return bounded_number(raw, f"[{section}] {option}", maximum=MAX_POLL_INTERVAL), None
    except PolytomicConfigError as error:
        return DEFAULT_STILL_WAITING_INTERVAL, f"{error} Using {DEFAULT_STILL_WAITING_INTERVAL:g} s."
