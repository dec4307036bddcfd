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
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_polytomic.core.constants import SyncKind
    from airflow_provider_polytomic.core.poll_policy import PollErrors
    from airflow_provider_polytomic.core.watch import SyncWatch
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook

CONSOLE_LOG_CHOICES = ("on_failure", "always", "never")
#: Airflow 3.3+ task state store key: the console cursor of the followed execution, across reschedule pokes.
CURSOR_KEY = "polytomic_console_cursor"
#: What a failure's message adds when its console log was shown.
SHOWN_ABOVE = " The execution's console log, from Polytomic, is in the task log above."


def check_console_log(task_id: str, value: Any) -> str:
    if value not in CONSOLE_LOG_CHOICES:
        raise ValueError(f"{task_id}: console_log must be one of {', '.join(CONSOLE_LOG_CHOICES)}; got {value!r:.40}.")
    return str(value)


class PolytomicConsoleLogMixin:
    """Shows an execution's console log in the task log; mixed into the sensors and start operators (before
    :class:`~airflow_provider_polytomic.execution_wait.PolytomicExecutionWaitMixin`, whose polls it wraps)."""

    console_log: str = "on_failure"
    sync_kind: SyncKind
    #: (execution id, cursor) of the last entries logged by this instance (``"always"``).
    _console_cursor: tuple[str, str] | None = None
    _console_cursor_kept: bool = False
    _console_cursor_read: bool = False
    #: The running task's context (set when the task resolves its sync), for the task state store.
    _context: Context | None = None

    if TYPE_CHECKING:
        log: Any

        @property
        def hook(self) -> PolytomicHook: ...

        def _named(self, message: str, *, fetch: bool = True) -> str: ...

        def _state_store(self, context: Context) -> Any: ...

    # -- where the wait concludes or polls (PolytomicExecutionWaitMixin) ------------------------------------

    def _poll_once(self, watch: SyncWatch, then: str, errors: PollErrors | None = None) -> dict[str, Any] | None:
        try:
            summary: dict[str, Any] | None = super()._poll_once(watch, then, errors)  # type: ignore[misc]
        except PolytomicSyncFailedError as error:
            raise self._with_console_log(error) from None
        if self.console_log == "always" and watch.execution_id is not None:
            self._log_new_entries(watch.sync_id, watch.execution_id)
        return summary

    def _conclude_event(self, context: Context, event: Any) -> dict[str, Any]:
        try:
            summary: dict[str, Any] = super()._conclude_event(context, event)  # type: ignore[misc]
        except PolytomicSyncFailedError as error:
            raise self._with_console_log(error) from None
        if self.console_log == "always" and summary.get("execution_id"):
            self._show(str(summary["sync_id"]), str(summary["execution_id"]))
        return summary

    def _forget(self, context: Context) -> None:
        # The wait's end: the console cursor goes with the followed execution.
        if self._console_cursor_kept and (store := self._state_store(context)) is not None:
            try:
                store.delete(CURSOR_KEY)
            except Exception as error:
                self.log.warning("Could not clear the task state store (%s: %s).", type(error).__name__, error)
        self._console_cursor_kept = False
        super()._forget(context)  # type: ignore[misc]

    # -- showing it -----------------------------------------------------------------------------------------

    def _with_console_log(self, error: PolytomicSyncFailedError) -> PolytomicSyncFailedError:
        """The failure, after the execution's console log was shown (its message then says where)."""
        summary = error.summary
        if self.console_log == "never" or not summary.get("execution_id"):
            return error
        if not self._show(str(summary.get("sync_id")), str(summary["execution_id"])):
            return error
        return PolytomicSyncFailedError(f"{error}{SHOWN_ABOVE}", summary=summary)

    def _show(self, sync_id: str, execution_id: str, after: str | None = None) -> bool:
        """Read the console log (one request) and log its block; True when a block was logged. Never raises."""
        from airflow_provider_polytomic.core.console_log import console_block

        about = self._named(f"{self._what()} {sync_id} execution {execution_id}", fetch=False)
        try:
            log = self.hook.get_console_log(sync_id, execution_id, self.sync_kind, after=after)
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
            self._console_cursor = (execution_id, log.next_cursor)
        if block is None:
            if after is None:
                self.log.info("Polytomic's console log for %s has no entries.", about)
            return False
        self.log.info("%s", block)
        return True

    def _log_new_entries(self, sync_id: str, execution_id: str) -> None:
        """``"always"``: the entries since the last poll (kept across reschedule pokes where Airflow can)."""
        self._read_kept_cursor(execution_id)
        before = self._console_cursor
        after = before[1] if before is not None and before[0] == execution_id else None
        self._show(sync_id, execution_id, after=after)
        if self._console_cursor != before:
            self._keep_cursor()

    def _read_kept_cursor(self, execution_id: str) -> None:
        if self._console_cursor_read or self._context is None or not getattr(self, "reschedule", False):
            return
        self._console_cursor_read = True
        store = self._state_store(self._context)
        if store is None:
            return
        try:
            saved = store.get(CURSOR_KEY)
        except Exception as error:
            self.log.warning("Could not read the task state store (%s: %s).", type(error).__name__, error)
            return
        self._console_cursor_kept = saved is not None
        if isinstance(saved, dict) and saved.get("execution_id") == execution_id and saved.get("cursor"):
            self._console_cursor = (execution_id, str(saved["cursor"]))

    def _keep_cursor(self) -> None:
        if self._console_cursor is None or self._context is None or not getattr(self, "reschedule", False):
            return
        store = self._state_store(self._context)
        if store is None:
            return
        execution_id, cursor = self._console_cursor
        try:
            store.set(CURSOR_KEY, {"execution_id": execution_id, "cursor": cursor})
        except Exception as error:
            self.log.warning("Could not write the task state store (%s: %s).", type(error).__name__, error)
            return
        self._console_cursor_kept = True

    def _what(self) -> str:
        from airflow_provider_polytomic.core.constants import SyncKind

        return "Polytomic bulk sync" if self.sync_kind is SyncKind.BULK else "Polytomic sync"
