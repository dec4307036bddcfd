"""OpenLineage dataset names: one naming rule per warehouse, the fallback, and no secret ever read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_polytomic.core import dataset_names
from airflow_provider_polytomic.core.dataset_names import DatasetName
from tests.unit.core.samples import SECRET, connection

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
    assert dataset_names.table_dataset(connection(type_id, **configuration), table) == DatasetName(*expected)


def test_a_schema_from_the_model_or_destination_fills_a_bare_table_name() -> None:
    warehouse = connection("snowflake", account="acme-x", dbname="analytics")
    assert dataset_names.table_dataset(warehouse, "orders", "raw").name == "ANALYTICS.RAW.ORDERS"
    assert dataset_names.table_dataset(connection("bigquery", project_id="p"), "t", "ds").name == "p.ds.t"


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
    dataset = dataset_names.table_dataset(connection(type_id, **configuration), "Contact")
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
    assert SECRET not in json.dumps(dataset_names.identifying_configuration(pg))
    assert SECRET not in repr(dataset_names.table_dataset(pg, "users"))
    assert SECRET not in repr(pg)  # a configuration never shows in a repr (and so in a log line)


def test_only_listed_keys_are_ever_read() -> None:
    unknown = connection("snowflake", account="a-b", dbname="d", private_key=SECRET, private_key_passphrase=SECRET)
    assert dataset_names.identifying_configuration(unknown) == {"account": "a-b", "dbname": "d"}
    assert dataset_names.identifying_configuration(connection("zendesk", subdomain="acme", api_token=SECRET)) == {}


def test_split_identifier_keeps_quoted_dots() -> None:
    assert dataset_names.split_identifier('db."a.b".`c`') == [("db", False), ("a.b", True), ("c", True)]
