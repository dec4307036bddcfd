"""What every Polytomic task (the sensors, the start operators) has besides its wait: the hook, the sync it
works with (:class:`~airflow_provider_polytomic.sync_reference.SyncReference`), the asset event's extra, and the
OpenLineage methods Airflow's listener calls.

:class:`PolytomicTask` is a base class, not a contract read by name: every attribute it uses is declared here
(``polytomic_conn_id``, ``sync_id``, ``sync_name`` are set by the task's constructor, ``sync_kind`` by its class,
``_waiting`` by the task's ``_wait_for``, which builds the
:class:`~airflow_provider_polytomic.execution_wait.ExecutionWait`). Light at import time: a DAG file imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_polytomic.core.constants import SyncKind

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_polytomic.execution_wait import ExecutionWait
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
    from airflow_provider_polytomic.sync_reference import SyncReference


class PolytomicTask:
    """The parts the sensors and start operators share; see the module docstring."""

    polytomic_conn_id: str
    #: Rendered when the task runs; ``sync_id`` is then set to the id ``sync_name`` resolved to.
    sync_id: Any
    sync_name: Any
    console_log: str
    #: Which API (``/api/syncs`` or ``/api/bulk/syncs``) and which status meanings.
    sync_kind: SyncKind = SyncKind.MODEL
    #: This instance's wait, once its sync is known (a resumed task is a new instance).
    _waiting: ExecutionWait | None = None
    _reference: SyncReference | None = None

    if TYPE_CHECKING:
        outlets: Any  # BaseOperator's
        task_id: str
        log: Any

    def _take_sync(self, *, sync_id: Any, sync_name: Any, polytomic_conn_id: str, console_log: str) -> None:
        """The parameters every Polytomic task takes, checked when the DAG is parsed."""
        from airflow_provider_polytomic.console_output import check_console_log
        from airflow_provider_polytomic.sync_reference import check_sync_reference

        check_sync_reference(self.task_id, sync_id, sync_name)
        self.sync_id, self.sync_name = sync_id, sync_name
        self.polytomic_conn_id = polytomic_conn_id
        self.console_log = check_console_log(self.task_id, console_log)

    def _new_wait(
        self, *, author_options: Mapping[str, Any], limit: float | None, fetch_while_waiting: bool, cursor_store: Any
    ) -> ExecutionWait:
        """The wait for this task's sync with its collaborators (see :func:`~airflow_provider_polytomic.
        execution_wait.build_wait`), from what the task passes and its common parameters."""
        from airflow_provider_polytomic.execution_wait import build_wait

        return build_wait(
            hook=self.hook,
            kind=self.sync_kind,
            sync_id=self.sync_id,
            resolved_name=self._sync().resolved_name,
            author_options=author_options,
            limit=limit,
            console_log=self.console_log,
            fetch_while_waiting=fetch_while_waiting,
            cursor_store=cursor_store,
            log=self.log,
        )

    @cached_property
    def hook(self) -> PolytomicHook:
        # Imported when a task runs: a DAG file importing the sensor must not pay for requests (~45 ms).
        from airflow_provider_polytomic.hooks.polytomic import PolytomicHook

        return PolytomicHook(polytomic_conn_id=self.polytomic_conn_id)

    def _publish(self, context: Context, summary: dict[str, Any]) -> dict[str, Any]:
        """The summary with the sync's name, in the extra of each asset this task updates."""
        if self._waiting is not None:
            summary = self._waiting.names.with_sync_name(summary)
        return publish(context, summary, self.outlets or ())

    def _reschedules(self) -> bool:
        """Whether each poke of a try is a new process (a sensor in reschedule mode)."""
        return False

    def _sync(self) -> SyncReference:
        """The sync this instance works with, built from its rendered parameters."""
        from airflow_provider_polytomic.sync_reference import SyncReference

        if self._reference is None:
            self._reference = SyncReference(
                owner=f"{type(self).__name__} '{self.task_id}'",
                sync_id=self.sync_id,
                sync_name=self.sync_name,
                kind=self.sync_kind,
                conn_id=self.polytomic_conn_id,
                hook=self.hook,
                log=self.log,
                reschedule=self._reschedules(),
            )
        return self._reference

    def _resolve_and_link(self, context: Context, *, wait_out_transient: bool = False) -> bool:
        """The name, if given, resolved to the id; then the link (which must exist either way). False while
        Polytomic is temporarily unreachable and ``wait_out_transient``."""
        reference = self._sync()
        try:
            return reference.resolve_and_link(context, wait_out_transient=wait_out_transient)
        finally:
            self.sync_id = reference.sync_id

    def _resume_reference(self, context: Context) -> None:
        """A task resumed after a deferral: the id its name resolved to before deferring."""
        reference = self._sync()
        try:
            reference.resume(context)
        finally:
            self.sync_id = reference.sync_id

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs, outputs and facets of the execution this task judged (Airflow's OpenLineage listener)."""
        return self._lineage_facets()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The same for a failed task: what the sync reads and writes, and the execution that failed."""
        return self._lineage_facets()

    def _lineage_facets(self) -> Any:
        from airflow_provider_polytomic.openlineage import no_lineage

        return self._waiting.names.facets() if self._waiting is not None else no_lineage()


def publish(context: Context, summary: dict[str, Any], outlets: Iterable[Any]) -> dict[str, Any]:
    """Put the summary into the extra of each asset (dataset, on Airflow 2) of ``outlets``, so DAGs scheduled on
    it see which execution ran; returns the summary."""
    from airflow.providers.common.compat.sdk import Asset

    for outlet in outlets:
        if isinstance(outlet, Asset):
            context["outlet_events"][outlet].extra.update(summary)
    return summary


def push_sync_url(context: Context, hook: PolytomicHook, sync_id: Any, kind: SyncKind) -> None:
    """Push the link's URL first thing, whatever happens next: with an invalid sync id it is the Polytomic
    app itself, and with an unusable connection an empty string (no link), so the link never makes the
    scheduler log "XCom not found" and the Details tab never shows an empty "Extra Links" heading."""
    from airflow_provider_polytomic.core.errors import PolytomicError
    from airflow_provider_polytomic.core.ids import validate_id
    from airflow_provider_polytomic.links.polytomic import SYNC_URL_XCOM_KEY

    try:
        config = hook.config
    except PolytomicError:
        url = ""  # the task is about to fail on the connection, with its own message
    else:
        try:
            url = config.sync_url(validate_id(sync_id, "sync id"), kind)
        except PolytomicError:
            url = config.base_url
    context["ti"].xcom_push(key=SYNC_URL_XCOM_KEY, value=url)
