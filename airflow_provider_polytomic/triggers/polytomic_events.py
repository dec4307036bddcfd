"""``PolytomicSyncCompletionTrigger``: event-driven scheduling on a Polytomic sync (Airflow 3 asset watchers).

Put it in an ``AssetWatcher`` and the triggerer fires one asset event each time the sync finishes an execution::

    sync = Asset(
        "polytomic://syncs/248df4b7-aa70-47b8-a036-33ac447e668d",
        watchers=[AssetWatcher(name="orders_sync", trigger=PolytomicSyncCompletionTrigger(sync_id=...))],
    )

    with DAG(dag_id="refresh_marts", schedule=[sync], ...): ...

The event's payload (``triggering_asset_events[sync][i].extra["payload"]`` in the scheduled DAG) is the sensor's
bounded execution summary plus ``outcome``, ``verdict``, ``message``, ``sync_kind`` and ``sync_url``.

Exactly once per execution id:

- **With the asset state store** (Airflow 3.3+: the triggerer gives each watcher ``asset_state_store``), the
  watcher keeps a small ledger per asset (the watermark and the ids it has handled). A triggerer restart, a
  paused-then-unpaused DAG or a changed poll interval resumes from it: executions that finished meanwhile
  fire then, once each, and none fires twice. The ledger is written *before* the event is yielded.
- **Without it** (Airflow 3.0-3.2), the watcher starts from a watermark: the ``watermark`` argument, else the
  moment the watcher starts on Polytomic's clock (its first answer's ``Date``; never the triggerer's clock, see
  ``core/clock.py``). Executions finished before it never fire, so a restart fires no duplicate, but
  executions that finished while the triggerer was down (or the DAG paused) do not fire either.

Errors never end the watcher (the poll policy, :mod:`~airflow_provider_polytomic.core.poll_policy`): transient
ones (5xx, 429, timeouts, after the client's own retries) and unexpected exceptions back off up to
``MAX_ERROR_BACKOFF``; permanent ones (401/403, 404, a broken connection) are logged as errors in the triggerer's
log on every retry, which comes every ``permanent_error_interval`` seconds, until they are fixed.

On Airflow 2 (no event-driven scheduling) this module imports, and constructing the trigger raises a clear
error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import airflow.triggers.base as _triggers_base
from airflow.triggers.base import TriggerEvent

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.clock import polytomic_now
from airflow_provider_polytomic.core.completions import (
    DEFAULT_OUTCOMES,
    DEFAULT_PERMANENT_ERROR_INTERVAL,
    PLACEHOLDER_ARGUMENTS,
    CompletionLedger,
    completion_payload,
    newly_finished,
    outcome_of,
    scan_since,
    starting_watermark,
    watcher_arguments,
)
from airflow_provider_polytomic.core.constants import DEFAULT_CONN_ID, SyncKind
from airflow_provider_polytomic.core.errors import PolytomicError, PolytomicTriggerArgumentError
from airflow_provider_polytomic.core.models import Execution
from airflow_provider_polytomic.core.poll_policy import PollErrors, permanent
from airflow_provider_polytomic.core.trigger_args import ArgumentCheck, row_marks
from airflow_provider_polytomic.core.values import parse_timestamp
from airflow_provider_polytomic.triggers.asset_state_store import LedgerStore

if TYPE_CHECKING:
    from airflow.triggers.base import BaseEventTrigger  # type: ignore[attr-defined,unused-ignore]  # Airflow 3

    from airflow_provider_polytomic.hooks.polytomic_async import AsyncPolytomicClient
else:
    # Airflow 2 has no BaseEventTrigger: the class below then builds on BaseTrigger so this module imports,
    # and its constructor says what is missing.
    BaseEventTrigger = getattr(_triggers_base, "BaseEventTrigger", _triggers_base.BaseTrigger)

#: Whether this Airflow can schedule DAGs on asset watchers (Airflow 3).
EVENT_DRIVEN_SCHEDULING = hasattr(_triggers_base, "BaseEventTrigger")


class PolytomicSyncCompletionTrigger(BaseEventTrigger):  # type: ignore[misc]
    """Watches one Polytomic sync and fires one event per newly finished execution, oldest first.

    For an ``AssetWatcher`` (Airflow 3); see the module docstring for the exactly-once rules and errors. The
    arguments are JSON primitives without the key, and a trigger built twice from the same arguments
    serializes identically (the watermark, when not given, is taken when the watcher starts, not here), so
    re-parsing the DAG file does not replace a running watcher.

    :param sync_id: The sync (a UUID).
    :param polytomic_conn_id: The Airflow connection.
    :param outcomes: Which endings fire: any of ``succeeded`` (``completed`` without record errors, the
        default), ``completed_with_errors``, ``failed``, ``canceled``, ``interrupted``.
    :param poll_interval: Seconds between polls of the sync's execution list.
    :param watermark: ISO 8601 (Polytomic's clock); executions that finished at or before it never fire. Default:
        when the watcher starts. With the asset state store it applies only until the watcher has saved its ledger.
    :param kind: ``"model"`` (default) or ``"bulk"``.
    :param permanent_error_interval: Seconds between retries while Polytomic refuses the watcher.
    :param provider_version, ignorable: Written by :meth:`serialize`, never by hand; with them a bad argument is
        an ERROR in the triggerer's log, not an exception in the triggerer (:mod:`..core.trigger_args`).
    """

    #: Arguments that cannot change which events fire: an older version that does not know them drops them.
    IGNORABLE_ARGUMENTS: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        sync_id: str,
        polytomic_conn_id: str = DEFAULT_CONN_ID,
        outcomes: Sequence[str] | str = DEFAULT_OUTCOMES,
        poll_interval: float = 60.0,
        watermark: str | None = None,
        kind: str = "model",
        permanent_error_interval: float = DEFAULT_PERMANENT_ERROR_INTERVAL,
        provider_version: str | None = None,
        ignorable: list[str] | None = None,
        **unknown: Any,
    ) -> None:
        if not EVENT_DRIVEN_SCHEDULING:
            import airflow

            raise PolytomicTriggerArgumentError(
                "PolytomicSyncCompletionTrigger needs Airflow 3: it runs in an AssetWatcher (event-driven "
                f"scheduling), which Airflow {airflow.__version__} does not have. On Airflow 2, wait for the sync "
                "in a DAG with PolytomicSyncStatusSensor instead."
            )
        super().__init__()  # type: ignore[no-untyped-call]
        self.arguments = ArgumentCheck(type(self).__name__, provider_version, ignorable)
        given = {
            "sync_id": sync_id,
            "polytomic_conn_id": polytomic_conn_id,
            "outcomes": outcomes,
            "poll_interval": poll_interval,
            "watermark": watermark,
            "kind": kind,
            "permanent_error_interval": permanent_error_interval,
        }
        checked = self.arguments.run(
            lambda: {**self.arguments.known(unknown, (), "argument"), **watcher_arguments(given)}
        )
        # A row it cannot run with is kept as it came (serialize() writes it back), and run() only reports it.
        self._given = {**given, "provider_version": provider_version, "ignorable": ignorable, **unknown}
        self._kwargs: dict[str, Any] = checked or {**PLACEHOLDER_ARGUMENTS, "sync_id": f"{sync_id!s:.60}"}
        self.sync_id: str = self._kwargs["sync_id"]
        self.polytomic_conn_id: str = self._kwargs["polytomic_conn_id"]
        self.outcomes: tuple[str, ...] = tuple(self._kwargs["outcomes"])
        self.poll_interval: float = self._kwargs["poll_interval"]
        self.watermark: str | None = self._kwargs["watermark"]
        self.kind: str = self._kwargs["kind"]
        self.permanent_error_interval: float = self._kwargs["permanent_error_interval"]

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # While running, ``watermark`` is the ledger's high-water mark: a trigger rebuilt from these kwargs fires
        # no execution this one handled.
        kwargs = {**self._kwargs, "watermark": self.watermark, **row_marks(self.IGNORABLE_ARGUMENTS)}
        return f"{type(self).__module__}.{type(self).__qualname__}", self._given if self.arguments.problem else kwargs

    @property
    def state_key(self) -> str:
        """The asset state store key: one ledger per sync and choice of outcomes (poll interval and connection
        may change without losing it)."""
        return f"polytomic-sync-completion/{self.kind}/{self.sync_id}/{'+'.join(self.outcomes)}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Imported here: only the triggerer needs aiohttp, never a DAG file.
        from airflow_provider_polytomic.hooks.polytomic_async import AsyncPolytomicClient

        while self.arguments.problem is not None:  # a row it cannot run: say so, fire nothing, never exit
            self.log.error("%s No asset events fire until that is fixed.", self.arguments.problem)
            await asyncio.sleep(self.permanent_error_interval)
        if warning := self.arguments.ignored_warning():
            self.log.warning(warning)
        kind = SyncKind(self.kind)
        # asset_state_store is set by the Airflow 3.3+ triggerer.
        store = LedgerStore(getattr(self, "asset_state_store", None), self.state_key, self.log)
        ledger: CompletionLedger | None = None
        client: AsyncPolytomicClient | None = None
        errors = PollErrors(self.poll_interval)
        try:
            while True:
                try:
                    if client is None:
                        client = await AsyncPolytomicClient.from_connection(self.polytomic_conn_id, self.log)
                    if ledger is None:
                        ledger = await self._open_ledger(store, client)
                    executions, now = await self._newly_finished(client, ledger, kind, store)
                except Exception as error:  # a watcher logs and carries on, never dies
                    pause, needs_a_person = self._after_error(error, errors)
                    if needs_a_person and client is not None:
                        # Read the connection again next time: the fix (a new key, another host) is made there.
                        await client.close()
                        client = None
                    await asyncio.sleep(pause)
                    continue
                if failed := errors.answered():
                    self.log.info(
                        "Polytomic sync %s answers again after %d failed poll(s); watching it.", self.sync_id, failed
                    )
                for execution in executions:
                    outcome = outcome_of(execution, kind)
                    ledger.mark(execution, now)
                    self.watermark = ledger.high_water().isoformat()
                    # Saved before the event is yielded: a crash in between loses an event rather than
                    # firing one twice.
                    await store.save(ledger)
                    if outcome is not None and outcome in self.outcomes:
                        self.log.info(
                            "Polytomic sync %s execution %s finished (%s): firing.", self.sync_id, execution.id, outcome
                        )
                        url = client.config.sync_url(self.sync_id, kind)
                        payload = completion_payload(
                            execution, sync_id=self.sync_id, kind=kind, outcome=outcome, sync_url=url
                        )
                        yield TriggerEvent(payload)  # type: ignore[no-untyped-call]
                    else:
                        self.log.info(
                            "Polytomic sync %s execution %s finished (%s), not one of outcomes %s: not firing.",
                            self.sync_id,
                            execution.id,
                            outcome,
                            ", ".join(self.outcomes),
                        )
                await asyncio.sleep(self.poll_interval)
        finally:
            if client is not None:
                await client.close()

    async def _open_ledger(self, store: LedgerStore, client: AsyncPolytomicClient) -> CompletionLedger:
        saved = await store.load()
        if saved is not None:
            ledger = saved
            how = f"resumed from the asset state store (key '{self.state_key}', {len(saved.seen)} id(s))"
        else:
            # The default start is Polytomic's "now", from an answer: never this triggerer's clock (core/clock.py).
            start = parse_timestamp(self.watermark) if self.watermark else None
            if start is None:
                first = await client.run(protocol.list_executions(self.sync_id, kind=SyncKind(self.kind)))
                start = starting_watermark(first)
            ledger = CompletionLedger(start)
            how = await store.create(ledger)
        self.watermark = ledger.high_water().isoformat()
        self.log.info(
            "Watching Polytomic %ssync %s (connection '%s') every %g s; firing on: %s. Executions finished at or "
            "before %s never fire; %s.",
            "bulk " if self.kind == SyncKind.BULK.value else "",
            self.sync_id,
            self.polytomic_conn_id,
            self.poll_interval,
            ", ".join(self.outcomes),
            ledger.watermark.isoformat(),
            how,
        )
        return ledger

    async def _newly_finished(
        self, client: AsyncPolytomicClient, ledger: CompletionLedger, kind: SyncKind, store: LedgerStore
    ) -> tuple[list[Execution], datetime]:
        """Executions that finished after the ledger's watermark and are not in it yet, oldest first (the list
        read newest first down to :func:`scan_since`'s boundary), and Polytomic's "now" of the answer."""
        scan = scan_since(ledger, kind)
        while scan.feed(
            await client.run(protocol.list_executions(self.sync_id, page_token=scan.page_token, kind=kind))
        ):
            pass
        if scan.truncated:
            self.log.warning(
                "Polytomic sync %s: more than %d pages of executions finished after %s; only these are considered.",
                self.sync_id,
                scan.max_pages,
                ledger.watermark.isoformat(),
            )
        now = polytomic_now(scan.clock, scan.found) or ledger.high_water()
        running = dict(ledger.running)
        new = newly_finished(scan.found, ledger, kind, now)  # each execution id once, even when pages overlap
        if ledger.running != running:
            await store.save(ledger)  # a run seen running fires when it ends, even after a restart
        self.log.debug("Polytomic sync %s: %d newly finished execution(s).", self.sync_id, len(new))
        return new, now

    def _after_error(self, error: Exception, errors: PollErrors) -> tuple[float, bool]:
        """Count and log ``error``; the pause before the next attempt, and whether the error is permanent."""
        backoff = errors.failed(error)
        # Only a PolytomicError can be permanent (needs a person); anything else is unexpected and retried.
        text = str(error) if isinstance(error, PolytomicError) else f"Unexpected {type(error).__name__}: {error}."
        if permanent(error):
            pause = max(self.poll_interval, self.permanent_error_interval)
            self.log.error(
                "Polytomic sync completion watcher for sync %s cannot watch it: %s This does not fix itself: "
                "no asset events fire until it is fixed. Retrying in %g s (attempt %d).",
                self.sync_id,
                text,
                pause,
                errors.failures,
            )
            return pause, True
        self.log.warning("%s Watching Polytomic sync %s again in %g s.", text, self.sync_id, backoff)
        return backoff, False
