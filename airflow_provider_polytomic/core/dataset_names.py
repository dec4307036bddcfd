"""OpenLineage dataset names for the places a Polytomic connection reads and writes. No I/O.

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
from dataclasses import dataclass
from urllib.parse import urlsplit

from airflow_provider_polytomic.core.definitions import ConnectionDefinition
from airflow_provider_polytomic.core.values import truncate

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
