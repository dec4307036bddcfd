"""``PolytomicSyncStatusTrigger``: waits in the triggerer for a sync execution to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_polytomic.core.bounds import bounded_number
from airflow_provider_polytomic.core.bounds import poll_interval as checked_interval
from airflow_provider_polytomic.core.errors import PolytomicError, is_transient
from airflow_provider_polytomic.core.models import SyncKind, parse_timestamp
from airflow_provider_polytomic.core.status import Verdict
from airflow_provider_polytomic.core.watch import SyncWatch

#: Longest pause between polls while Polytomic keeps failing transiently.
MAX_ERROR_BACKOFF = 600.0


def error_backoff(poll_interval: float, failures: int) -> float:
    """The pause after ``failures`` transient failures in a row: doubling from the poll interval, capped."""
    # The exponent is capped too, so days of failures cannot overflow the float.
    return min(poll_interval * 2.0 ** min(failures, 32), max(poll_interval, MAX_ERROR_BACKOFF))


def event_payload(
    verdict: str,
    message: str,
    *,
    sync_id: str,
    execution_id: str | None,
    summary: dict[str, Any] | None = None,
    waited: float | None = None,
) -> dict[str, Any]:
    """The one event the trigger yields. ``verdict``: succeeded, failed, error or timeout; ``waited``: seconds
    the trigger polled, so the resumed task can say how long it waited, as poke mode does."""
    return {
        "verdict": verdict,
        "message": message,
        "sync_id": sync_id,
        "execution_id": execution_id,
        "summary": summary,
        "waited": round(waited, 1) if waited is not None else None,
    }


class PolytomicSyncStatusTrigger(BaseTrigger):
    """Polls a sync until the execution it watches ends, then yields exactly one event.

    The arguments are JSON primitives and carry no secret (the key is read from the connection when the
    trigger runs), so the trigger survives serialization and a triggerer restart: it resumes with the
    execution it follows, or, before it has one, with the executions started after ``anchor``.

    :param sync_id: The model sync.
    :param polytomic_conn_id: The Airflow connection.
    :param execution_id: The execution to follow, if already known.
    :param completed_after: ISO 8601; executions created before it do not count.
    :param anchor: ISO 8601; when ``execution_id`` is unknown, the execution in progress at this instant or
        the first one after it is judged (so a restart cannot latch onto a different run).
    :param poll_interval: Seconds between polls.
    :param fail_on_record_errors: A ``completed`` execution with record errors is a failure.
    :param deadline: Unix time after which the trigger gives up with a ``timeout`` event.
    :param kind: ``"model"`` or ``"bulk"``.
    """

    def __init__(
        self,
        *,
        sync_id: str,
        polytomic_conn_id: str = "polytomic_default",
        execution_id: str | None = None,
        completed_after: str | None = None,
        anchor: str | None = None,
        poll_interval: float = 60.0,
        fail_on_record_errors: bool = True,
        deadline: float | None = None,
        kind: str = "model",
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.sync_id = sync_id
        self.polytomic_conn_id = polytomic_conn_id
        self.execution_id = execution_id
        self.completed_after = completed_after
        self.anchor = anchor
        self.poll_interval = checked_interval(poll_interval, "PolytomicSyncStatusTrigger poll_interval")
        self.fail_on_record_errors = bool(fail_on_record_errors)
        self.deadline = (
            bounded_number(deadline, "PolytomicSyncStatusTrigger deadline (Unix time)", maximum=1e11)
            if deadline is not None
            else None
        )
        self.kind = SyncKind(kind).value

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "sync_id": self.sync_id,
                "polytomic_conn_id": self.polytomic_conn_id,
                "execution_id": self.execution_id,
                "completed_after": self.completed_after,
                "anchor": self.anchor,
                "poll_interval": self.poll_interval,
                "fail_on_record_errors": self.fail_on_record_errors,
                "deadline": self.deadline,
                "kind": self.kind,
            },
        )

    def _watch(self) -> SyncWatch:
        return SyncWatch(
            sync_id=self.sync_id,
            execution_id=self.execution_id,
            completed_after=_timestamp(self.completed_after),
            anchor=_timestamp(self.anchor),
            fail_on_record_errors=self.fail_on_record_errors,
            kind=SyncKind(self.kind),
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self.wait())  # type: ignore[no-untyped-call]

    async def wait(self) -> dict[str, Any]:
        """Poll until the watched execution ends (or the deadline passes); the event's payload."""
        # Imported here: only the triggerer needs aiohttp, never a DAG file.
        from airflow_provider_polytomic.hooks.polytomic_async import AsyncPolytomicClient

        started = time.monotonic()
        try:
            watch = self._watch()
            client = await AsyncPolytomicClient.from_connection(self.polytomic_conn_id, self.log)
        except PolytomicError as error:  # a connection that can never work, an undefined one, a bad id
            return event_payload("error", str(error), sync_id=self.sync_id, execution_id=self.execution_id)
        failures = 0
        last_error: PolytomicError | None = None
        async with client:
            while True:
                pause = self.poll_interval
                try:
                    judgement = watch.observe(await client.run(watch.next_call()))
                    while judgement.again:
                        judgement = watch.observe(await client.run(watch.next_call()))
                except PolytomicError as error:
                    if not is_transient(error):
                        return self._event(watch, "error", str(error))
                    # Still transient after the request's own retries: keep watching, backing off.
                    failures += 1
                    last_error = error
                    pause = error_backoff(self.poll_interval, failures)
                    self.log.warning("%s Polling again in %.0f s.", error, pause)
                else:
                    failures, last_error = 0, None
                    if judgement.verdict is not Verdict.WAITING:
                        waited = time.monotonic() - started
                        self.log.info("%s Waited %.0f s.", judgement.message, waited)  # the final poll, logged too
                        summary = judgement.summary()
                        return self._event(watch, judgement.verdict.value, judgement.message, summary, waited)
                    if judgement.warn:
                        self.log.warning(judgement.message)
                    else:
                        self.log.info("%s Waited %.0f s.", judgement.message, time.monotonic() - started)
                if self.deadline is not None:
                    remaining = self.deadline - time.time()
                    if remaining <= 0:
                        message = f"Timed out waiting for Polytomic sync {watch.sync_id}."
                        if last_error is not None:
                            message += (
                                f" Polytomic was failing: the last {failures} poll(s) in a row failed, the last with: "
                                f"{last_error}"
                            )
                        return self._event(watch, "timeout", message)
                    pause = min(pause, remaining)
                await asyncio.sleep(pause)

    @staticmethod
    def _event(
        watch: SyncWatch,
        verdict: str,
        message: str,
        summary: dict[str, Any] | None = None,
        waited: float | None = None,
    ) -> dict[str, Any]:
        return event_payload(
            verdict, message, sync_id=watch.sync_id, execution_id=watch.execution_id, summary=summary, waited=waited
        )


def _timestamp(value: str | None) -> datetime | None:
    return parse_timestamp(value) if value else None
