"""Where a Polytomic sync moved data from and to, as OpenLineage dataset names. No I/O, no OpenLineage import.

Given the definitions (the sync, its models, its connections) and the execution that was judged, this module
says which datasets were read (inputs), which were written (outputs, with row counts) and what the run facet
about the execution holds. The Airflow side (:mod:`airflow_provider_polytomic.openlineage`) fetches the
definitions and turns the result into OpenLineage objects; the dataset names themselves are
:mod:`airflow_provider_polytomic.core.dataset_names`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_polytomic.core.dataset_names import (
    DIALECTS,
    MAX_DATASETS,
    DatasetName,
    object_dataset,
    split_identifier,
    table_dataset,
    type_rules,
)
from airflow_provider_polytomic.core.definitions import (
    BulkSyncDefinition,
    ConnectionDefinition,
    ModelDefinition,
    ModelSyncDefinition,
)
from airflow_provider_polytomic.core.models import SUMMARY_MAX_ERRORS
from airflow_provider_polytomic.core.values import truncate


@dataclass(frozen=True)
class WrittenDataset:
    """An output, with how many rows the execution wrote to it (None when Polytomic did not say)."""

    dataset: DatasetName
    row_count: int | None = None


@dataclass(frozen=True)
class SourceQuery:
    """A model defined by a query: its tables are found by parsing it (which needs OpenLineage's SQL parser)."""

    connection: ConnectionDefinition = field(repr=False)
    sql: str = field(repr=False)
    model_id: str = ""

    @property
    def dialect(self) -> str | None:
        return DIALECTS.get(type_rules(self.connection))

    def dataset(self, parts: Sequence[str | None]) -> DatasetName:
        """The dataset for a table the parser found (``database``, ``schema``, ``table``; leading parts may be None)."""
        return table_dataset(self.connection, ".".join(part for part in parts if part))


@dataclass(frozen=True)
class SyncLineage:
    """What one execution of a sync read and wrote, and what the run facet says about it."""

    inputs: tuple[DatasetName, ...] = ()
    outputs: tuple[WrittenDataset, ...] = ()
    queries: tuple[SourceQuery, ...] = ()
    #: The Polytomic run facet's fields (JSON-safe, bounded, no secret).
    facet: dict[str, Any] = field(default_factory=dict)


# -- syncs ---------------------------------------------------------------------------------------------------


def model_sync_connection_ids(sync: ModelSyncDefinition, models: Iterable[ModelDefinition]) -> list[str]:
    """The connections a model sync's lineage needs, each once: its models' sources, then its target."""
    ids = [model.connection_id for model in models if model.connection_id]
    if sync.target is not None:
        ids.append(sync.target.connection_id)
    return list(dict.fromkeys(ids))


def bulk_sync_connection_ids(sync: BulkSyncDefinition) -> list[str]:
    ids = [sync.source_connection_id, sync.destination_connection_id]
    return list(dict.fromkeys(item for item in ids if item))


def model_sync_lineage(
    sync: ModelSyncDefinition,
    models: Sequence[ModelDefinition],
    connections: Mapping[str, ConnectionDefinition],
    summary: Mapping[str, Any] | None,
    *,
    sync_url: str | None = None,
) -> SyncLineage:
    """Inputs: each model's table (a query model's tables come from parsing its query: ``queries``). Output:
    the target object, with the execution's row count."""
    inputs: list[DatasetName] = []
    queries: list[SourceQuery] = []
    for model in models:
        connection = connections.get(model.connection_id or "")
        if connection is None:
            continue
        table = _string(model.configuration, "table")
        if table:
            schema = _string(model.configuration, "schema") or _string(model.configuration, "dataset")
            inputs.append(table_dataset(connection, table, schema))
        elif _string(model.configuration, "query"):
            queries.append(SourceQuery(connection, str(model.configuration["query"]), model.id))
    outputs: list[WrittenDataset] = []
    target = sync.target
    if target is not None and target.connection_id in connections:
        written = target.object or target.new_name
        if written:
            connection = connections[target.connection_id]
            schema = _string(target.configuration, "schema") or _string(target.configuration, "dataset")
            outputs.append(WrittenDataset(object_dataset(connection, written, schema), _rows_written(summary)))
    facet = run_facet("model", sync.id, sync.name, summary, connections.values(), sync_url=sync_url)
    return SyncLineage(_unique(inputs), tuple(outputs), tuple(queries), facet)


def bulk_sync_lineage(
    sync: BulkSyncDefinition,
    connections: Mapping[str, ConnectionDefinition],
    schemas: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any] | None,
    *,
    sync_url: str | None = None,
) -> SyncLineage:
    """Inputs: the source connection's schemas the execution ran; outputs: their ``output_name`` in the
    destination (in ``destination_configuration.schema`` when set), each with its record count."""
    source = connections.get(sync.source_connection_id or "")
    destination = connections.get(sync.destination_connection_id or "")
    out_schema = _string(sync.destination_configuration, "schema") or _string(sync.destination_configuration, "dataset")
    inputs: list[DatasetName] = []
    outputs: list[WrittenDataset] = []
    for entry in schemas[:MAX_DATASETS]:
        name = _string(entry, "schema")
        # Without an output name the table keeps the source's own (unqualified) name.
        source_parts = split_identifier(name) if name else []
        output_name = _string(entry, "output_name") or (source_parts[-1][0] if source_parts else None)
        if source is not None and name:
            inputs.append(table_dataset(source, name))
        if destination is not None and output_name:
            rows = entry.get("record_count")
            count = rows if isinstance(rows, int) and not isinstance(rows, bool) else None
            outputs.append(WrittenDataset(table_dataset(destination, output_name, out_schema), count))
    facet = run_facet("bulk", sync.id, sync.name, summary, connections.values(), sync_url=sync_url)
    return SyncLineage(_unique(inputs), tuple(outputs), (), facet)


