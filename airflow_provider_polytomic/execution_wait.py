"""Waiting for one Polytomic execution to end, as the sensors and the start operators all do: one poll step,
one conclusion (poke and deferrable alike), one time limit, and the deferral to the trigger. One implementation,
so all of them have the same outcomes, log lines and return value.

A task *builds* an :class:`ExecutionWait` from its own parameters (the hook, the sync's kind, the options a DAG
author sets on a watch, the time limit) and its collaborators (:class:`~airflow_provider_polytomic.openlineage.
TaskLineage` for names and lineage, :class:`~airflow_provider_polytomic.console_output.ConsoleLog`), then *calls*
it: :meth:`~ExecutionWait.poke`, :meth:`~ExecutionWait.wait`, :meth:`~ExecutionWait.defer_args`,
:meth:`~ExecutionWait.resume`. Nothing here reads a task's attributes. (The sensors' execution kept across tries
is :mod:`airflow_provider_polytomic.followed_execution`.)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicError, PolytomicExecutionGoneError, PolytomicSyncFailedError

if TYPE_CHECKING:
    from airflow_provider_polytomic.console_output import ConsoleLog
    from airflow_provider_polytomic.core.poll_policy import PollErrors
    from airflow_provider_polytomic.core.status import Judgement, Outcome
    from airflow_provider_polytomic.core.watch import SyncWatch
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
    from airflow_provider_polytomic.openlineage import TaskLineage

#: Airflow's words for "the deferral timed out" (2.x, then 3.x).
_TRIGGER_TIMEOUT_ERRORS = frozenset({"Trigger/execution timeout", "Trigger timeout"})


def time_limit(timeout: float | None, execution_timeout: timedelta | None) -> float | None:
    """Seconds a wait may take: ``timeout`` capped by ``execution_timeout`` (which Airflow does not apply to a
    deferred task), or None when neither is set."""
    limits = [float(timeout)] if timeout is not None else []
    if execution_timeout is not None:
        limits.append(execution_timeout.total_seconds())
    return min(limits) if limits else None


class ExecutionWait:
    """Waits for one execution of one sync to end, for one task instance.

    :param hook: The task's hook (its connection).
    :param kind: Which API and which status meanings.
    :param author_options: The watch options a DAG author sets on the task, each by name (exactly the
        ``author`` fields of :class:`~airflow_provider_polytomic.core.watch.SyncWatch`: a missing one is a
        ``TypeError`` when the wait is built).
    :param limit: Seconds the wait may take (:func:`time_limit`), or None.
    :param names: The sync's name in messages, and the lineage fed with every execution judged.
    :param console: Polytomic's console log in the task log.
    """

    def __init__(
        self,
        *,
        hook: PolytomicHook,
        kind: SyncKind,
        author_options: Mapping[str, Any],
        limit: float | None,
        names: TaskLineage,
        console: ConsoleLog,
        log: Any,
    ) -> None:
        from airflow_provider_polytomic.core.watch import AUTHOR_OPTIONS

        if set(author_options) != set(AUTHOR_OPTIONS):
            raise TypeError(
                f"ExecutionWait needs exactly the watch options {sorted(AUTHOR_OPTIONS)}; got {sorted(author_options)}"
            )
        self.hook = hook
        self.kind = kind
        self.author_options = dict(author_options)
        self.limit = limit
        self.names = names
        self.console = console
        self.log = log
        #: When the wait began (Unix time), for the "Waited" figures.
        self.since: float | None = None

    def watch(self, sync_id: str, **which: Any) -> SyncWatch:
        """A watch of ``sync_id`` with the author's options (``which``: the execution to follow, or how to find it)."""
        from airflow_provider_polytomic.core.watch import SyncWatch

        return SyncWatch(sync_id=sync_id, kind=self.kind, **self.author_options, **which)

    # -- in the worker ----------------------------------------------------------------------------------------

    def poke(self, watch: SyncWatch, then: str, errors: PollErrors | None = None) -> dict[str, Any] | None:
        """One poll: the summary when the execution ended well, None while waiting or while Polytomic is
        temporarily unreachable (the request's own retries spent; ``then`` says what happens next, unless
        ``errors`` counts the failures of a wait that paces itself). Raises when the execution ended badly (after
        its console log) or the error is permanent."""
        from airflow_provider_polytomic.core.poll_policy import permanent

        try:
            summary = self._conclude(self._check(watch))
        except PolytomicSyncFailedError as error:
            raise self.console.failure(error) from None
        except PolytomicError as error:
            if permanent(error):
                raise
            if errors is not None:
                then = f"Polling again in {errors.failed(error):.0f} s."
            self.log.warning("%s %s", error, then)
            summary = None
        else:
            if errors is not None:
                errors.answered()
        self.console.after_poll(watch.sync_id, watch.execution_id)
        return summary

    def wait(self, watch: SyncWatch, poll_interval: float) -> dict[str, Any]:
        """Poll in this process until the execution ends or the limit passes (``AirflowSensorTimeout``), pausing
        as the poll policy says."""
        from airflow_provider_polytomic.core.poll_policy import PollErrors, timed_out

        deadline = time.monotonic() + self.limit if self.limit else None
        errors = PollErrors(poll_interval)
        while True:
            summary = self.poke(watch, "", errors)
            if summary is not None:
                return summary
            pause = errors.pause()
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AirflowSensorTimeout(timed_out(watch.sync_id, limit=self.limit, errors=errors))
                pause = min(pause, remaining)
            time.sleep(pause)

    def _check(self, watch: SyncWatch) -> Judgement:
        """Ask Polytomic once (following list pages if needed) and log one line for this poll."""
        judgement = watch.observe(self.hook.run(watch.next_call()))
        while judgement.again:
            judgement = watch.observe(self.hook.run(watch.next_call()))
        judgement = self.names.named_judgement(judgement)  # the sync's name in the message; the execution for lineage
        waited = time.time() - (self.since or time.time())
        if judgement.warn:
            self.log.warning(judgement.message)
        else:
            self.log.info("%s Waited %.0f s.", judgement.message, waited)
        return judgement

    @classmethod
    def _conclude(cls, judgement: Judgement) -> dict[str, Any] | None:
        """The summary when the execution ended well, None while waiting; raises when it ended badly."""
        from airflow_provider_polytomic.core.status import Outcome

        if not judgement.verdict.final:
            return None
        return settle(Outcome.of(judgement))

    # -- the deferral ---------------------------------------------------------------------------------------

    def defer_args(
        self,
        watch: SyncWatch,
        *,
        conn_id: str,
        poll_interval: float,
        deadline: float | None,
        timeout: timedelta | None,
        anchor: str | None = None,
    ) -> dict[str, Any]:
        """What ``self.defer(**...)`` takes: the trigger that carries the watch on, resuming in ``execute_complete``."""
        # Imported here: a DAG file importing the sensor must not pay for the trigger's module.
        from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger

        state = watch.to_dict()
        sync_name = self.names.sync_name(fetch=False)  # read by the check before deferring, if it could be
        if sync_name is not None:
            state["sync_name"] = sync_name
        if anchor is not None:
            state["anchor"] = anchor
        trigger = PolytomicSyncStatusTrigger(
            watch=state,
            polytomic_conn_id=conn_id,
            poll_interval=poll_interval,
            deadline=deadline,
            # The deferral: the trigger's "waited" counts from here, even after a triggerer restart.
            waiting_since=time.time(),
        )
        return {"trigger": trigger, "method_name": "execute_complete", "timeout": timeout}

    def resume(self, event: Any) -> dict[str, Any]:
        """The trigger's one event, read like a poke: the summary, or the same exception poke mode raises."""
        from airflow_provider_polytomic.core.status import Outcome

        try:
            outcome = Outcome.from_event(event)
        except ValueError as error:
            raise PolytomicError(
                f"PolytomicSyncStatusTrigger sent an event this task does not understand: {error}"
            ) from None
        self.names.saw(outcome.summary)
        # Concluding: the one definition request of this try, if any, names the sync in the message.
        outcome = replace(outcome, message=self.names.named(outcome.message))
        try:
            summary = settle(outcome)
        except PolytomicSyncFailedError as error:
            raise self.console.failure(error) from None
        if outcome.waited is not None:
            self.log.info("%s Waited %.0f s in the triggerer.", outcome.message, outcome.waited)
        else:
            self.log.info(outcome.message)
        self.console.after_conclusion(summary)
        return summary


