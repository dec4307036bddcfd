"""Airflow 3.3's task state store, as the sensors keep things in it: a convenience that never fails a task.

The sensors keep three things across reschedule pokes and tries (the followed execution, a name's resolution,
the console log's cursor). Each read, write or delete that fails logs one warning and counts as "nothing kept";
where Airflow has no store (before 3.3, or outside a task run), :attr:`TaskStateStore.available` is False and
every call does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class TaskStateStore:
    """One task instance's store (``raw``: Airflow's accessor, or None), with failures logged on ``log``."""

    def __init__(self, raw: Any, log: Any) -> None:
        self.raw = raw
        self.log = log

    @classmethod
    def of(cls, context: Context, log: Any) -> TaskStateStore:
        """This task instance's store, as Airflow 3.3+ puts it in the context."""
        return cls(context.get("task_state_store"), log)  # type: ignore[attr-defined,unused-ignore]

    @property
    def available(self) -> bool:
        """Whether this Airflow keeps anything across pokes and tries."""
        return self.raw is not None

    def get(self, key: str) -> Any:
        """The value kept under ``key``; None when nothing is (or it cannot be read, after a warning)."""
        if self.raw is None:
            return None
        try:
            return self.raw.get(key)
        except Exception as error:  # the store is a convenience: never let it fail the task
            self._warn("read", error)
            return None

    def set(self, key: str, value: Any) -> bool:
        """Keep ``value`` under ``key``; whether it was kept."""
        if self.raw is None:
            return False
        try:
            self.raw.set(key, value)
        except Exception as error:
            self._warn("write", error)
            return False
        return True

    def delete(self, key: str) -> None:
        """Nothing stays behind under ``key`` (a failure is a warning)."""
        if self.raw is None:
            return
        try:
            self.raw.delete(key)
        except Exception as error:
            self._warn("clear", error)

    def _warn(self, what: str, error: Exception) -> None:
        self.log.warning("Could not %s the task state store (%s: %s).", what, type(error).__name__, error)
