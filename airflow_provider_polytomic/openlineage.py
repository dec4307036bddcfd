"""OpenLineage for the sensors and start operators, and the sync's name in what users read.

:class:`TaskLineage` is built by the sensors and start operators once they know their sync, and fed by their
wait (:class:`~airflow_provider_polytomic.execution_wait.ExecutionWait`) with each execution it judged. It
fetches the sync's definition at most once per operator instance (a task try, or a reschedule poke), and only
when it is cheap to: for the poll line of a wait that stays in one process (poke mode, the start
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


class TaskLineage:
    """The sync's name in what users read, and the OpenLineage facets of the execution a task judged.

    Built by a task once it knows its sync (the id, and the name it was resolved from, if any), and fed
    explicitly: :meth:`saw` with each execution the wait judged, :attr:`known_name` with a name an earlier part
    of the try learned (the trigger's event, the task state store). ``fetch_while_waiting``: whether a poll that
    is no conclusion may fetch the definition for the name. The definition is read once per try: a wait in one
    process (poke mode, the start operators) and a deferrable task's check before it defers read it at once (the
    trigger's watch and its event carry the name on); a reschedule poke reads it only when the task state store
    keeps it for the next pokes and no earlier poke tried; otherwise only the concluding poke does.
    """

    def __init__(
        self,
        *,
        hook: PolytomicHook,
        kind: SyncKind,
        sync_id: str,
        log: Any,
        resolved_name: str | None = None,
        fetch_while_waiting: bool = True,
    ) -> None:
        self.hook = hook
        self.kind = kind
        self.sync_id = sync_id
        self.log = log
        self.resolved_name = resolved_name
        self.fetch_while_waiting = fetch_while_waiting
        #: The sync's name as an earlier part of this try learned it.
        self.known_name: str | None = None
        self._definition: ModelSyncDefinition | BulkSyncDefinition | None = None
        self._definition_trouble = False
        #: The summary of the execution judged last (any verdict), and its schemas when the whole list is known.
        self.summary: dict[str, Any] | None = None
        self.schemas: tuple[SchemaStatus, ...] | None = None

    # -- fed by the wait ------------------------------------------------------------------------------------

    def saw(self, summary: dict[str, Any] | None, schemas: tuple[SchemaStatus, ...] | None = None) -> None:
        """The execution judged last (a poll's, the trigger's event, or the start's); a name it carries (the
        trigger's watch had it) needs no second read."""
        if summary is not None:
            self.summary, self.schemas = summary, schemas
            if isinstance(summary.get("sync_name"), str) and self.known_name is None:
                self.known_name = summary["sync_name"]

    # -- definitions ----------------------------------------------------------------------------------------

    def _sync_definition(self) -> ModelSyncDefinition | BulkSyncDefinition | None:
        """The sync's definition, read once per instance; None (after one warning) when it cannot be read."""
        if self._definition is not None or self._definition_trouble:
            return self._definition
        from airflow_provider_polytomic.core.ids import validate_id

        try:
            sync_id = validate_id(self.sync_id, "sync id")
            if self.kind is SyncKind.BULK:
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
            "bulk " if self.kind is SyncKind.BULK else "",
            self.sync_id,
            error,
        )

    # -- names ----------------------------------------------------------------------------------------------

    def sync_name(self, *, fetch: bool) -> str | None:
        """The sync's name: from its definition, else as given or learned, else (``fetch``) read once."""
        if self._definition is not None:
            return self._definition.name
        # A sync given by its name (sync_name=) is named without a definition request; so is one whose name the
        # trigger's event or an earlier poke (the task state store) brought.
        known = self.resolved_name or self.known_name
        if known:
            return known
        definition = self._sync_definition() if fetch else None
        return definition.name if definition is not None else None

    def named(self, message: str, *, fetch: bool = True) -> str:
        """``message`` with the sync's name next to its id (when the name is known or may be fetched)."""
        from airflow_provider_polytomic.core.naming import name_sync

        name = self.sync_name(fetch=fetch)
        if not name:
            return message
        return name_sync(message, self._canonical_sync_id(), name)

    def named_judgement(self, judgement: Judgement) -> Judgement:
        """Remember the execution for lineage, and name the sync in the judgement's message."""
        from dataclasses import replace

        self.saw(judgement.summary(), judgement.execution.schemas if judgement.execution is not None else None)
        fetch = judgement.verdict.final or self.fetch_while_waiting  # the name once per try (see the class)
        return replace(judgement, message=self.named(judgement.message, fetch=fetch))

    def with_sync_name(self, summary: dict[str, Any], *, fetch: bool = True) -> dict[str, Any]:
        """The summary with ``sync_name`` after ``sync_id`` (None when the definition could not be read)."""
        self.summary = summary
        name = self.sync_name(fetch=fetch)
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

    def facets(self) -> Any:
        """Inputs, outputs and facets of the execution judged (for Airflow's OpenLineage listener)."""
        try:
            plan = self._lineage_plan()
        except Exception as error:  # never let lineage change anything: one warning, and no lineage
            self._definition_failed(error)
            return no_lineage()
        if plan is None:
            return no_lineage()
        from airflow_provider_polytomic.openlineage_objects import operator_lineage

        return operator_lineage(plan, self.log)

    def _lineage_plan(self) -> SyncLineage | None:
        """The core's lineage of the execution judged; inputs and outputs need the definitions, the run facet
        does not. None when no execution was judged (the task failed before reaching one)."""
        from airflow_provider_polytomic.core import lineage
        from airflow_provider_polytomic.core.definitions import BulkSyncDefinition, ModelSyncDefinition

        summary = self.summary
        if summary is None:
            return None
        sync_id = self._canonical_sync_id()
        sync_url = self._lineage_sync_url(sync_id)
        kind = self.kind.value
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
        if self.schemas is not None:
            return [schema.to_dict() for schema in self.schemas]
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
            return self.hook.config.sync_url(sync_id, self.kind)
        except Exception:
            return None


def no_lineage() -> Any:
    """What a task that judged no execution reports (it failed before reaching one)."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage()
