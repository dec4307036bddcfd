"""The I/O-free lineage core: what a model or bulk sync read and wrote, and the run facet; no secret ever out."""

from __future__ import annotations

import json

from airflow_provider_polytomic.core import lineage
from airflow_provider_polytomic.core.dataset_names import DatasetName
from airflow_provider_polytomic.core.definitions import BulkSyncDefinition, ModelDefinition, ModelSyncDefinition
from airflow_provider_polytomic.core.lineage import WrittenDataset
from tests.unit.core.samples import SECRET, connection

SYNC_ID = "248df4b7-aa70-47b8-a036-33ac447e668d"


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