def run_facet(
    kind: str,
    sync_id: str,
    sync_name: str | None,
    summary: Mapping[str, Any] | None,
    connections: Iterable[ConnectionDefinition] = (),
    *,
    sync_url: str | None = None,
) -> dict[str, Any]:
    """The ``polytomic`` run facet's fields: the sync, the execution that was judged (id, status, counts, the
    first record errors) and the connections by id, name and type — never their configuration."""
    summary = summary or {}
    errors = summary.get("errors")
    return {
        "syncId": sync_id,
        "syncName": sync_name,
        "syncKind": kind,
        "syncUrl": sync_url,
        "executionId": summary.get("execution_id"),
        "executionStatus": summary.get("status"),
        "executionType": summary.get("type"),
        "startedAt": summary.get("started_at"),
        "completedAt": summary.get("completed_at"),
        "counts": dict(summary.get("counts") or {}),
        "errors": [truncate(str(item)) for item in errors[:SUMMARY_MAX_ERRORS]] if isinstance(errors, list) else [],
        "errorsTotal": summary.get("errors_total", 0),
        "connections": [
            {"id": connection.id, "name": connection.name, "type": connection.type_id} for connection in connections
        ],
    }


def _rows_written(summary: Mapping[str, Any] | None) -> int | None:
    """Rows a model sync wrote: ``counts.total``, else the sum of the counts of each kind of write."""
    counts = (summary or {}).get("counts") or {}
    if not isinstance(counts, Mapping):
        return None
    total = counts.get("total")
    if isinstance(total, int) and not isinstance(total, bool):
        return total
    parts = [counts.get(key) for key in ("insert", "update", "delete", "upserts")]
    numbers = [part for part in parts if isinstance(part, int) and not isinstance(part, bool)]
    return sum(numbers) if numbers else None


def _string(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _unique(datasets: Iterable[DatasetName]) -> tuple[DatasetName, ...]:
    return tuple(dict.fromkeys(datasets))
