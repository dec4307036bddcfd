"""Polytomic's own console log of an execution in the Airflow task log (``console_log=``), for the sensors and
the start operators.

- ``"on_failure"`` (default): when the execution ends badly (failed, canceled, interrupted, record errors), the
  task log shows its console log (the block :func:`~airflow_provider_polytomic.core.console_log.console_block`
  builds: the last 50 entries, bounded and scrubbed) just before the task fails; the exception says so.
- ``"always"``: that too, and each poll in the worker logs the entries that are new since the last one (one
  request per poll; the cursor lasts the instance, and reschedule pokes on Airflow 3.3+ through the task state
  store, key :data:`CURSOR_KEY`); a task resumed after a deferral logs the last entries when it succeeds.
- ``"never"``: no console log request at all.

Only the worker asks (a poke, or the task resumed after a deferral), never the triggerer, and the console log
never changes the outcome: a failure to read it is one warning line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_polytomic.core.errors import PolytomicSyncFailedError

if TYPE_CHECKING:
    from airflow_provider_polytomic.core.constants import SyncKind
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
    from airflow_provider_polytomic.openlineage import TaskLineage
    from airflow_provider_polytomic.task_state_store import TaskStateStore

CONSOLE_LOG_CHOICES = ("on_failure", "always", "never")
#: Airflow 3.3+ task state store key: the console cursor of the followed execution, across reschedule pokes.
CURSOR_KEY = "polytomic_console_cursor"
#: What a failure's message adds when its console log was shown.
SHOWN_ABOVE = " The execution's console log, from Polytomic, is in the task log above."


def check_console_log(task_id: str, value: Any) -> str:
    if value not in CONSOLE_LOG_CHOICES:
        raise ValueError(f"{task_id}: console_log must be one of {', '.join(CONSOLE_LOG_CHOICES)}; got {value!r:.40}.")
    return str(value)


class ConsoleLog:
    """Shows an execution's console log in the task log, as ``mode`` (``console_log=``) says; built by the sensors
    and start operators, and called by their wait (:class:`~airflow_provider_polytomic.execution_wait.ExecutionWait`)
    after each poll and when it concludes. ``store``: the task state store that keeps the cursor across reschedule
    pokes (None: the cursor lasts this instance)."""

    def __init__(
        self,
        *,
        mode: str,
        hook: PolytomicHook,
        kind: SyncKind,
        log: Any,
        names: TaskLineage,
        store: TaskStateStore | None = None,
    ) -> None:
        self.mode = mode
        self.hook = hook
        self.kind = kind
        self.log = log
        self.names = names
        self.store = store
        #: (execution id, cursor) of the last entries logged by this instance (``"always"``).
        self._cursor: tuple[str, str] | None = None
        self._cursor_kept = False
        self._cursor_read = False

    # -- where the wait polls or concludes -------------------------------------------------------------------

    def after_poll(self, sync_id: str, execution_id: str | None) -> None:
        """``"always"``: the entries new since the last poll."""
        if self.mode == "always" and execution_id is not None:
            self._log_new_entries(sync_id, execution_id)

    def after_conclusion(self, summary: dict[str, Any]) -> None:
        """``"always"``, a task resumed after a deferral that succeeded: the last entries."""
        if self.mode == "always" and summary.get("execution_id"):
            self._show(str(summary["sync_id"]), str(summary["execution_id"]))

    def failure(self, error: PolytomicSyncFailedError) -> PolytomicSyncFailedError:
        """The failure, after the execution's console log was shown (its message then says where)."""
        summary = error.summary
        if self.mode == "never" or not summary.get("execution_id"):
            return error
        if not self._show(str(summary.get("sync_id")), str(summary["execution_id"])):
            return error
        return PolytomicSyncFailedError(f"{error}{SHOWN_ABOVE}", summary=summary)

    def forget(self, store: TaskStateStore) -> None:
        """The wait's end: the cursor kept in the task state store goes with the followed execution."""
        if self._cursor_kept:
            store.delete(CURSOR_KEY)
        self._cursor_kept = False

    # -- showing it -----------------------------------------------------------------------------------------

    def _show(self, sync_id: str, execution_id: str, after: str | None = None) -> bool:
        """Read the console log (one request) and log its block; True when a block was logged. Never raises."""
        from airflow_provider_polytomic.core.console_log import console_block

        about = self.names.named(f"{self._what()} {sync_id} execution {execution_id}", fetch=False)
        try:
            log = self.hook.get_console_log(sync_id, execution_id, self.kind, after=after)
            block = console_block(log, about=about, scrub=self.hook.config.scrub_text, new_only=after is not None)
        except Exception as error:  # the console log is a convenience: it never changes the outcome
            self.log.warning(
                "Could not read Polytomic's console log for %s (%s: %.300s); the task's outcome is unchanged.",
                about,
                type(error).__name__,
                error,
            )
            return False
        if log.next_cursor:
            self._cursor = (execution_id, log.next_cursor)
        if block is None:
            if after is None:
                self.log.info("Polytomic's console log for %s has no entries.", about)
            return False
        self.log.info("%s", block)
        return True

    def _log_new_entries(self, sync_id: str, execution_id: str) -> None:
        """``"always"``: the entries since the last poll (kept across reschedule pokes where Airflow can)."""
        self._read_kept_cursor(execution_id)
        before = self._cursor
        after = before[1] if before is not None and before[0] == execution_id else None
        self._show(sync_id, execution_id, after=after)
        if self._cursor != before:
            self._keep_cursor()

    def _read_kept_cursor(self, execution_id: str) -> None:
        if self._cursor_read or self.store is None:
            return
        self._cursor_read = True
        saved = self.store.get(CURSOR_KEY)
        self._cursor_kept = saved is not None
        if isinstance(saved, dict) and saved.get("execution_id") == execution_id and saved.get("cursor"):
            self._cursor = (execution_id, str(saved["cursor"]))

    def _keep_cursor(self) -> None:
        if self._cursor is None or self.store is None:
            return
        execution_id, cursor = self._cursor
        if self.store.set(CURSOR_KEY, {"execution_id": execution_id, "cursor": cursor}):
            self._cursor_kept = True

    def _what(self) -> str:
        from airflow_provider_polytomic.core.constants import SyncKind

        return "Polytomic bulk sync" if self.kind is SyncKind.BULK else "Polytomic sync"
