"""``PolytomicSyncStatusTrigger``: waits in the triggerer for a sync execution to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_polytomic.core.bounds import bounded_number, first_poll_delay
from airflow_provider_polytomic.core.bounds import poll_interval as checked_interval
from airflow_provider_polytomic.core.errors import PolytomicError, execution_gone, is_transient
from airflow_provider_polytomic.core.status import Outcome, Verdict
from airflow_provider_polytomic.core.watch import SyncWatch, checked_options

#: Longest pause between polls while Polytomic keeps failing transiently.
MAX_ERROR_BACKOFF = 600.0


def error_backoff(poll_interval: float, failures: int) -> float:
    """The pause after ``failures`` transient failures in a row: doubling from the poll interval, capped."""
    # The exponent is capped too, so days of failures cannot overflow the float.
    return min(poll_interval * 2.0 ** min(failures, 32), max(poll_interval, MAX_ERROR_BACKOFF))


class PolytomicSyncStatusTrigger(BaseTrigger):
    """Polls a sync until the execution it watches ends, then yields exactly one event.

    The arguments are JSON primitives and carry no secret (the key is read from the connection when the
    trigger runs), so the trigger survives serialization and a triggerer restart: it resumes with the
    execution it follows, or, before it has one, with the executions started after ``anchor``.

    :param watch: The watch to carry on (:meth:`SyncWatch.to_dict`: the sync, the execution followed or the
        ``anchor`` to find it by, ``completed_after``, ``fail_on_record_errors``, ``kind``). Its options may also
        be given one by one as keyword arguments (``sync_id=...``), as a DAG author writing a trigger would.
    :param polytomic_conn_id: The Airflow connection.
    :param poll_interval: Seconds between polls.
    :param deadline: Unix time after which the trigger gives up with a ``timeout`` event.
    """

    def __init__(
        self,
        *,
        watch: dict[str, Any] | None = None,
        polytomic_conn_id: str = "polytomic_default",
        poll_interval: float = 60.0,
        deadline: float | None = None,
        **watch_options: Any,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.watch = checked_options({**(watch or {}), **watch_options})
        self.polytomic_conn_id = polytomic_conn_id
        self.poll_interval = checked_interval(poll_interval, "PolytomicSyncStatusTrigger poll_interval")
        self.deadline = (
            bounded_number(deadline, "PolytomicSyncStatusTrigger deadline (Unix time)", maximum=1e11)
            if deadline is not None
            else None
        )

    @property
    def sync_id(self) -> str:
        return str(self.watch["sync_id"])

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "watch": dict(self.watch),
                "polytomic_conn_id": self.polytomic_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self.wait())  # type: ignore[no-untyped-call]

    async def wait(self) -> dict[str, Any]:
        """Poll until the watched execution ends (or the deadline passes); the event's payload."""
        # Imported here: only the triggerer needs aiohttp, never a DAG file.
        from airflow_provider_polytomic.hooks.polytomic_async import AsyncPolytomicClient

        started = time.monotonic()
        try:
            watch = SyncWatch.from_dict(self.watch)
            client = await AsyncPolytomicClient.from_connection(self.polytomic_conn_id, self.log)
        except PolytomicError as error:  # a connection that can never work, an undefined one, a bad id
            return Outcome("error", str(error), self.sync_id, self.watch.get("execution_id")).to_event()
        failures = 0
        last_error: PolytomicError | None = None
        # An answer another trigger on this loop got for the same read may serve this one for half an interval.
        max_age = self.poll_interval / 2
        async with client:
            # The task checked just before deferring: the first poll waits one interval (no double poll), plus a
            # little at random so that triggers created together do not poll together.
            await asyncio.sleep(self._pause(first_poll_delay(self.poll_interval)))
            while True:
                pause = self.poll_interval
                try:
                    judgement = watch.observe(await client.run(watch.next_call(), max_age=max_age))
                    while judgement.again:
                        judgement = watch.observe(await client.run(watch.next_call(), max_age=max_age))
                except PolytomicError as error:
                    if not is_transient(error):
                        gone = execution_gone(error) is not None  # the task then ends its wait (and looks afresh)
                        return Outcome("error", str(error), watch.sync_id, watch.execution_id, gone=gone).to_event()
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
                        return Outcome.of(judgement, waited).to_event()
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
                        return Outcome("timeout", message, watch.sync_id, watch.execution_id).to_event()
                    pause = min(pause, remaining)
                await asyncio.sleep(pause)

    def _pause(self, pause: float) -> float:
        """``pause``, cut short by the deadline."""
        if self.deadline is None:
            return pause
        return max(min(pause, self.deadline - time.time()), 0.0)
