"""How every driver polls Polytomic when it fails: the status trigger, a sensor's pokes, a start operator's wait
in the worker, and the asset watcher all ask here. No I/O.

- Which errors end a wait: :func:`permanent` ones (a wrong key, an unknown sync, a malformed connection: trying
  again cannot help). A transient one (:func:`~airflow_provider_polytomic.core.errors.is_transient`) is waited
  out. Anything that is no :class:`PolytomicError` is a bug, not Polytomic's answer: a wait lets it propagate (the
  task fails and its retries apply); the asset watcher, which must never die, retries it like a transient one.
- How long to pause after failures in a row: :class:`PollErrors` (doubling from the poll interval, capped at
  :data:`MAX_ERROR_BACKOFF`). A sensor's pokes are paced by Airflow (``poke_interval``), so only drivers that
  loop themselves pause.
- What a timeout says: :func:`timed_out`, one message, with the failures that preceded it.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_polytomic.core.errors import PolytomicError, is_transient
from airflow_provider_polytomic.core.naming import name_sync

#: Longest pause between polls while Polytomic keeps failing transiently.
MAX_ERROR_BACKOFF = 600.0


def error_backoff(poll_interval: float, failures: int) -> float:
    """The pause after ``failures`` transient failures in a row: doubling from the poll interval, capped."""
    # The exponent is capped too, so days of failures cannot overflow the float.
    return min(poll_interval * 2.0 ** min(failures, 32), max(poll_interval, MAX_ERROR_BACKOFF))


def permanent(error: BaseException) -> bool:
    """Whether ``error`` needs a person before polling can work: a :class:`PolytomicError` that is not
    transient. It ends a wait; it pauses the asset watcher for its ``permanent_error_interval``."""
    return isinstance(error, PolytomicError) and not is_transient(error)


@dataclass
class PollErrors:
    """The polls that failed in a row (transiently) since the last answer."""

    poll_interval: float
    failures: int = 0
    last: BaseException | None = None

    def failed(self, error: BaseException) -> float:
        """Count ``error``; the pause before the next poll."""
        self.failures += 1
        self.last = error
        return self.pause()

    def pause(self) -> float:
        """The pause before the next poll: the poll interval, longer after failures."""
        return error_backoff(self.poll_interval, self.failures) if self.failures else self.poll_interval

    def answered(self) -> int:
        """Polytomic answered: the count starts again; how many had failed before."""
        failed, self.failures, self.last = self.failures, 0, None
        return failed

    def describe(self) -> str:
        """What a timeout adds about them (empty when the last poll was answered)."""
        if self.last is None:
            return ""
        return f" Polytomic was failing: the last {self.failures} poll(s) in a row failed, the last with: {self.last}"


def timed_out(
    sync_id: str, *, limit: float | None = None, errors: PollErrors | None = None, sync_name: str | None = None
) -> str:
    """The one timeout message, for a trigger's deadline, a deferral's timeout and a worker's wait alike."""
    within = f" (time limit {limit:.0f} s)" if limit is not None else ""
    message = f"Timed out waiting for Polytomic sync {sync_id}{within}."
    return name_sync(message, sync_id, sync_name) + (errors.describe() if errors else "")
