"""Where a Polytomic sync moved data from and to, as OpenLineage dataset names. No I/O, no OpenLineage import.

Given the definitions (the sync, its models, its connections) and the execution that was judged, this module
says which datasets were read (inputs), which were written (outputs, with row counts) and what the run facet
about the execution holds. The Airflow side (:mod:`airflow_provider_polytomic.lineage`) fetches the
definitions and turns the result into OpenLineage objects.

Dataset names follow OpenLineage's naming conventions, so they join with the warehouse's own lineage:

============  ===============================================  ===================================
type id       namespace                                        name
============  ===============================================  ===================================
snowflake     ``snowflake://{account}``                        ``{DATABASE}.{SCHEMA}.{TABLE}``
bigquery      ``bigquery``                                     ``{project}.{dataset}.{table}``
postgresql    ``postgres://{host}:{port}``                     ``{database}.{schema}.{table}``
redshift      ``redshift://{cluster}.{region}:{port}``         ``{database}.{schema}.{table}``
databricks    ``databricks://{server_hostname}``               ``{catalog}.{schema}.{table}``
mysql         ``mysql://{host}:{port}``                        ``{database}.{table}``
mssql         ``mssql://{host}:{port}``                        ``{database}.{schema}.{table}``
============  ===============================================  ===================================

Every other system (Salesforce, HubSpot, ...), and a warehouse whose configuration lacks the keys above, gets
the **fallback**: namespace ``{type id}://{identifier}``, where the identifier is the connection's identifying
domain when its type has one (Salesforce: the host of ``instance_url_override``, else ``domain``; HubSpot:
``hub_domain``), else the connection's Polytomic id; the name is the object as Polytomic names it (``Contact``).

Secrets: a connection's configuration is read only through :func:`identifying_configuration`, which keeps the
keys listed in :data:`IDENTIFYING_KEYS` and nothing else (a password, a private key, a service account, an
OAuth token is never read); hosts lose any ``user:password@`` part. Nothing else of a configuration reaches a
dataset name or a facet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_polytomic.core.definitions import (
    BulkSyncDefinition,
    ConnectionDefinition,
    ModelDefinition,
    ModelSyncDefinition,
)
from airflow_provider_polytomic.core.models import SUMMARY_MAX_ERRORS, truncate

#: The configuration keys of each connection type that identify where data lives (never secrets). Keys of
#: Polytomic's Terraform provider; a key not listed here is never read.
IDENTIFYING_KEYS: dict[str, tuple[str, ...]] = {
    "snowflake": ("account", "dbname"),
    "bigquery": ("project_id", "override_project_id"),
    "postgresql": ("hostname", "port", "database"),
    "redshift": ("hostname", "port", "database"),
    "databricks": ("server_hostname",),
    "mysql": ("hostname", "port", "dbname"),
    "mssql": ("hostname", "port", "database"),
    "salesforce": ("instance_url_override", "domain"),
    "hubspot": ("hub_domain",),
}
#: Other spellings of a type id, and the id whose rules apply.
TYPE_ALIASES = {"postgres": "postgresql", "sqlserver": "mssql", "azuresql": "mssql"}
DEFAULT_PORTS = {"postgresql": 5432, "redshift": 5439, "mysql": 3306, "mssql": 1433}
#: The schema an unqualified table name lives in, where the database has a documented default.
DEFAULT_SCHEMAS = {"postgresql": "public", "redshift": "public", "mssql": "dbo", "snowflake": "PUBLIC"}
#: Databases with three-level names (database or project or catalog, schema or dataset, table).
THREE_LEVELS = frozenset({"snowflake", "bigquery", "postgresql", "redshift", "databricks", "mssql"})
#: The SQL dialect each type speaks (for parsing a model's query).
DIALECTS = {
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "postgresql": "postgres",
    "redshift": "redshift",
    "databricks": "databricks",
    "mysql": "mysql",
    "mssql": "mssql",
}
#: How many datasets one side of a sync lists at most (a bulk sync may have thousands of schemas).
MAX_DATASETS = 500

_HOST = re.compile(r"[a-z0-9](?:[a-z0-9_.-]{0,251}[a-z0-9])?")
_SCHEME_UNSAFE = re.compile(r"[^a-z0-9+.-]")


@dataclass(frozen=True)
class DatasetName:
    """An OpenLineage dataset identifier."""

    namespace: str
    name: str


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


# -- connections ---------------------------------------------------------------------------------------------


def type_rules(connection: ConnectionDefinition) -> str:
    """The type id whose naming rules apply to ``connection``."""
    return TYPE_ALIASES.get(connection.type_id, connection.type_id)


def identifying_configuration(connection: ConnectionDefinition) -> dict[str, str]:
    """The connection's identifying configuration values (see :data:`IDENTIFYING_KEYS`), cleaned; never a secret."""
    found: dict[str, str] = {}
    for key in IDENTIFYING_KEYS.get(type_rules(connection), ()):
        value = connection.configuration.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            continue
        cleaned = _clean(key, value.strip())
        if cleaned:
            found[key] = cleaned
    return found


def _clean(key: str, value: str) -> str | None:
    if key == "port":
        return value if value.isdigit() and 0 < int(value) < 65536 else None
    if key in ("hostname", "server_hostname", "instance_url_override", "domain", "hub_domain"):
        return _host(value)
    if key == "account":
        return _snowflake_account(value)
    # Database, project and catalog names: one identifier, no separators that would change the name's levels.
    return truncate(value, 255) if value.isprintable() and "/" not in value and "@" not in value else None


def _host(value: str) -> str | None:
    """The host of a host name or URL, lower case, without credentials, port or path; None if it is not one."""
    text = value if "://" in value else f"//{value}"
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return host if host and _HOST.fullmatch(host) else None


