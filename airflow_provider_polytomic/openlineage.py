"""OpenLineage for the sensors and start operators, and the sync's name in what users read.

:class:`PolytomicLineageMixin` is mixed into
:class:`~airflow_provider_polytomic.execution_wait.PolytomicExecutionWaitMixin`.
It fetches the sync's definition at most once per operator instance (a task try, or a reschedule poke), and
only when it is cheap to: for the poll line of a wait that stays in one process (poke mode, the start
operators), and when the task concludes. Airflow's OpenLineage listener then calls
``get_openlineage_facets_on_complete`` / ``_on_failure``, which read the rest of the definitions (models,
connections; a few requests per task completion), map them with :mod:`airflow_provider_polytomic.core.lineage`
and build OpenLineage's objects with :mod:`airflow_provider_polytomic.openlineage_objects`.

``apache-airflow-providers-openlineage`` is optional: it is imported only inside those two methods. A definition
or lineage failure never changes the task's outcome: it logs one warning, and lineage then carries what is known.

Light at import time: a DAG file imports this module (through the sensor), so the core and OpenLineage load
only when a task runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_polytomic.core.constants import SyncKind

if TYPE_CHECKING:
    from airflow_provider_polytomic.core.counts import SchemaStatus
    from airflow_provider_polytomic.core.definitions import (
        BulkSyncDefinition,
        ConnectionDefinition,
        ModelSyncDefinition,
    )
    from airflow_provider_polytomic.core.lineage import SyncLineage
    from airflow_provider_polytomic.core.status import Judgement
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook


class PolytomicLineageMixin:
    """Definitions (cached per instance), sync names, and the OpenLineage facets of the execution judged."""

    sync_id: str
    sync_kind: SyncKind = SyncKind.MODEL
    #: Class-level defaults: an operator instance sets its own on first use (and a resumed task is a new one).
    _definition: ModelSyncDefinition | BulkSyncDefinition | None = None
    _definition_trouble: bool = False
    #: The sync's name as an earlier part of this try learned it (the trigger's event, the task state store).
    _known_name: str | None = None
    #: Whether the task state store keeps the name across reschedule pokes (Airflow 3.3+), and whether an
    #: earlier poke of this try already tried to read it.
    _name_kept: bool = False
    _name_tried: bool = False
    #: The summary of the execution judged last (any verdict), and its schemas when the whole list is known.
    _lineage_summary: dict[str, Any] | None = None
    _lineage_schemas: tuple[SchemaStatus, ...] | None = None

    if TYPE_CHECKING:
        log: Any

        @property
        def hook(self) -> PolytomicHook: ...

    # -- definitions ----------------------------------------------------------------------------------------

    def _sync_definition(self) -> ModelSyncDefinition | BulkSyncDefinition | None:
        """The sync's definition, read once per instance; None (after one warning) when it cannot be read."""
        if self._definition is not None or self._definition_trouble:
            return self._definition
        from airflow_provider_polytomic.core.ids import validate_id

        try:
            sync_id = validate_id(self.sync_id, "sync id")
            if self.sync_kind is SyncKind.BULK:
                self._definition = self.hook.get_bulk_sync_definition(sync_id)
            else:
                self._definition = self.hook.get_sync_definition(sync_id)
        except Exception as error:
            self._definition_failed(error)
        return self._definition

    def _definition_failed(self, error: BaseException) -> None:
        """One warning per instance, whatever else fails after it; never raises."""
        if self._definition_trouble:
            return
        self._definition_trouble = True
        self.log.warning(
            "Could not read the definition of Polytomic %ssync %s for its name and lineage (%s); the task's "
            "outcome is unchanged.",
            "bulk " if self.sync_kind is SyncKind.BULK else "",
            self.sync_id,
            error,
        )

    # -- names ----------------------------------------------------------------------------------------------

    def _may_fetch_name(self, concluding: bool) -> bool:
        """Fetch the definition for a name only once per try. A wait in one process (poke mode, the start
        operators) and a deferrable task's check before it defers fetch it at once: the trigger's watch and its
        event carry the name on. A reschedule poke fetches it when the task state store (Airflow 3.3+) keeps it
        for the next pokes; before 3.3 only the concluding poke does."""
        if concluding or self._known_name is not None:
            return True
        if getattr(self, "reschedule", False):
            return self._name_kept and not self._name_tried  # a read that failed is not retried every poke
        return True

    def _sync_name(self, *, fetch: bool) -> str | None:
        if self._definition is not None:
            return self._definition.name
        # A sync given by its name (sync_name=) is named without a definition request; so is one whose name the
        # trigger's event or an earlier poke (the task state store) brought.
        known: str | None = getattr(self, "_resolved_name", None) or self._known_name
        if known:
            return known
        definition = self._sync_definition() if fetch else None
        return definition.name if definition is not None else None

    def _named(self, message: str, *, fetch: bool = True) -> str:
        """``message`` with the sync's name next to its id (when the name is known or may be fetched)."""
        from airflow_provider_polytomic.core.naming import name_sync

        name = self._sync_name(fetch=fetch)
        if not name:
            return message
        return name_sync(message, self._canonical_sync_id(), name)

    def _named_judgement(self, judgement: Judgement) -> Judgement:
        """Remember the execution for lineage, and name the sync in the judgement's message."""
        from dataclasses import replace

        from airflow_provider_polytomic.core.status import Verdict

        summary = judgement.summary()
        if summary is not None:
            self._lineage_summary = summary
            self._lineage_schemas = judgement.execution.schemas if judgement.execution is not None else None
        concluding = judgement.verdict is not Verdict.WAITING
        return replace(judgement, message=self._named(judgement.message, fetch=self._may_fetch_name(concluding)))

    def _with_sync_name(self, summary: dict[str, Any], *, fetch: bool = True) -> dict[str, Any]:
        """The summary with ``sync_name`` after ``sync_id`` (None when the definition could not be read)."""
        self._lineage_summary = summary
        name = self._sync_name(fetch=fetch)
        named: dict[str, Any] = {}
        for key, value in summary.items():
            named[key] = value
            if key == "sync_id":
                named["sync_name"] = name
        named.setdefault("sync_name", name)
        return named

    def _canonical_sync_id(self) -> str:
        """The sync id as the API spells it. Only called once the id has reached Polytomic (a definition was
        read, or an execution judged), so it is a valid id here."""
        from airflow_provider_polytomic.core.ids import validate_id

        return validate_id(self.sync_id, "sync id")

    # -- OpenLineage ----------------------------------------------------------------------------------------

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs, outputs and facets of the execution this task judged (Airflow's OpenLineage listener)."""
        return self._openlineage_facets()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The same for a failed task: what the sync reads and writes, and the execution that failed."""
        return self._openlineage_facets()

    def _openlineage_facets(self) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage

        try:
            plan = self._lineage_plan()
        except Exception as error:  # never let lineage change anything: one warning, and no lineage
            self._definition_failed(error)
            return OperatorLineage()
        if plan is None:
            return OperatorLineage()
        from airflow_provider_polytomic.openlineage_objects import operator_lineage

        return operator_lineage(plan, self.log)

    def _lineage_plan(self) -> SyncLineage | None:
        """The core's lineage of the execution judged; inputs and outputs need the definitions, the run facet
        does not. None when no execution was judged (the task failed before reaching one)."""
        from airflow_provider_polytomic.core import lineage
        from airflow_provider_polytomic.core.definitions import BulkSyncDefinition, ModelSyncDefinition

        summary = self._lineage_summary
        if summary is None:
            return None
        sync_id = self._canonical_sync_id()
        sync_url = self._lineage_sync_url(sync_id)
        kind = self.sync_kind.value
        definition = self._sync_definition()
        if definition is None:
            return lineage.SyncLineage(facet=lineage.run_facet(kind, sync_id, None, summary, sync_url=sync_url))
        if isinstance(definition, ModelSyncDefinition):
            fetched = (self._fetch(self.hook.get_model, model_id) for model_id in definition.model_ids)
            models = [model for model in fetched if model is not None]
            connections = self._connections(lineage.model_sync_connection_ids(definition, models))
            return lineage.model_sync_lineage(definition, models, connections, summary, sync_url=sync_url)
        assert isinstance(definition, BulkSyncDefinition)  # noqa: S101 - the two kinds
        connections = self._connections(lineage.bulk_sync_connection_ids(definition))
        schemas = self._bulk_schemas(summary)
        return lineage.bulk_sync_lineage(definition, connections, schemas, summary, sync_url=sync_url)

    def _connections(self, ids: list[str]) -> dict[str, ConnectionDefinition]:
        found = {}
        for connection_id in ids:
            connection = self._fetch(self.hook.get_connection_definition, connection_id)
            if connection is not None:
                found[connection_id] = connection
        return found

    def _fetch(self, method: Any, item_id: str) -> Any:
        """One definition request; after a failure (warned once) no further request is sent."""
        if self._definition_trouble:
            return None
        try:
            return method(item_id)
        except Exception as error:
            self._definition_failed(error)
            return None

    def _bulk_schemas(self, summary: dict[str, Any]) -> list[dict[str, Any]]:
        """Every schema of the bulk execution: from the execution read in this process, else the summary, else
        (a summary that lists only the first ones) the execution read again, once."""
        if self._lineage_schemas is not None:
            return [schema.to_dict() for schema in self._lineage_schemas]
        listed = [item for item in summary.get("schemas") or [] if isinstance(item, dict)]
        total = summary.get("schemas_total")
        if isinstance(total, int) and total > len(listed) and summary.get("execution_id"):
            execution = self._fetch(
                lambda execution_id: self.hook.get_execution(self._canonical_sync_id(), execution_id, SyncKind.BULK),
                str(summary["execution_id"]),
            )
            if execution is not None:
                return [schema.to_dict() for schema in execution.schemas]
        return listed

    def _lineage_sync_url(self, sync_id: str) -> str | None:
        try:
            return self.hook.config.sync_url(sync_id, self.sync_kind)
        except Exception:
            return None
