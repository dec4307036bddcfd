"""Polytomic's clock, as this process learns it from Polytomic's answers. No I/O.

The rule: a time read from Polytomic (an execution's ``created_at`` or ``completed_at``) is compared only with
another time read from Polytomic, never with this process's clock. The two clocks may disagree by minutes (a
worker or triggerer whose NTP has drifted, a VM resumed from a snapshot), and a comparison across them then
loses a run, fires one twice, or drops the run being waited for.

So where a comparison needs "now", or an instant only this side knows (the first poke of a reschedule-mode
sensor, on Airflow's clock), it is put on Polytomic's clock here, and only here:

- Every answer carries Polytomic's ``Date`` header (HTTP requires one of every origin server that has a clock).
  The shared response parsing (``ApiCall.read``, used by both transports) reads it into a :class:`ServerClock`:
  the offset of Polytomic's clock from ours, ``Date`` minus our clock when the answer was read.
- ``Date`` has whole seconds and is written before the answer travels, so the offset errs early, by up to a
  second plus the time the answer took: an instant put on Polytomic's clock lands at most that much early,
  never late. Early is the safe side for every use (an anchor a little early can still see the run that was in
  progress at it; a watermark a little early is then raised to the newest time in the answer, see
  :func:`polytomic_now`).
- Without ``Date`` (a proxy that strips it), :func:`polytomic_now` takes the newest time among the executions
  Polytomic answered with; with neither, the caller says what to fall back on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_polytomic.core.models import Execution

#: A ``Date`` further than this from our clock is not believed (a broken header, not a clock): a year.
MAX_OFFSET = timedelta(days=366)


def _our_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ServerClock:
    """Polytomic's clock relative to this process's: ``offset`` is Polytomic's time minus ours."""

    offset: timedelta

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], ours: datetime | None = None) -> ServerClock | None:
        """The clock an answer's ``Date`` header shows (``ours``: our clock when it was read, default now);
        None when the answer has no readable ``Date``."""
        value = next((v for k, v in headers.items() if k.lower() == "date"), None)
        if not value:
            return None
        try:
            theirs = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if theirs.tzinfo is None:  # "-0000": UTC, as HTTP dates always are
            theirs = theirs.replace(tzinfo=timezone.utc)
        offset = theirs - (ours or _our_now())
        return cls(offset) if abs(offset) <= MAX_OFFSET else None

    def polytomic_time(self, ours: datetime) -> datetime:
        """``ours`` (an instant on this process's clock) on Polytomic's clock."""
        return ours + self.offset

    def now(self) -> datetime:
        """Now, on Polytomic's clock."""
        return self.polytomic_time(_our_now())


def polytomic_now(clock: ServerClock | None, executions: Iterable[Execution] = ()) -> datetime | None:
    """Polytomic's "now" as of an answer: the later of its ``Date`` and the newest time among the executions it
    holds (so everything in the answer happened at or before it, whatever the second ``Date`` rounds off); None
    when the answer has neither."""
    times = [at for item in executions for at in (item.created_at, item.started_at, item.completed_at) if at]
    if clock is not None:
        times.append(clock.now())
    return max(times, default=None)


def on_polytomic_clock(ours: datetime, clock: ServerClock | None) -> datetime:
    """An instant on this process's clock (e.g. a reschedule-mode sensor's first poke) on Polytomic's, by the
    offset ``clock`` shows; unchanged when no answer told the offset (the best this process can do)."""
    return clock.polytomic_time(ours) if clock is not None else ours
