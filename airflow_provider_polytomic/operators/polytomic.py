"""``PolytomicStartSyncOperator`` and ``PolytomicStartBulkSyncOperator``: start a Polytomic sync and wait for it,
safely across retries and kills (what they share is :mod:`~airflow_provider_polytomic.operators.start_operator`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.operators.start_operator import (
    EXECUTION_ID_XCOM_KEY,
    IF_RUNNING,
    STARTED_XCOM_KEY,
    PolytomicStartOperatorBase,
)

if TYPE_CHECKING:
    from airflow_provider_polytomic.core.bulk_start import BulkStartOptions
    from airflow_provider_polytomic.core.models import Execution

__all__ = [
    "EXECUTION_ID_XCOM_KEY",
    "IF_RUNNING",
    "STARTED_XCOM_KEY",
    "PolytomicStartBulkSyncOperator",
    "PolytomicStartOperatorBase",
    "PolytomicStartSyncOperator",
]


class PolytomicStartSyncOperator(PolytomicStartOperatorBase):
    """Starts a run of a Polytomic model sync and (by default) waits until it ends, like the sensor.

    - Safe across retries: the start's ``Idempotency-Key`` comes from the task instance (DAG id, run id, task id,
      map index; not the try number), so a retry gets back the run it started. Polytomic keeps a key 24 hours or
      more, so a clear within that time attaches to the same run; a templated ``idempotency_key`` (e.g. with
      ``{{ ti.try_number }}``) starts afresh on every try.
    - A run already going (HTTP 409): ``if_running="attach"`` waits for it (never canceling it), ``"fail"`` fails.
    - The sensor's outcomes and return value; the execution id goes to XCom (key ``execution_id``) at once.
    - ``timeout`` (seconds, capped by ``execution_timeout``) bounds the wait; then, or when the task is killed,
      the run this task started is canceled (unless ``cancel_on_kill=False``) and the task fails.

    :param sync_id: The model sync (a UUID). Templated.
    :param sync_name: Instead of ``sync_id``: the sync's exact name, looked up in the worker when the task runs.
        Templated.
    :param resync: Start a full resync.
    :param identities: Only these identities (Polytomic's ``identities``). Templated.
    :param test: A test run.
    :param wait_for_completion: Wait for the run to end.
    :param deferrable: Wait in the triggerer instead of a worker slot.
    :param poll_interval: Seconds between status checks.
    :param timeout: Seconds to wait at most; None waits until ``execution_timeout``, if any.
    :param fail_on_record_errors: Fail on a ``completed`` run that reports record errors.
    :param console_log: ``"on_failure"`` (default), ``"always"`` or ``"never"``: when the task log shows
        Polytomic's console log of the run, as for the sensor.
    :param if_running: ``"attach"`` or ``"fail"``, when Polytomic says a run is already going.
    :param cancel_on_kill: Cancel the run this task started when the task is killed or times out.
    :param idempotency_key: Overrides the key derived from the task instance. Templated.
    """

    template_fields: Sequence[str] = ("sync_id", "sync_name", "identities", "idempotency_key")

    def __init__(
        self,
        *,
        sync_id: str | None = None,
        resync: bool = False,
        identities: list[str] | None = None,
        test: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(sync_id=sync_id, **kwargs)
        self.resync = resync
        self.identities = identities
        self.test = test

    def _start_run(self, sync_id: str, idempotency_key: str) -> Execution:
        return self.hook.start_sync(
            sync_id, idempotency_key=idempotency_key, resync=self.resync, identities=self.identities, test=self.test
        )


class PolytomicStartBulkSyncOperator(PolytomicStartOperatorBase):
    """Starts a run of a Polytomic bulk (ELT) sync and (by default) waits until it ends.

    Everything :class:`PolytomicStartSyncOperator` says holds (idempotent start, ``if_running``, cancel on
    kill or timeout, the same summary); outcomes are :class:`PolytomicBulkSyncStatusSensor`'s, ``errors``
    included. Options left None are not sent, so Polytomic's defaults apply.

    :param fetch_mode: ``"none"``, ``"incremental"`` or ``"full"``.
    :param resync_mode: ``"refetch"``, ``"resync"`` or ``"rebuild"``.
    :param schemas: Only these schemas. Templated.
    :param test: A test run (not with ``resync_mode``: Polytomic refuses the combination, and so does this
        operator, when the DAG is parsed).
    """

    template_fields: Sequence[str] = ("sync_id", "sync_name", "schemas", "idempotency_key")
    sync_kind = SyncKind.BULK

    def __init__(
        self,
        *,
        sync_id: str | None = None,
        fetch_mode: str | None = None,
        resync_mode: str | None = None,
        schemas: list[str] | None = None,
        test: bool = False,
        **kwargs: Any,
    ) -> None:
        from airflow_provider_polytomic.core.bulk_start import conflict

        super().__init__(sync_id=sync_id, **kwargs)
        self.fetch_mode = fetch_mode
        self.resync_mode = resync_mode
        self.schemas = schemas
        self.test = test
        refused = conflict(self._options())
        if refused is not None:
            raise ValueError(f"{self.task_id}: {refused}")

    def _options(self) -> BulkStartOptions:
        """The start's options as the task has them (``schemas`` rendered, once the task runs)."""
        from airflow_provider_polytomic.core.bulk_start import BulkStartOptions

        return BulkStartOptions(
            fetch_mode=self.fetch_mode, resync_mode=self.resync_mode, schemas=self.schemas, test=self.test
        )

    def _start_run(self, sync_id: str, idempotency_key: str) -> Execution:
        return self.hook.start_bulk_sync(sync_id, idempotency_key=idempotency_key, **self._options())
