"""What both start operators do: start a run safely across retries and kills, then wait for it like the sensor.

:class:`PolytomicStartOperatorBase` leaves one thing to its subclasses (``operators/polytomic.py``): which kind of
sync, and how to start it (``_start_run``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowTaskTimeout, BaseOperator, conf

from airflow_provider_polytomic.core.bounds import poll_interval as checked_interval
from airflow_provider_polytomic.core.constants import DEFAULT_CONN_ID
from airflow_provider_polytomic.core.errors import PolytomicConflictError, PolytomicError
from airflow_provider_polytomic.links.polytomic import PolytomicSyncLink
from airflow_provider_polytomic.polytomic_task import PolytomicTask
from airflow_provider_polytomic.sync_reference import own_xcom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_polytomic.core.models import Execution
    from airflow_provider_polytomic.execution_wait import ExecutionWait

EXECUTION_ID_XCOM_KEY = "execution_id"
#: The run this task itself started (absent when it attached to another): what a timeout after a deferral
#: may cancel. XCom, because a resumed task is a new operator instance and dag.test() drops defer kwargs.
STARTED_XCOM_KEY = "polytomic_started_execution"
IF_RUNNING = ("attach", "fail")
#: The trigger's own deadline fires first, so a timeout cancels the run; Airflow's deferral timeout is the backstop.
_DEFERRAL_GRACE = 60.0


class PolytomicStartOperatorBase(PolytomicTask, BaseOperator):
    """Start a run, then wait like the sensor. Subclasses say which kind of sync and how to start it."""

    template_fields: Sequence[str] = ("sync_id", "sync_name", "idempotency_key")
    operator_extra_links = (PolytomicSyncLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        sync_id: str | None = None,
        sync_name: str | None = None,
        polytomic_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 60,
        timeout: float | None = None,
        fail_on_record_errors: bool = True,
        console_log: str = "on_failure",
        if_running: str = "attach",
        cancel_on_kill: bool = True,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if if_running not in IF_RUNNING:
            raise ValueError(f"if_running must be one of {IF_RUNNING}, got {if_running!r}")
        self._take_sync(
            sync_id=sync_id, sync_name=sync_name, polytomic_conn_id=polytomic_conn_id, console_log=console_log
        )
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = checked_interval(poll_interval, f"{type(self).__name__} '{self.task_id}': poll_interval")
        self.timeout = timeout
        self.fail_on_record_errors = fail_on_record_errors
        self.if_running = if_running
        self.cancel_on_kill = cancel_on_kill
        self.idempotency_key = idempotency_key
        #: The run this task started (and may cancel); None when it attached to someone else's.
        self._started: str | None = None

    def _wait_for(self) -> ExecutionWait:
        """The wait, built from this task's own parameters."""
        from airflow_provider_polytomic.execution_wait import time_limit

        if self._waiting is None:
            self._waiting = self._new_wait(
                author_options={"fail_on_record_errors": self.fail_on_record_errors},
                limit=time_limit(self.timeout, self.execution_timeout),
                fetch_while_waiting=True,  # one process, or a check before deferring: the trigger carries it on
                cursor_store=None,  # one process per wait (or a trigger): the cursor lasts the instance
            )
        return self._waiting

    def _start_run(self, sync_id: str, idempotency_key: str) -> Execution:
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_polytomic.core.ids import validate_id

        self._resolve_and_link(context)  # the name, if given, then the link (which must exist either way)
        sync_id = validate_id(self.sync_id, "sync id")
        execution = self._start(context, sync_id)
        context["ti"].xcom_push(key=EXECUTION_ID_XCOM_KEY, value=execution.id)
        waiting = self._wait_for()
        if not self.wait_for_completion:
            # Started, not finished: no asset event extra, and no request for the name (null unless known).
            return waiting.names.with_sync_name(execution.summary(sync_id), fetch=False)
        watch = waiting.watch(sync_id, execution_id=execution.id)
        waiting.since = time.time()
        limit = waiting.limit
        try:
            if self.deferrable:
                summary = waiting.poke(watch, "The trigger will keep trying.")
                if summary is not None:
                    return self._publish(context, summary)
                deferral = waiting.defer_args(
                    watch,
                    conn_id=self.polytomic_conn_id,
                    poll_interval=self.poll_interval,
                    deadline=time.time() + limit if limit else None,
                    timeout=timedelta(seconds=limit + _DEFERRAL_GRACE) if limit else None,
                )
                self.defer(**deferral)
            return self._publish(context, waiting.wait(watch, self.poll_interval))
        except (AirflowSensorTimeout, AirflowTaskTimeout):
            self._cancel("the wait timed out")
            raise

    def _start(self, context: Context, sync_id: str) -> Execution:
        from airflow_provider_polytomic.core import protocol

        ti: Any = context["ti"]
        key = self.idempotency_key or protocol.idempotency_key(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
        try:
            execution = self._start_run(sync_id, key)
        except PolytomicConflictError:
            if self.if_running == "fail":
                raise
            current = self.hook.get_sync_status(sync_id, self.sync_kind).current_execution
            if current is None:
                raise  # it ended between the two calls; a retry will start a new run
            self.log.warning(
                "Polytomic sync %s is already running (execution %s); if_running='attach', so this task waits "
                "for that run and will not cancel it.",
                sync_id,
                current.id,
            )
            return current
        self._started = execution.id
        context["ti"].xcom_push(key=STARTED_XCOM_KEY, value=execution.id)
        self.log.info("Started Polytomic sync %s: execution %s (Idempotency-Key %s).", sync_id, execution.id, key)
        return execution

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume from the trigger: the same outcomes and return value as waiting in the worker."""
        try:
            return self._publish(context, self._wait_for().resume(event))
        except AirflowSensorTimeout:
            self._started = self._started_before_deferral(context)
            self._cancel("the wait timed out")
            raise

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        from airflow_provider_polytomic.execution_wait import deferral_failure

        self._resume_reference(context)
        if next_method == "__fail__":
            failure = deferral_failure(self.sync_id, next_kwargs)
            if isinstance(failure, AirflowSensorTimeout):
                # Only when Airflow's deferral timeout beats the trigger's own deadline (it has a grace period).
                self._started = self._started_before_deferral(context)
                self._cancel("the wait timed out")
            raise failure
        return super().resume_execution(next_method, next_kwargs, context)

    def _started_before_deferral(self, context: Context) -> str | None:
        started = own_xcom(context, STARTED_XCOM_KEY)
        return started if isinstance(started, str) else None

    def on_kill(self) -> None:
        self._cancel("the task was killed")

    def _cancel(self, why: str) -> None:
        from airflow_provider_polytomic.core.ids import validate_id

        if self._started is None or not self.cancel_on_kill:
            return
        sync_id = validate_id(self.sync_id, "sync id")
        try:
            message = self.hook.cancel_execution(sync_id, self._started, self.sync_kind)
        except PolytomicError as error:
            self.log.error(
                "Could not cancel Polytomic sync %s execution %s after %s: %s", sync_id, self._started, why, error
            )
            return
        self.log.warning("Canceled Polytomic sync %s execution %s because %s. %s", sync_id, self._started, why, message)
