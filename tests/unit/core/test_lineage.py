"""The I/O-free lineage core: definitions parsed as the SDK shapes them, OpenLineage names, no secret ever out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_polytomic.core import definitions, lineage, protocol
from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.definitions import (
    BulkSyncDefinition,
    ConnectionDefinition,
    ModelDefinition,
    ModelSyncDefinition,
)
from airflow_provider_polytomic.core.errors import PolytomicBadResponseError, PolytomicInvalidIdError
from airflow_provider_polytomic.core.lineage import DatasetName, WrittenDataset
from airflow_provider_polytomic.core.naming import name_sync

SECRET = "SECRET-do-not-leak-42"
SYNC_ID = "248df4b7-aa70-47b8-a036-33ac447e668d"


def connection(
    type_id: str, connection_id: str = "c0ffee00-0000-4000-8000-000000000001", **configuration: Any
) -> ConnectionDefinition:
    return ConnectionDefinition.from_api(
        {
            "id": connection_id,
            "name": type_id.title(),
            "type": {"id": type_id, "name": type_id.title()},
            "configuration": configuration,
        }
    )


# -- naming rules, one per warehouse -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_id", "configuration", "table", "expected"),
    [
        (
            "snowflake",
            {"account": "Acme-Analytics", "dbname": "analytics"},
            "public.users",
            ("snowflake://acme-analytics", "ANALYTICS.PUBLIC.USERS"),
        ),
        (
            "snowflake",
            {"account": "xy12345.us-east-2", "dbname": "db"},
            "users",
            ("snowflake://xy12345.us-east-2.aws", "DB.PUBLIC.USERS"),
        ),
        (
            "snowflake",
            {"account": "xy12345", "dbname": "db"},
            's."Mixed"',
            ("snowflake://xy12345.us-west-1.aws", "DB.S.Mixed"),
        ),
        (
            "snowflake",
            {"account": "https://acme-x.snowflakecomputing.com", "dbname": "d"},
            "a.b.c",
            ("snowflake://acme-x", "A.B.C"),
        ),
        (
            "bigquery",
            {"project_id": "proj-1", "service_account": SECRET},
            "ds.events",
            ("bigquery", "proj-1.ds.events"),
        ),
        (
            "bigquery",
            {"project_id": "proj-1", "override_project_id": "billing"},
            "other.ds.t",
            ("bigquery", "other.ds.t"),
        ),
        ("bigquery", {"project_id": "proj-1", "override_project_id": "data"}, "ds.t", ("bigquery", "data.ds.t")),
        (
            "postgresql",
            {"hostname": "DB.example.com", "port": 5433, "database": "shop", "password": SECRET},
            "Users",
            ("postgres://db.example.com:5433", "shop.public.users"),
        ),
        (
            "postgresql",
            {"hostname": "db", "database": "shop"},
            "sales.orders",
            ("postgres://db:5432", "shop.sales.orders"),
        ),
        (
            "redshift",
            {"hostname": "examplecluster.abc123xyz.us-west-2.redshift.amazonaws.com", "database": "dev"},
            "public.t",
            ("redshift://examplecluster.us-west-2:5439", "dev.public.t"),
        ),
        (
            "redshift",
            {
                "hostname": "wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com",
                "port": "5440",
                "database": "dev",
            },
            "s.t",
            ("redshift://wg.eu-west-1:5440", "dev.s.t"),
        ),
        (
            "databricks",
            {"server_hostname": "dbc-1234.cloud.databricks.com", "http_path": "/sql/1.0/x", "access_token": SECRET},
            "Main.Sales.Orders",
            ("databricks://dbc-1234.cloud.databricks.com", "main.sales.orders"),
        ),
        (
            "mysql",
            {"hostname": "mysql.internal", "dbname": "crm", "account": "polytomic", "passwd": SECRET},
            "contacts",
            ("mysql://mysql.internal:3306", "crm.contacts"),
        ),
        (
            "mysql",
            {"hostname": "mysql.internal", "port": 3307, "dbname": "crm"},
            "other.contacts",
            ("mysql://mysql.internal:3307", "other.contacts"),
        ),
        (
            "mssql",
            {"hostname": "sql.internal", "database": "erp", "password": SECRET},
            "invoices",
            ("mssql://sql.internal:1433", "erp.dbo.invoices"),
        ),
        (
            "mssql",
            {"hostname": "sql.internal", "port": 1444, "database": "erp"},
            "[fin].[Invoices]",
            ("mssql://sql.internal:1444", "erp.fin.Invoices"),
        ),
    ],
)
def test_warehouse_tables_follow_openlineage_naming(
    type_id: str, configuration: dict[str, Any], table: str, expected: tuple[str, str]
) -> None:
    assert lineage.table_dataset(connection(type_id, **configuration), table) == DatasetName(*expected)


def test_a_schema_from_the_model_or_destination_fills_a_bare_table_name() -> None:
    warehouse = connection("snowflake", account="acme-x", dbname="analytics")
    assert lineage.table_dataset(warehouse, "orders", "raw").name == "ANALYTICS.RAW.ORDERS"
    assert lineage.table_dataset(connection("bigquery", project_id="p"), "t", "ds").name == "p.ds.t"


@pytest.mark.parametrize(
    ("type_id", "configuration", "expected_namespace"),
    [
        (
            "salesforce",
            {"domain": "acme.my.salesforce.com", "client_secret": SECRET},
            "salesforce://acme.my.salesforce.com",
        ),
        (
            "salesforce",
            {"instance_url_override": "https://acme--uat.sandbox.my.salesforce.com/", "domain": "x"},
            "salesforce://acme--uat.sandbox.my.salesforce.com",
        ),
        ("hubspot", {"hub_domain": "acme.com", "oauth_refresh_token": SECRET}, "hubspot://acme.com"),
        ("zendesk", {"api_token": SECRET}, "zendesk://c0ffee00-0000-4000-8000-000000000001"),
        ("postgresql", {"database": "no host"}, "postgresql://c0ffee00-0000-4000-8000-000000000001"),
        ("Google Sheets!", {}, "google-sheets://c0ffee00-0000-4000-8000-000000000001"),
    ],
)
def test_other_systems_get_the_fallback_namespace(
    type_id: str, configuration: dict[str, Any], expected_namespace: str
) -> None:
    dataset = lineage.table_dataset(connection(type_id, **configuration), "Contact")
    assert dataset == DatasetName(expected_namespace, "Contact")


@pytest.mark.parametrize(
    "configuration",
    [
        {"hostname": f"polytomic:{SECRET}@db.example.com", "database": "shop"},
        {"hostname": "db.example.com", "database": f"{SECRET}@x/y"},
        {
            "hostname": "db.example.com",
            "database": "shop",
            "password": SECRET,
            "ssh_private_key": SECRET,
            "client_key": SECRET,
        },
    ],
)
def test_no_secret_reaches_a_name_or_the_identifying_configuration(configuration: dict[str, Any]) -> None:
    pg = connection("postgresql", **configuration)
    assert SECRET not in json.dumps(lineage.identifying_configuration(pg))
    assert SECRET not in repr(lineage.table_dataset(pg, "users"))
    assert SECRET not in repr(pg)  # a configuration never shows in a repr (and so in a log line)


def test_only_listed_keys_are_ever_read() -> None:
    unknown = connection("snowflake", account="a-b", dbname="d", private_key=SECRET, private_key_passphrase=SECRET)
    assert lineage.identifying_configuration(unknown) == {"account": "a-b", "dbname": "d"}
    assert lineage.identifying_configuration(connection("zendesk", subdomain="acme", api_token=SECRET)) == {}


def test_split_identifier_keeps_quoted_dots() -> None:
    assert lineage.split_identifier('db."a.b".`c`') == [("db", False), ("a.b", True), ("c", True)]


# -- definitions as the SDK shapes them ------------------------------------------------------------------------


def test_definitions_parse_the_sdk_shapes() -> None:
    sync = ModelSyncDefinition.from_api(
        {
            "id": SYNC_ID,
            "name": "Users",
            "model_ids": ["m1"],
            "target": {"connection_id": "c2", "object": "Contact", "configuration": {"k": SECRET}},
        }
    )
    assert (sync.name, sync.model_ids, sync.target and sync.target.object) == ("Users", ("m1",), "Contact")
    assert SECRET not in repr(sync)
    conn = ConnectionDefinition.from_api(
        {"id": "c", "type": {"id": "Snowflake", "name": "Snowflake"}, "configuration": None}
    )
    assert (conn.type_id, conn.type_name, conn.configuration) == ("snowflake", "Snowflake", {})
    assert ConnectionDefinition.from_api({"id": "c", "type": "hubspot"}).type_id == "hubspot"
    assert ConnectionDefinition.from_api({"id": "c"}).type_id == "unknown"
    bulk = BulkSyncDefinition.from_api(
        {
            "id": SYNC_ID,
            "source_connection_id": "a",
            "destination_connection_id": "b",
            "destination_configuration": {"schema": "raw"},
        }
    )
    assert (bulk.source_connection_id, bulk.destination_configuration) == ("a", {"schema": "raw"})
    model = ModelDefinition.from_api({"id": "m", "connection_id": "c", "configuration": {"query": "select 1"}})
    assert model.configuration == {"query": "select 1"}


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (definitions.get_sync_definition(SYNC_ID), {"data": {"id": SYNC_ID, "target": {"object": "x"}}}),
        (definitions.get_sync_definition(SYNC_ID), {"data": {"id": SYNC_ID, "model_ids": "m1"}}),
        (definitions.get_connection(SYNC_ID), {"data": {"id": SYNC_ID, "configuration": ["not", "an", "object"]}}),
        (definitions.get_model(SYNC_ID), {"data": []}),
    ],
)
def test_unreadable_definitions_are_bad_responses(call: protocol.ApiCall[Any], body: dict[str, Any]) -> None:
    config = ClientConfig.from_connection("c", host=None, login=None, password="k", extra=None)
    with pytest.raises(PolytomicBadResponseError):
        call.read(config, 200, {}, json.dumps(body).encode())


def test_definition_calls_address_their_endpoints_and_check_ids() -> None:
    assert definitions.get_sync_definition(SYNC_ID).path == f"/api/syncs/{SYNC_ID}"
    assert definitions.get_bulk_sync_definition(SYNC_ID).path == f"/api/bulk/syncs/{SYNC_ID}"
    assert definitions.get_model(SYNC_ID).path == f"/api/models/{SYNC_ID}"
    assert definitions.get_connection(SYNC_ID).path == f"/api/connections/{SYNC_ID}"
    for build in (definitions.get_model, definitions.get_connection, definitions.get_sync_definition):
        with pytest.raises(PolytomicInvalidIdError):
            build("../../api/me")


# -- whole syncs ------------------------------------------------------------------------------------------------

PG = connection("postgresql", "c-pg", hostname="db", database="shop", password=SECRET)
SF = connection("salesforce", "c-sf", domain="acme.my.salesforce.com", client_secret=SECRET)
SNOW = connection("snowflake", "c-sn", account="acme-x", dbname="analytics", private_key=SECRET)
SUMMARY = {
    "sync_id": SYNC_ID,
    "execution_id": "e1",
    "status": "completed",
    "counts": {"insert": 3, "update": 4, "delete": None, "upserts": None, "error": 0, "total": None},
    "errors": [f"row {index}" for index in range(8)],
    "errors_total": 8,
}


def test_a_model_sync_reads_its_models_and_writes_its_target() -> None:
    sync = ModelSyncDefinition.from_api(
        {
            "id": SYNC_ID,
            "name": "Users",
            "model_ids": ["m1", "m2", "m3"],
            "target": {"connection_id": "c-sf", "object": "Contact"},
        }
    )
    models = [
        ModelDefinition.from_api({"id": "m1", "connection_id": "c-pg", "configuration": {"table": "users"}}),
        ModelDefinition.from_api({"id": "m2", "connection_id": "c-sn", "configuration": {"query": "select 1"}}),
        ModelDefinition.from_api({"id": "m3", "connection_id": "c-gone", "configuration": {"table": "x"}}),
    ]
    assert lineage.model_sync_connection_ids(sync, models) == ["c-pg", "c-sn", "c-gone", "c-sf"]
    plan = lineage.model_sync_lineage(sync, models, {"c-pg": PG, "c-sn": SNOW, "c-sf": SF}, SUMMARY, sync_url="u")
    assert plan.inputs == (DatasetName("postgres://db:5432", "shop.public.users"),)
    assert [query.model_id for query in plan.queries] == ["m2"]
    assert plan.queries[0].dialect == "snowflake"
    assert plan.queries[0].dataset((None, "sales", "orders")) == DatasetName(
        "snowflake://acme-x", "ANALYTICS.SALES.ORDERS"
    )
    # counts.total is missing: the writes are added up.
    assert plan.outputs == (WrittenDataset(DatasetName("salesforce://acme.my.salesforce.com", "Contact"), 7),)
    assert plan.facet["errors"] == [f"row {index}" for index in range(5)] and plan.facet["errorsTotal"] == 8
    assert plan.facet["syncName"] == "Users" and plan.facet["executionId"] == "e1" and plan.facet["syncUrl"] == "u"
    assert SECRET not in json.dumps(plan.facet)


def test_a_new_target_object_is_named_by_new_name() -> None:
    sync = ModelSyncDefinition.from_api(
        {
            "id": SYNC_ID,
            "target": {"connection_id": "c-sn", "new_name": "users_copy", "configuration": {"schema": "marts"}},
        }
    )
    plan = lineage.model_sync_lineage(sync, [], {"c-sn": SNOW}, None)
    assert plan.outputs == (WrittenDataset(DatasetName("snowflake://acme-x", "ANALYTICS.MARTS.USERS_COPY"), None),)


def test_a_bulk_sync_maps_each_schema_to_its_output() -> None:
    sync = BulkSyncDefinition.from_api(
        {
            "id": SYNC_ID,
            "name": "Replica",
            "source_connection_id": "c-pg",
            "destination_connection_id": "c-sn",
            "destination_configuration": {"schema": "shop_raw"},
        }
    )
    schemas = [
        {"schema": "public.orders", "output_name": "orders", "record_count": 5},
        {"schema": "public.items", "output_name": None, "record_count": None},
    ]
    plan = lineage.bulk_sync_lineage(sync, {"c-pg": PG, "c-sn": SNOW}, schemas, SUMMARY)
    assert plan.inputs == (
        DatasetName("postgres://db:5432", "shop.public.orders"),
        DatasetName("postgres://db:5432", "shop.public.items"),
    )
    assert plan.outputs == (
        WrittenDataset(DatasetName("snowflake://acme-x", "ANALYTICS.SHOP_RAW.ORDERS"), 5),
        WrittenDataset(DatasetName("snowflake://acme-x", "ANALYTICS.SHOP_RAW.ITEMS"), None),
    )
    assert plan.facet["syncKind"] == "bulk"
    assert [item["type"] for item in plan.facet["connections"]] == ["postgresql", "snowflake"]


def test_a_bulk_sync_without_its_connections_has_no_datasets_but_its_facet() -> None:
    sync = BulkSyncDefinition.from_api({"id": SYNC_ID, "source_connection_id": "a", "destination_connection_id": "b"})
    plan = lineage.bulk_sync_lineage(sync, {}, [{"schema": "x"}], SUMMARY)
    assert (plan.inputs, plan.outputs, plan.facet["executionId"]) == ((), (), "e1")


# -- names in messages -----------------------------------------------------------------------------------------


def test_the_name_goes_next_to_the_id_once() -> None:
    message = f"Polytomic sync {SYNC_ID} execution e ended. Polytomic sync {SYNC_ID} again."
    named = name_sync(message, SYNC_ID, "Users\nto  Salesforce")
    assert (
        named == f"Polytomic sync 'Users to Salesforce' ({SYNC_ID}) execution e ended. Polytomic sync {SYNC_ID} again."
    )
    assert name_sync(named, SYNC_ID, "Users to Salesforce") == named
    assert name_sync(message, SYNC_ID, None) == message
    assert name_sync(message, SYNC_ID, "   ") == message
    assert len(name_sync(message, SYNC_ID, "x" * 5000)) < len(message) + 120
