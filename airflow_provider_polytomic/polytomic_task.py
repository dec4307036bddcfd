"""What every Polytomic task (the sensors, the start operators) has besides its wait: the hook, the link, the
asset event's extra, the task state store, and the OpenLineage methods Airflow's listener calls.

:class:`PolytomicTask` is a base class, not a contract read by name: it owns every attribute it uses
(``polytomic_conn_id`` and ``sync_kind`` are set by the task's constructor and class, ``_waiting`` by the task's
``_wait_for``, which builds the :class:`~airflow_provider_polytomic.execution_wait.ExecutionWait`).
Light at import time: a DAG file imports it.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_polytomic.core.constants import SyncKind

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_polytomic.execution_wait import ExecutionWait
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook


class PolytomicTask:
    """The parts the sensors and start operators share; see the module docstring."""

    polytomic_conn_id: str
    #: Which API (``/api/syncs`` or ``/api/bulk/syncs``) and which status meanings.
    sync_kind: SyncKind = SyncKind.MODEL
    #: This instance's wait, once its sync is known (a resumed task is a new instance).
    _waiting: ExecutionWait | None = None

    if TYPE_CHECKING:
        outlets: Any  # BaseOperator's

    @cached_property
    def hook(self) -> PolytomicHook:
        # Imported when a task runs: a DAG file importing the sensor must not pay for requests (~45 ms).
        from airflow_provider_polytomic.hooks.polytomic import PolytomicHook

        return PolytomicHook(polytomic_conn_id=self.polytomic_conn_id)

    def _publish(self, context: Context, summary: dict[str, Any]) -> dict[str, Any]:
        """The summary with the sync's name, in the extra of each asset this task updates."""
        from airflow_provider_polytomic.execution_wait import publish

        if self._waiting is not None:
            summary = self._waiting.names.with_sync_name(summary)
        return publish(context, summary, self.outlets or ())

    def _push_sync_url(self, context: Context, sync_id: Any) -> None:
        from airflow_provider_polytomic.execution_wait import push_sync_url

        push_sync_url(context, self.hook, sync_id, self.sync_kind)

    @staticmethod
    def _state_store(context: Context) -> Any:
        from airflow_provider_polytomic.execution_wait import state_store

        return state_store(context)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs, outputs and facets of the execution this task judged (Airflow's OpenLineage listener)."""
        return self._lineage_facets()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The same for a failed task: what the sync reads and writes, and the execution that failed."""
        return self._lineage_facets()

    def _lineage_facets(self) -> Any:
        from airflow_provider_polytomic.lineage import no_lineage

        return self._waiting.names.facets() if self._waiting is not None else no_lineage()
