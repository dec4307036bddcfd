"""What the sensor and the start operator share: checking a watched execution, concluding, and reading the
trigger's event. One implementation, so both have the same outcomes, log lines and return value."""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, Asset, BaseOperatorLink

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicError, PolytomicSyncFailedError, is_transient
from airflow_provider_polytomic.lineage import PolytomicLineageMixin

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context, TaskInstanceKey

    from airflow_provider_polytomic.core.watch import Judgement, SyncWatch
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
    from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger

SYNC_URL_XCOM_KEY = "polytomic_sync_url"
#: Airflow's words for "the deferral timed out" (2.x, then 3.x).
_TRIGGER_TIMEOUT_ERRORS = frozenset({"Trigger/execution timeout", "Trigger timeout"})
EVENT_VERDICTS = ("succeeded", "failed", "error", "timeout")


class PolytomicSyncLink(BaseOperatorLink):
    """ "Polytomic sync": the sync's page in the Polytomic app (host from the connection)."""

    name = "Polytomic sync"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        from airflow.providers.common.compat.sdk import XCom

        url = XCom.get_value(ti_key=ti_key, key=SYNC_URL_XCOM_KEY)
        return url if isinstance(url, str) else ""


class PolytomicWaitMixin(PolytomicLineageMixin):
    """Mixed into an operator that has ``polytomic_conn_id`` and ``fail_on_record_errors``."""

    polytomic_conn_id: str
    fail_on_record_errors: bool
    #: Which API (``/api/syncs`` or ``/api/bulk/syncs``) and which status meanings.
    sync_kind: SyncKind = SyncKind.MODEL
    _waiting_since: float | None = None

    if TYPE_CHECKING:
        log: Any  # from BaseOperator (a logging.Logger on Airflow 2, structlog on 3)

    @cached_property
    def hook(self) -> PolytomicHook:
        # Imported when a task runs: a DAG file importing the sensor must not pay for requests (~45 ms).
        from airflow_provider_polytomic.hooks.polytomic import PolytomicHook

        return PolytomicHook(polytomic_conn_id=self.polytomic_conn_id)

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

    def _poll_once(self, watch: SyncWatch, then: str) -> dict[str, Any] | None:
        """One poll: the summary when the execution ended well, None while waiting or while Polytomic is
        temporarily unreachable (the request's own retries spent; ``then`` says what happens next). Raises when
        the execution ended badly or the error is permanent."""
        try:
            return self._conclude(self._check(watch))
        except PolytomicError as error:
            if not is_transient(error):
                raise
            self.log.warning("%s %s", error, then)
            return None

    @staticmethod
    def _conclude(judgement: Judgement) -> dict[str, Any] | None:
        """The summary when the execution ended well, None while waiting; raises when it ended badly."""
        from airflow_provider_polytomic.core.watch import Verdict

        summary = judgement.summary()
        if judgement.verdict is Verdict.SUCCEEDED and summary is not None:
            return summary
        if judgement.verdict is Verdict.FAILED and summary is not None:
            raise PolytomicSyncFailedError(judgement.message, summary=summary)
        return None

    def _conclude_event(self, context: Context, event: Any) -> dict[str, Any]:
        """The trigger's one event, read like a poke: the summary, or the same exception poke mode raises."""
        if not isinstance(event, dict) or event.get("verdict") not in EVENT_VERDICTS:
            raise PolytomicError(
                f"PolytomicSyncStatusTrigger sent an event this task does not understand: {event!r:.300}"
            )
        verdict, message = event["verdict"], str(event.get("message") or "")
        summary = event.get("summary")
        if isinstance(summary, dict):
            self._lineage_summary = summary
        message = self._named(message)  # concluding: the one definition request of this try, if any
        if verdict == "succeeded" and isinstance(summary, dict):
            self.log.info(message)
            return self._publish(context, summary)
        if verdict == "failed" and isinstance(summary, dict):
            raise PolytomicSyncFailedError(message, summary=summary)
        if verdict == "timeout":
            raise AirflowSensorTimeout(message)
        if verdict == "error":
            raise PolytomicError(message)
        raise PolytomicError(f"PolytomicSyncStatusTrigger sent a '{verdict}' event without a summary: {event!r:.300}")

    def _deferral_failure(self, sync_id: str, next_kwargs: dict[str, Any] | None) -> Exception:
        """What to raise when Airflow resumes the task with ``__fail__`` instead of the trigger's event.

        A deferral timeout is a timeout (never retried; Airflow 2 would make it a retryable error);
        anything else (a crashed trigger) is a plain, retryable failure.
        """
        error = str((next_kwargs or {}).get("error", "unknown"))
        if error in _TRIGGER_TIMEOUT_ERRORS:
            return AirflowSensorTimeout(f"Timed out waiting for Polytomic sync {sync_id}.")
        return PolytomicError(f"The Polytomic trigger failed ({error}); see the task log.")

    def _trigger(
        self, watch: SyncWatch, *, poll_interval: float, deadline: float | None, anchor: str | None = None
    ) -> PolytomicSyncStatusTrigger:
        # Imported here: a DAG file importing the sensor must not pay for the trigger's module.
        from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger

        return PolytomicSyncStatusTrigger(
            sync_id=watch.sync_id,
            polytomic_conn_id=self.polytomic_conn_id,
            execution_id=watch.execution_id,
            completed_after=watch.completed_after.isoformat() if watch.completed_after else None,
            anchor=anchor,
            poll_interval=float(poll_interval),
            fail_on_record_errors=self.fail_on_record_errors,
            deadline=deadline,
            kind=self.sync_kind.value,
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
        from airflow_provider_polytomic.core import protocol

        try:
            config = self.hook.config
        except PolytomicError:
            url = ""  # the task is about to fail on the connection, with its own message
        else:
            try:
                url = config.sync_url(protocol.validate_id(sync_id, "sync id"), self.sync_kind)
            except PolytomicError:
                url = config.base_url
        context["ti"].xcom_push(key=SYNC_URL_XCOM_KEY, value=url)
