"""``PolytomicSyncStatusSensor``: gate downstream tasks on a Polytomic sync execution that ended well."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_polytomic.core.bounds import poll_interval
from airflow_provider_polytomic.core.constants import DEFAULT_CONN_ID, SyncKind
from airflow_provider_polytomic.links.polytomic import SYNC_URL_XCOM_KEY, PolytomicSyncLink
from airflow_provider_polytomic.polytomic_task import PolytomicTask

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_polytomic.core.watch import SyncWatch
    from airflow_provider_polytomic.execution_wait import ExecutionWait
    from airflow_provider_polytomic.followed_execution import FollowedExecution

__all__ = ["SYNC_URL_XCOM_KEY", "PolytomicBulkSyncStatusSensor", "PolytomicSyncLink", "PolytomicSyncStatusSensor"]


class PolytomicSyncStatusSensor(PolytomicTask, BaseSensorOperator):
    """Waits until a Polytomic model sync's execution ends; succeeds only on ``completed``.

    Which execution: ``execution_id`` when given; otherwise the sync's current execution, else its last one.
    Once an execution in progress has been seen it is followed by id to its end, even if a newer run starts
    meanwhile. With ``completed_after``, executions created before that instant do not count (so yesterday's
    run cannot open today's gate); with no execution to judge, the sensor waits.

    Outcomes: ``completed`` succeeds (unless ``fail_on_record_errors`` and the execution reports record
    errors); ``failed``, ``canceled`` and ``interrupted`` fail the task with Polytomic's errors; any other
    status is "still running" (an unknown one is logged once and can never pass). The return value (XCom
    ``return_value``) is the same summary dict in every mode: ``sync_id``, ``execution_id``, ``status``,
    ``type``, ``created_at``, ``started_at``, ``completed_at``, ``counts``, ``errors`` (the first few),
    ``errors_total``.

    Failures, retries and ``soft_fail``, identical in poke, reschedule and deferrable mode:

    - A sync that ended badly raises :class:`PolytomicSyncFailedError`, an ``AirflowFailException``: the
      task fails without using its ``retries`` (retrying cannot undo a finished execution).
    - A timeout raises ``AirflowSensorTimeout``, which is never retried either.
    - With ``soft_fail=True`` both of these skip the task instead. Nothing else is skipped: a wrong key, an
      unknown sync or a malformed answer fails the task (and ``retries`` apply), so a broken connection can
      never pass for a skipped sync.
    - Transient API trouble (timeouts, 429, 5xx) is retried within a poll and otherwise just waited out
      until the sensor's ``timeout``.

    In deferrable mode the sensor checks once, then defers to :class:`PolytomicSyncStatusTrigger` with the
    remaining ``timeout``, capped by ``execution_timeout``.

    Across tries and reschedule pokes (each a new process), Airflow 3.3+ keeps the execution being followed in
    the task state store, so a retry after a worker crash follows the same run; it is forgotten when the wait
    ends (a verdict, a timeout, a skip, the run deleted, or the task's last try), and a cleared task looks
    afresh. Without a store (older Airflow),
    a reschedule poke finds it again from the executions list as the execution in progress at its first poke, or
    the first started after it (the first poke's time is put on Polytomic's clock with the offset its ``Date``
    header shows, so the two clocks need not agree); a poke-mode retry
    reads the current execution afresh. Where that matters there, pass ``execution_id`` or use deferrable mode.

    :param sync_id: The model sync (a UUID). Templated.
    :param sync_name: Instead of ``sync_id``: the sync's exact name (case-sensitive), looked up in the worker once
        per try (see the README, "By name"). Templated.
    :param polytomic_conn_id: The Airflow connection of type ``polytomic``.
    :param execution_id: Wait for exactly this execution. Templated.
    :param completed_after: A datetime or ISO 8601 string; ignore executions created before it. Templated,
        e.g. ``"{{ data_interval_end }}"``.
    :param fail_on_record_errors: Fail on a ``completed`` execution that reports record errors.
    :param console_log: ``"on_failure"`` (default): show Polytomic's console log of an execution that ended badly
        in the task log; ``"always"``: also the new entries at each poke (see the README, "Console log");
        ``"never"``.
    :param deferrable: Wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("sync_id", "sync_name", "execution_id", "completed_after")
    operator_extra_links = (PolytomicSyncLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        sync_id: str | None = None,
        sync_name: str | None = None,
        polytomic_conn_id: str = DEFAULT_CONN_ID,
        execution_id: str | None = None,
        completed_after: datetime | str | None = None,
        fail_on_record_errors: bool = True,
        console_log: str = "on_failure",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        poll_interval(self.poke_interval, f"{type(self).__name__} '{self.task_id}': poke_interval")
        self._take_sync(
            sync_id=sync_id, sync_name=sync_name, polytomic_conn_id=polytomic_conn_id, console_log=console_log
        )
        self.execution_id = execution_id
        self.completed_after = completed_after
        self.fail_on_record_errors = fail_on_record_errors
        self.deferrable = deferrable
        self._watch: SyncWatch | None = None
        self._followed: FollowedExecution | None = None

    def _reschedules(self) -> bool:
        return bool(self.reschedule)

    def _follow(self) -> FollowedExecution:
        """The execution followed across tries, built from this task's own parameters (once rendered)."""
        from airflow_provider_polytomic.followed_execution import FollowedExecution

        if self._followed is None:
            self._followed = FollowedExecution(
                author_execution_id=self.execution_id, retries=self.retries, forget_all=self._forget, log=self.log
            )
        return self._followed

    def _wait_for(self, context: Context) -> ExecutionWait:
        """The wait, built from this task's own parameters (once per instance: a poke-mode try keeps it)."""
        from airflow_provider_polytomic.execution_wait import time_limit
        from airflow_provider_polytomic.task_state_store import TaskStateStore

        if self._waiting is None:
            followed = self._follow()  # read first (recall), so the wait knows what the store kept
            self._waiting = self._new_wait(
                author_options={"fail_on_record_errors": self.fail_on_record_errors},
                limit=time_limit(self.timeout, self.execution_timeout),
                # The name once per try (see TaskLineage): a reschedule poke reads it only for the store to keep.
                fetch_while_waiting=not self.reschedule or (followed.name_kept and not followed.name_tried),
                cursor_store=TaskStateStore.of(context, self.log) if self.reschedule else None,
            )
            self._waiting.names.known_name = followed.kept_name
        return self._waiting

    # -- poke and reschedule ------------------------------------------------------------------------------

    def poke(self, context: Context) -> bool | PokeReturnValue:
        if self._watch is None:
            if not self._resolve_and_link(context, wait_out_transient=True):
                return False
            anchor = self._first_reschedule_date(context) if self.reschedule else None
            self._watch = self._new_watch(anchor, context)
            self._wait_for(context).since = anchor.timestamp() if anchor else time.time()
        # Transient trouble is waited out: the sensor's timeout bounds how long this may last.
        waiting = self._wait_for(context)
        summary = waiting.poke(self._watch, "Trying again at the next poke.")
        self._follow().remember(context, self._watch, waiting.names.sync_name(fetch=False))
        if summary is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._publish(context, summary))

    # -- deferrable ---------------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        with self._follow().following(context):  # the followed execution is forgotten when the wait ends, in every mode
            return self._execute_deferrable(context) if self.deferrable else super().execute(context)

    def _execute_deferrable(self, context: Context) -> Any:
        from airflow_provider_polytomic.core.poll_policy import timed_out

        started = time.monotonic()
        self._resolve_and_link(context)  # the name, if given, then the link (which must exist either way)
        watch = self._new_watch(None, context)
        waiting = self._wait_for(context)
        waiting.since = time.time()
        with self._soft_fail():
            summary = waiting.poke(watch, "The trigger will keep trying.")
            if summary is not None:
                return self._publish(context, summary)  # already finished: no deferral
            self._follow().remember(context, watch, waiting.names.sync_name(fetch=False))
            remaining = (waiting.limit or 0.0) - (time.monotonic() - started)
            if remaining <= 0:
                raise AirflowSensorTimeout(timed_out(watch.sync_id, limit=waiting.limit))
        deferral = waiting.defer_args(
            watch,
            conn_id=self.polytomic_conn_id,
            poll_interval=float(self.poke_interval),
            deadline=time.time() + remaining,
            timeout=timedelta(seconds=remaining),
            # Before an execution is known, a restarted trigger must find the same one: anchor it to now, on
            # Polytomic's clock (the triggerer's and this worker's may both differ from it).
            anchor=watch.polytomic_now().isoformat() if watch.execution_id is None else None,
        )
        self.defer(**deferral)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume from the trigger: the same outcomes and return value as poke mode."""
        return self._publish(context, self._wait_for(context).resume(event))

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        # Airflow's own resume_execution skips on *any* error under soft_fail (and Airflow 2 turns a
        # deferral timeout into a retryable error); this keeps the poke-mode semantics described above.
        from airflow_provider_polytomic.execution_wait import deferral_failure

        with self._follow().following(context), self._soft_fail():
            self._resume_reference(context)
            if next_method == "__fail__":
                raise deferral_failure(self.sync_id, next_kwargs)
            return getattr(self, next_method)(context, **(next_kwargs or {}))

    # -- shared -------------------------------------------------------------------------------------------

    def _new_watch(self, anchor: datetime | None, context: Context) -> SyncWatch:
        """The watch for this try: ``execution_id`` if given, else the one an earlier try followed, else the
        sync's current one (or the anchored look-up)."""
        from airflow_provider_polytomic.core.ids import validate_id
        from airflow_provider_polytomic.core.watch import completed_after_instant

        remembered = None
        if not self.execution_id:
            sync_id = validate_id(self.sync_id, "sync id")
            remembered = self._follow().recall(context, sync_id, self._sync().resolved_name)
        return self._wait_for(context).watch(
            self.sync_id,
            execution_id=self.execution_id or remembered,
            completed_after=completed_after_instant(self.completed_after),
            # Airflow's time: the watch puts it on Polytomic's clock before comparing (core/clock.py).
            local_anchor=None if remembered else anchor,
        )

    def _first_reschedule_date(self, context: Context) -> datetime | None:
        """When this try's first poke ran, if this is a later poke in reschedule mode; None otherwise."""
        ti: Any = context["ti"]
        if hasattr(ti, "get_first_reschedule_date"):  # Airflow 3
            first: datetime | None = ti.get_first_reschedule_date(context)
            return first
        from airflow.sensors.base import _orig_start_date  # type: ignore[attr-defined]  # Airflow 2.x only

        first_try = (ti.max_tries or 0) - (self.retries or 0) + 1
        started: datetime | None = _orig_start_date(
            dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index, try_number=first_try
        )
        return started

    def _forget(self, context: Context) -> None:
        """The wait ended: what it kept in the task state store goes (the name's resolution, the console
        cursor, the followed execution)."""
        from airflow_provider_polytomic.task_state_store import TaskStateStore

        store = TaskStateStore.of(context, self.log)
        if self._reference is not None:
            self._reference.forget(store)
        if self._waiting is not None:
            self._waiting.console.forget(store)
        if self._followed is not None:
            self._followed.forget(store)

    @contextmanager
    def _soft_fail(self) -> Iterator[None]:
        """Under ``soft_fail``, turn the two final outcomes (a sync failure, a timeout) into a skip."""
        try:
            yield
        except (AirflowSensorTimeout, AirflowFailException) as error:
            if self.soft_fail:
                raise AirflowSkipException(f"Skipped because soft_fail=True: {error}") from error
            raise


class PolytomicBulkSyncStatusSensor(PolytomicSyncStatusSensor):
    """Waits until a Polytomic bulk (ELT) sync's execution ends; the same options and semantics as
    :class:`PolytomicSyncStatusSensor`, over ``/api/bulk/syncs``.

    Bulk statuses: ``completed`` succeeds; ``failed``, ``canceled`` and ``interrupted`` fail; ``errors`` (the run
    finished with errors) and ``completed`` with ``error_count > 0`` fail when ``fail_on_record_errors``, else
    succeed. The summary adds the first schemas' status and counts (``schemas``, ``schemas_total``).
    """

    sync_kind = SyncKind.BULK
