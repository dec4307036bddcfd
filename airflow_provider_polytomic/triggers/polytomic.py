"""``PolytomicSyncStatusTrigger``: waits in the triggerer for a sync execution to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_polytomic.core.bounds import bounded_number, first_poll_delay
from airflow_provider_polytomic.core.bounds import poll_interval as checked_interval
from airflow_provider_polytomic.core.constants import DEFAULT_CONN_ID
from airflow_provider_polytomic.core.errors import PolytomicConfigError, PolytomicError, execution_gone
from airflow_provider_polytomic.core.poll_policy import PollErrors, permanent, timed_out
from airflow_provider_polytomic.core.status import Outcome, Verdict
from airflow_provider_polytomic.core.trigger_args import ArgumentCheck, row_marks
from airflow_provider_polytomic.core.wait_log import STILL_WAITING_OPTION, WaitLog, still_waiting_interval, wait_began
from airflow_provider_polytomic.core.watch import IGNORABLE_OPTIONS, WATCH_OPTIONS, SyncWatch

#: The trigger's clock and sleep (a test runs an hour's wait in a second by replacing both).
_now = time.time
_sleep = asyncio.sleep
#: Whether this process has warned about a bad ``[polytomic] still_waiting_log_interval`` (once is enough).
_config_warned = False


class PolytomicSyncStatusTrigger(BaseTrigger):
    """Polls a sync until the execution it watches ends, then yields exactly one event.

    The arguments are JSON primitives and carry no secret (the key is read from the connection when the
    trigger runs), so the trigger survives serialization and a triggerer restart: it resumes with the
    execution it follows, or, before it has one, with the executions started after ``anchor``.

    :param watch: The watch to carry on (:meth:`SyncWatch.to_dict`: the sync, the execution followed or the
        ``anchor`` to find it by, and every other option of
        :data:`~airflow_provider_polytomic.core.watch.WATCH_OPTIONS`). Its options may also be given one by one
        as keyword arguments (``sync_id=...``), as a DAG author writing a trigger would.
    :param polytomic_conn_id: The Airflow connection.
    :param poll_interval: Seconds between polls.
    :param deadline: Unix time after which the trigger gives up with a ``timeout`` event.
    :param waiting_since: Unix time the task deferred: every "waited" figure (log lines, the event's ``waited``)
        counts from it, across triggerer restarts. Missing (a trigger serialized by an older version), or not a
        time: from when this trigger starts.
    :param provider_version: Set by :meth:`serialize` (the version that wrote the row), never by hand: with it,
        bad arguments end the trigger with one ``error`` event instead of an exception in the triggerer (see
        :mod:`~airflow_provider_polytomic.core.trigger_args`). Without it they raise at once.
    :param ignorable: Set by :meth:`serialize`: the names a version that does not know them may drop.

    It logs the wait's story, not every poll (:mod:`airflow_provider_polytomic.core.wait_log`): the start, each
    change, a "still waiting" line every ``[polytomic] still_waiting_log_interval`` seconds (600) of silence,
    warnings and the end.
    """

    #: Arguments (beside the watch options) whose absence cannot change the event: a trigger of an older version
    #: drops them, with a warning, when it does not know them.
    IGNORABLE_ARGUMENTS: tuple[str, ...] = ("waiting_since",)  # only the "waited" figures

    def __init__(
        self,
        *,
        watch: dict[str, Any] | None = None,
        polytomic_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 60.0,
        deadline: float | None = None,
        waiting_since: float | None = None,
        provider_version: str | None = None,
        ignorable: list[str] | None = None,
        **watch_options: Any,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.arguments = ArgumentCheck(type(self).__name__, provider_version, ignorable)
        given = {"watch": watch, "polytomic_conn_id": polytomic_conn_id, "poll_interval": poll_interval}
        checked = self.arguments.run(lambda: self._check(**given, deadline=deadline, watch_options=watch_options))
        # A trigger whose row it cannot run with keeps it as it came (serialize() writes it back unchanged).
        self._given = {
            **given,
            "deadline": deadline,
            "waiting_since": waiting_since,
            "provider_version": provider_version,
            "ignorable": ignorable,
        }
        self._given.update(watch_options)
        if checked is None:  # wait() only reports the problem: this names the sync in its event
            sync_id = (watch if isinstance(watch, dict) else watch_options).get("sync_id")
            checked = ({"sync_id": f"{sync_id!s:.60}" if sync_id else ""}, DEFAULT_CONN_ID, 60.0, None)
        self.watch, self.polytomic_conn_id, self.poll_interval, self.deadline = checked
        # Never checked here: wait() reads any value it cannot use as "now" (core.wait_log.wait_began).
        self.waiting_since = waiting_since

    def _check(
        self, *, watch: Any, polytomic_conn_id: Any, poll_interval: Any, deadline: Any, watch_options: dict[str, Any]
    ) -> tuple[dict[str, Any], str, float, float | None]:
        """The arguments, each checked; raises naming the first one that is wrong."""
        if watch is not None and not isinstance(watch, dict):
            raise PolytomicConfigError(f"watch must be a JSON object; got {type(watch).__name__}.")
        state = self.arguments.known({**(watch or {}), **watch_options}, WATCH_OPTIONS, "argument or watch option")
        SyncWatch.from_dict(state)  # every value readable (ids, instants, kind, flags) before the trigger starts
        if not isinstance(polytomic_conn_id, str) or not polytomic_conn_id.strip():
            raise PolytomicConfigError(
                f"polytomic_conn_id must name an Airflow connection; got {polytomic_conn_id!r:.60}."
            )
        interval = checked_interval(poll_interval, "PolytomicSyncStatusTrigger poll_interval")
        if deadline is not None:
            deadline = bounded_number(deadline, "PolytomicSyncStatusTrigger deadline (Unix time)", maximum=1e11)
        return state, polytomic_conn_id, interval, deadline

    @property
    def sync_id(self) -> str:
        return str(self.watch["sync_id"])

    def serialize(self) -> tuple[str, dict[str, Any]]:
        classpath = f"{type(self).__module__}.{type(self).__qualname__}"
        if self.arguments.problem is not None:
            return classpath, dict(self._given)
        return (
            classpath,
            {
                "watch": dict(self.watch),
                "polytomic_conn_id": self.polytomic_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "waiting_since": self.waiting_since,
                **row_marks((*self.IGNORABLE_ARGUMENTS, *IGNORABLE_OPTIONS)),
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self.wait())  # type: ignore[no-untyped-call]

    async def wait(self) -> dict[str, Any]:
        """Poll until the watched execution ends (or the deadline passes); the event's payload."""
        # Imported here: only the triggerer needs aiohttp, never a DAG file.
        from airflow_provider_polytomic.hooks.polytomic_async import AsyncPolytomicClient

        if self.arguments.problem is not None:  # a row this version cannot run: fail the task, never the triggerer
            self.log.error(self.arguments.problem)
            return Outcome(Verdict.ERROR, self.arguments.problem, self.sync_id, None).to_event()
        if warning := self.arguments.ignored_warning():
            self.log.warning(warning)
        story = self._story()
        try:
            watch = SyncWatch.from_dict(self.watch)
            client = await AsyncPolytomicClient.from_connection(self.polytomic_conn_id, self.log)
        except PolytomicError as error:  # a connection that can never work, an undefined one, a bad id
            return Outcome(Verdict.ERROR, str(error), self.sync_id, self.watch.get("execution_id")).to_event()
        self.log.info(story.start(watch.sync_id, self.watch, self.poll_interval, _now()))
        errors = PollErrors(self.poll_interval)
        # An answer another trigger on this loop got for the same read may serve this one for half an interval.
        max_age = self.poll_interval / 2
        async with client:
            # The task checked just before deferring: the first poll waits one interval (no double poll), plus a
            # little at random so that triggers created together do not poll together.
            await _sleep(self._pause(first_poll_delay(self.poll_interval)))
            while True:
                pause = self.poll_interval
                try:
                    judgement = watch.observe(await client.run(watch.next_call(), max_age=max_age))
                    while judgement.again:
                        judgement = watch.observe(await client.run(watch.next_call(), max_age=max_age))
                except PolytomicError as error:
                    if permanent(error):
                        gone = execution_gone(error) is not None  # the task then ends its wait (and looks afresh)
                        outcome = Outcome(Verdict.ERROR, str(error), watch.sync_id, watch.execution_id, gone=gone)
                        return outcome.to_event()
                    # Still transient after the request's own retries: keep watching, backing off.
                    pause = errors.failed(error)
                    self.log.warning("%s Polling again in %.0f s.", error, pause)
                    story.logged(_now())
                else:
                    errors.answered()
                    now = _now()
                    if judgement.verdict.final:
                        self.log.info(story.final(judgement, now))  # the final poll, logged too
                        return Outcome.of(judgement, story.waited(now)).to_event()
                    line = story.poll(judgement, now)  # the story's next line, if this poll is news
                    if line is not None:
                        (self.log.warning if line.warning else self.log.info)(line.text)
                if self.deadline is not None:
                    remaining = self.deadline - _now()
                    if remaining <= 0:
                        message = timed_out(watch.sync_id, errors=errors, sync_name=watch.sync_name)
                        return Outcome(Verdict.TIMEOUT, message, watch.sync_id, watch.execution_id).to_event()
                    pause = min(pause, remaining)
                await _sleep(pause)

    def _story(self) -> WaitLog:
        """The wait's log policy: counting from the deferral, "still waiting" as the deployment configured."""
        from airflow.providers.common.compat.sdk import conf

        global _config_warned
        every, warning = still_waiting_interval(conf.get(*STILL_WAITING_OPTION, fallback=None))
        if warning is not None and not _config_warned:
            _config_warned = True
            self.log.warning(warning)
        return WaitLog(began=wait_began(self.waiting_since, _now()), every=every)

    def _pause(self, pause: float) -> float:
        """``pause``, cut short by the deadline."""
        if self.deadline is None:
            return pause
        return max(min(pause, self.deadline - _now()), 0.0)
