"""The core's lineage of a sync's execution as OpenLineage's objects: the provider's ``OperatorLineage``, the
``polytomic`` run facet, and the tables a model's query reads (by OpenLineage's SQL parser).

Imported only when Airflow's OpenLineage listener asks a task for its facets
(:mod:`airflow_provider_polytomic.openlineage`), so ``apache-airflow-providers-openlineage`` stays optional.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_polytomic.core.lineage import SyncLineage

#: Where the ``polytomic`` run facet is described.
FACET_SCHEMA_URL = (
    "https://github.com/polytomic/airflow-provider-polytomic/blob/main/docs/lineage.md#the-polytomic-run-facet"
)
#: ``ExternalQueryRunFacet.source`` of a Polytomic execution.
EXTERNAL_SOURCE = "polytomic"


@functools.cache
def _facet_class() -> Any:
    """The ``polytomic`` run facet's class, built once the OpenLineage client is known to be there."""
    import attr
    from airflow.providers.common.compat.openlineage.facet import RunFacet

    @attr.define
    class PolytomicSyncRunFacet(RunFacet):  # type: ignore[misc]
        """The Polytomic sync and the execution the task judged (see ``docs/lineage.md``)."""

        syncId: str
        syncName: str | None = None
        syncKind: str = "model"
        syncUrl: str | None = None
        executionId: str | None = None
        executionStatus: str | None = None
        executionType: str | None = None
        startedAt: str | None = None
        completedAt: str | None = None
        counts: dict[str, Any] = attr.field(factory=dict)
        errors: list[str] = attr.field(factory=list)
        errorsTotal: int = 0
        connections: list[dict[str, Any]] = attr.field(factory=list)

        @staticmethod
        def _get_schema() -> str:
            return FACET_SCHEMA_URL

    return PolytomicSyncRunFacet


def operator_lineage(plan: SyncLineage, log: Any) -> Any:
    """The core's plan as OpenLineage objects (the provider's ``OperatorLineage``)."""
    from airflow.providers.common.compat.openlineage.facet import (
        ExternalQueryRunFacet,
        InputDataset,
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
    )
    from airflow.providers.openlineage.extractors import OperatorLineage

    inputs = [InputDataset(namespace=item.namespace, name=item.name) for item in plan.inputs]
    seen = set(plan.inputs)
    for query in plan.queries:
        for dataset in _query_tables(query, log):
            if dataset not in seen:
                seen.add(dataset)
                inputs.append(InputDataset(namespace=dataset.namespace, name=dataset.name))
    outputs = [
        OutputDataset(
            namespace=item.dataset.namespace,
            name=item.dataset.name,
            outputFacets=(
                {"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=item.row_count)}
                if item.row_count is not None
                else {}
            ),
        )
        for item in plan.outputs
    ]
    run_facets: dict[str, Any] = {"polytomic": _facet_class()(**plan.facet)}
    execution_id = plan.facet.get("executionId")
    if execution_id:
        run_facets["externalQuery"] = ExternalQueryRunFacet(externalQueryId=str(execution_id), source=EXTERNAL_SOURCE)
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


def _query_tables(query: Any, log: Any) -> list[Any]:
    """The tables a model's query reads, by OpenLineage's SQL parser; none when it cannot tell."""
    try:
        from openlineage_sql import parse

        dialect = query.dialect
        if dialect is None:
            return []
        result = parse([query.sql], dialect=dialect)
        return [query.dataset((table.database, table.schema, table.name)) for table in result.in_tables]
    except Exception as error:
        log.info("OpenLineage: could not read the tables of Polytomic model %s's query (%s).", query.model_id, error)
        return []