def _snowflake_account(value: str) -> str | None:
    """A Snowflake account identifier as OpenLineage names it: ``orgname-account_name``, or a locator with its
    region and cloud (``xy12345.us-east-2.aws``; a bare locator is in the default ``us-west-1.aws``)."""
    host = _host(value)
    if host is None:
        return None
    account = host.removesuffix(".snowflakecomputing.com")
    parts = account.split(".")
    if len(parts) == 1:
        return account if ("-" in account or "_" in account) else f"{account}.us-west-1.aws"
    if len(parts) == 2:
        return f"{account}.aws"
    return ".".join(parts[:3])


def namespace(connection: ConnectionDefinition) -> str:
    """The OpenLineage namespace of a connection (the fallback when its configuration does not say enough)."""
    kind = type_rules(connection)
    config = identifying_configuration(connection)
    port = config.get("port") or str(DEFAULT_PORTS.get(kind, ""))
    if kind in ("postgresql", "mysql", "mssql") and "hostname" in config:
        scheme = "postgres" if kind == "postgresql" else kind
        return f"{scheme}://{config['hostname']}:{port}"
    if kind == "redshift" and "hostname" in config:
        return f"redshift://{_redshift_authority(config['hostname'])}:{port}"
    if kind == "snowflake" and "account" in config:
        return f"snowflake://{config['account']}"
    if kind == "bigquery":
        return "bigquery"
    if kind == "databricks" and "server_hostname" in config:
        return f"databricks://{config['server_hostname']}"
    return fallback_namespace(connection)


def fallback_namespace(connection: ConnectionDefinition) -> str:
    """``{type id}://{identifier}``: the identifying domain of the type if it has one, else the connection id."""
    config = identifying_configuration(connection)
    scheme = _SCHEME_UNSAFE.sub("-", type_rules(connection)).strip("-.+") or "unknown"
    if not scheme[0].isalpha():
        scheme = f"x-{scheme}"
    identifier = config.get("instance_url_override") or config.get("domain") or config.get("hub_domain")
    if identifier is None:
        identifier = connection.id.lower() if _HOST.fullmatch(connection.id.lower()) else "unknown"
    return f"{scheme}://{identifier}"


def _redshift_authority(host: str) -> str:
    """``{cluster}.{region}`` from ``cluster.abc123.us-west-2.redshift.amazonaws.com`` (or the serverless form
    ``workgroup.account.region.redshift-serverless.amazonaws.com``); any other host as it is."""
    parts = host.split(".")
    if len(parts) >= 6 and parts[-2:] == ["amazonaws", "com"] and parts[-3] in ("redshift", "redshift-serverless"):
        return f"{parts[0]}.{parts[-4]}"
    return host


# -- tables --------------------------------------------------------------------------------------------------


def split_identifier(text: str) -> list[tuple[str, bool]]:
    """``db."My Schema".t`` as ``[("db", False), ("My Schema", True), ("t", False)]``: dots inside double
    quotes, backticks or brackets do not split; the flag says the part was quoted (its case is kept)."""
    parts: list[tuple[str, bool]] = []
    current: list[str] = []
    quoted = False
    closing: str | None = None
    for char in text.strip():
        if closing is not None:
            if char == closing:
                closing = None
            else:
                current.append(char)
        elif char in '"`[':
            closing = "]" if char == "[" else char
            quoted = True
        elif char == ".":
            parts.append(("".join(current).strip(), quoted))
            current, quoted = [], False
        else:
            current.append(char)
    parts.append(("".join(current).strip(), quoted))
    return [part for part in parts if part[0]]


def table_dataset(connection: ConnectionDefinition, table: str, schema: str | None = None) -> DatasetName:
    """The dataset of ``table`` (possibly qualified: ``schema.table``, ``db.schema.table``) in ``connection``.

    Missing leading levels come from ``schema`` (a model's or a bulk destination's schema or dataset), the
    connection's database (project, for BigQuery) and the database's default schema. Snowflake's unquoted
    names are upper case, PostgreSQL's, Redshift's and Databricks' lower case, as those databases store them.
    On a system without naming rules the name is ``table`` as given.
    """
    kind = type_rules(connection)
    ns = namespace(connection)
    if (kind not in THREE_LEVELS and kind != "mysql") or ns == fallback_namespace(connection):
        return DatasetName(ns, truncate(table.strip(), 1000))
    parts = split_identifier(table)
    levels = 3 if kind in THREE_LEVELS else 2
    if levels == 3 and len(parts) == 1:
        if schema:
            parts = [*split_identifier(schema), *parts][-levels:]
        elif kind in DEFAULT_SCHEMAS:
            parts = [(DEFAULT_SCHEMAS[kind], False), *parts]
    config = identifying_configuration(connection)
    database = {
        "snowflake": config.get("dbname"),
        "bigquery": config.get("override_project_id") or config.get("project_id"),
        "postgresql": config.get("database"),
        "redshift": config.get("database"),
        "mssql": config.get("database"),
        "mysql": config.get("dbname"),
    }.get(kind)
    if len(parts) == levels - 1 and database:
        parts = [(database, False), *parts]
    return DatasetName(ns, ".".join(_case(kind, part, quoted) for part, quoted in parts[-levels:]))


def _case(kind: str, part: str, quoted: bool) -> str:
    if quoted:
        return part
    if kind == "snowflake":
        return part.upper()
    if kind in ("postgresql", "redshift", "databricks"):
        return part.lower()
    return part


def object_dataset(connection: ConnectionDefinition, name: str, schema: str | None = None) -> DatasetName:
    """An object a sync writes or reads: a table in a database, else the object as its system names it."""
    return table_dataset(connection, name, schema)


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
