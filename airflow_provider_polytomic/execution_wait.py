"""Waiting for one Polytomic execution to end, as the sensors and the start operators all do: one poll step,
one conclusion (poke and deferrable alike), one time limit, and the deferral to the trigger. One implementation,
so all of them have the same outcomes, log lines and return value. (The sensors' execution kept across tries is
:mod:`airflow_provider_polytomic.followed_execution`.)"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, Asset

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicError, PolytomicExecutionGoneError, PolytomicSyncFailedError
from airflow_provider_polytomic.lineage import PolytomicLineageMixin
from airflow_provider_polytomic.links.polytomic import SYNC_URL_XCOM_KEY

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_polytomic.core.poll_policy import PollErrors
    from airflow_provider_polytomic.core.status import Judgement, Outcome
    from airflow_provider_polytomic.core.watch import SyncWatch
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
    from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger

#: Airflow's words for "the deferral timed out" (2.x, then 3.x).
_TRIGGER_TIMEOUT_ERRORS = frozenset({"Trigger/execution timeout", "Trigger timeout"})


class PolytomicExecutionWaitMixin(PolytomicLineageMixin):
    """Waits for one Polytomic execution to end; mixed into an operator that has ``polytomic_conn_id`` and
    ``fail_on_record_errors`` (the sensors and the start operators)."""

    polytomic_conn_id: str
    fail_on_record_errors: bool
    #: Which API (``/api/syncs`` or ``/api/bulk/syncs``) and which status meanings.
    sync_kind: SyncKind = SyncKind.MODEL
    _waiting_since: float | None = None

    if TYPE_CHECKING:
        log: Any  # from BaseOperator (a logging.Logger on Airflow 2, structlog on 3)

    @staticmethod
    def _state_store(context: Context) -> Any:
        """Airflow 3.3+'s task state store for this task instance; None where Airflow has none."""
        return context.get("task_state_store")  # type: ignore[attr-defined,unused-ignore]

    def _forget(self, context: Context) -> None:
        """The wait ended: each mixin that keeps something in the task state store deletes it (extending this)."""

    @cached_property
    def hook(self) -> PolytomicHook:
        # Imported when a task runs: a DAG file importing the sensor must not pay for requests (~45 ms).
        from airflow_provider_polytomic.hooks.polytomic import PolytomicHook

        return PolytomicHook(polytomic_conn_id=self.polytomic_conn_id)

    def _sync_watch(self, sync_id: str, **which: Any) -> SyncWatch:
        """A watch of ``sync_id`` with this task's kind and the options its DAG author set (``which``: the
        execution to follow, or how to find it)."""
        from airflow_provider_polytomic.core.watch import AUTHOR_OPTIONS, SyncWatch

        chosen = {name: getattr(self, name) for name in AUTHOR_OPTIONS}
        return SyncWatch(sync_id=sync_id, kind=self.sync_kind, **chosen, **which)

    def _check(self, watch: SyncWatch) -> Judgement:
        """Ask Polytomic once (following list pages if needed) and log one line for this poll."""
        judgement = watch.observe(self.hook.run(watch.next_call()))
        while judgement.again:
            judgement = watch.observe(self.hook.run(watch.next_call()))
        judgement = self._named_judgement(judgement)  # the sync's name in the message; the execution for lineage
        waited = time.time() - (self._waiting_since or time.time())
        if judgement.warn:
            self.log.warning(judgement.message)
        else:
            self.log.info("%s Waited %.0f s.", judgement.message, waited)
        return judgement

    def _poll_once(self, watch: SyncWatch, then: str, errors: PollErrors | None = None) -> dict[str, Any] | None:
        """One poll: the summary when the execution ended well, None while waiting or while Polytomic is
        temporarily unreachable (the request's own retries spent; ``then`` says what happens next, unless
        ``errors`` counts the failures of a wait that paces itself). Raises when the execution ended badly or the
        error is permanent."""
        from airflow_provider_polytomic.core.poll_policy import permanent

        try:
            summary = self._conclude(self._check(watch))
        except PolytomicError as error:
            if permanent(error):
                raise
            if errors is not None:
                then = f"Polling again in {errors.failed(error):.0f} s."
            self.log.warning("%s %s", error, then)
            return None
        if errors is not None:
            errors.answered()
        return summary

    @classmethod
    def _conclude(cls, judgement: Judgement) -> dict[str, Any] | None:
        """The summary when the execution ended well, None while waiting; raises when it ended badly."""
        from airflow_provider_polytomic.core.status import Outcome

        if not judgement.verdict.final:
            return None
        return cls._settle(Outcome.of(judgement))

    def _conclude_event(self, context: Context, event: Any) -> dict[str, Any]:
        """The trigger's one event, read like a poke: the summary, or the same exception poke mode raises."""
        from airflow_provider_polytomic.core.status import Outcome

        try:
            outcome = Outcome.from_event(event)
        except ValueError as error:
            raise PolytomicError(
                f"PolytomicSyncStatusTrigger sent an event this task does not understand: {error}"
            ) from None
        if outcome.summary is not None:
            self._lineage_summary = outcome.summary
        # Concluding: the one definition request of this try, if any, names the sync in the message.
        outcome = replace(outcome, message=self._named(outcome.message))
        summary = self._settle(outcome)
        if outcome.waited is not None:
            self.log.info("%s Waited %.0f s in the triggerer.", outcome.message, outcome.waited)
        else:
            self.log.info(outcome.message)
        return self._publish(context, summary)

    @staticmethod
    def _settle(outcome: Outcome) -> dict[str, Any]:
        """The one place an outcome becomes the task's: the summary, or the exception (poke and deferrable alike)."""
        from airflow_provider_polytomic.core.status import Verdict

        if outcome.verdict is Verdict.SUCCEEDED and outcome.summary is not None:
            return outcome.summary
        if outcome.verdict is Verdict.FAILED and outcome.summary is not None:
            raise PolytomicSyncFailedError(outcome.message, summary=outcome.summary)
        if outcome.verdict is Verdict.TIMEOUT:
            raise AirflowSensorTimeout(outcome.message)
        if outcome.gone:
            raise PolytomicExecutionGoneError(
                outcome.message, sync_id=outcome.sync_id, execution_id=outcome.execution_id
            )
        raise PolytomicError(outcome.message)

    def _time_limit(self) -> float | None:
        """Seconds the wait may take: ``timeout`` capped by ``execution_timeout`` (which Airflow does not apply
        to a deferred task), or None when neither is set."""
        timeout = getattr(self, "timeout", None)
        execution_timeout = getattr(self, "execution_timeout", None)
        limits = [float(timeout)] if timeout is not None else []
        if execution_timeout is not None:
            limits.append(execution_timeout.total_seconds())
        return min(limits) if limits else None

    def _deferral_failure(self, sync_id: str, next_kwargs: dict[str, Any] | None) -> Exception:
        """What to raise when Airflow resumes the task with ``__fail__`` instead of the trigger's event.

        A deferral timeout is a timeout (never retried; Airflow 2 would make it a retryable error);
        anything else (a crashed trigger) is a plain, retryable failure.
        """
        from airflow_provider_polytomic.core.poll_policy import timed_out

        error = str((next_kwargs or {}).get("error", "unknown"))
        if error in _TRIGGER_TIMEOUT_ERRORS:
            return AirflowSensorTimeout(timed_out(sync_id))
        # Airflow passes the trigger's traceback; its last line is the one reason a user can act on (e.g. a trigger
        # row the triggerer's provider version cannot build), which the triggerer's log alone would otherwise hold.
        lines = (next_kwargs or {}).get("traceback")
        last = (
            [line.strip() for line in lines if isinstance(line, str) and line.strip()]
            if isinstance(lines, list)
            else []
        )
        reason = f": {last[-1]:.500}" if last else "; see the task log."
        return PolytomicError(f"The Polytomic trigger failed ({error}){reason}")

    def _trigger(
        self, watch: SyncWatch, *, poll_interval: float, deadline: float | None, anchor: str | None = None
    ) -> PolytomicSyncStatusTrigger:
        # Imported here: a DAG file importing the sensor must not pay for the trigger's module.
        from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger

        state = watch.to_dict()
        if anchor is not None:
            state["anchor"] = anchor
        return PolytomicSyncStatusTrigger(
            watch=state,
            polytomic_conn_id=self.polytomic_conn_id,
            poll_interval=poll_interval,
            deadline=deadline,
            # The deferral: the trigger's "waited" counts from here, even after a triggerer restart.
            waiting_since=time.time(),
        )

    def _publish(self, context: Context, summary: dict[str, Any]) -> dict[str, Any]:
        """Put the summary into the extra of each asset (dataset, on Airflow 2) this task updates, so DAGs
        scheduled on it see which execution ran; returns the summary (with the sync's name)."""
        summary = self._with_sync_name(summary)
        for outlet in getattr(self, "outlets", None) or ():
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra.update(summary)
        return summary

    def _push_sync_url(self, context: Context, sync_id: Any) -> None:
        """Push the link's URL first thing, whatever happens next: with an invalid sync id it is the Polytomic
        app itself, and with an unusable connection an empty string (no link), so the link never makes the
        scheduler log "XCom not found" and the Details tab never shows an empty "Extra Links" heading."""
        from airflow_provider_polytomic.core.ids import validate_id

        try:
            config = self.hook.config
        except PolytomicError:
            url = ""  # the task is about to fail on the connection, with its own message
        else:
            try:
                url = config.sync_url(validate_id(sync_id, "sync id"), self.sync_kind)
            except PolytomicError:
                url = config.base_url
        context["ti"].xcom_push(key=SYNC_URL_XCOM_KEY, value=url)