def build_wait(
    *,
    hook: PolytomicHook,
    kind: SyncKind,
    sync_id: str,
    resolved_name: str | None,
    author_options: Mapping[str, Any],
    limit: float | None,
    console_log: str,
    fetch_while_waiting: bool,
    cursor_store: Any,
    log: Any,
) -> ExecutionWait:
    """A task's wait with its collaborators, from the task's own parameters: the sync's names and lineage
    (:class:`TaskLineage`), the console log (``cursor_store``: where its cursor lasts across reschedule pokes)."""
    from airflow_provider_polytomic.console_output import ConsoleLog
    from airflow_provider_polytomic.openlineage import TaskLineage

    names = TaskLineage(
        hook=hook,
        kind=kind,
        sync_id=sync_id,
        log=log,
        resolved_name=resolved_name,
        fetch_while_waiting=fetch_while_waiting,
    )
    console = ConsoleLog(mode=console_log, hook=hook, kind=kind, log=log, names=names, store=cursor_store)
    return ExecutionWait(
        hook=hook, kind=kind, author_options=author_options, limit=limit, names=names, console=console, log=log
    )


def settle(outcome: Outcome) -> dict[str, Any]:
    """The one place an outcome becomes the task's: the summary, or the exception (poke and deferrable alike)."""
    from airflow_provider_polytomic.core.status import Verdict

    if outcome.verdict is Verdict.SUCCEEDED and outcome.summary is not None:
        return outcome.summary
    if outcome.verdict is Verdict.FAILED and outcome.summary is not None:
        raise PolytomicSyncFailedError(outcome.message, summary=outcome.summary)
    if outcome.verdict is Verdict.TIMEOUT:
        raise AirflowSensorTimeout(outcome.message)
    if outcome.gone:
        raise PolytomicExecutionGoneError(outcome.message, sync_id=outcome.sync_id, execution_id=outcome.execution_id)
    raise PolytomicError(outcome.message)


def deferral_failure(sync_id: str, next_kwargs: dict[str, Any] | None) -> Exception:
    """What to raise when Airflow resumes the task with ``__fail__`` instead of the trigger's event.

    A deferral timeout is a timeout (never retried; Airflow 2 would make it a retryable error);
    anything else (a crashed trigger) is a plain, retryable failure.
    """
    from airflow_provider_polytomic.core.poll_policy import timed_out

    error = str((next_kwargs or {}).get("error", "unknown"))
    if error in _TRIGGER_TIMEOUT_ERRORS:
        timeout: Exception = AirflowSensorTimeout(timed_out(sync_id))  # typed Any where compat's sdk is lazy
        return timeout
    # Airflow passes the trigger's traceback; its last line is the one reason a user can act on (e.g. a trigger
    # row the triggerer's provider version cannot build), which the triggerer's log alone would otherwise hold.
    lines = (next_kwargs or {}).get("traceback")
    last = [line.strip() for line in lines if isinstance(line, str) and line.strip()] if isinstance(lines, list) else []
    reason = f": {last[-1]:.500}" if last else "; see the task log."
    return PolytomicError(f"The Polytomic trigger failed ({error}){reason}")
