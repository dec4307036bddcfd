"""The core's lineage plan as OpenLineage's objects: datasets, row counts, the ``polytomic`` run facet, the
external query facet, and the tables a query model reads (parsed; a query in an unknown dialect adds none)."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("airflow.providers.openlineage")

from airflow_provider_polytomic.core import lineage
from airflow_provider_polytomic.core.dataset_names import DatasetName
from airflow_provider_polytomic.openlineage_objects import EXTERNAL_SOURCE, FACET_SCHEMA_URL, operator_lineage
from tests.unit.core.samples import connection

SYNC_ID = "248df4b7-aa70-47b8-a036-33ac447e668d"
SNOW = connection("snowflake", "c-sn", account="acme-x", dbname="analytics")
LOG = logging.getLogger("test_openlineage_objects")


def plan(*queries: lineage.SourceQuery, execution_id: str | None = "e1") -> lineage.SyncLineage:
    return lineage.SyncLineage(
        inputs=(DatasetName("postgres://db:5432", "shop.public.users"),),
        outputs=(
            lineage.WrittenDataset(DatasetName("salesforce://acme", "Contact"), 7),
            lineage.WrittenDataset(DatasetName("salesforce://acme", "Lead"), None),
        ),
        queries=queries,
        facet={"syncId": SYNC_ID, "syncName": "Users", "executionId": execution_id, "errorsTotal": 0},
    )


def test_inputs_outputs_and_row_counts_become_openlineage_datasets() -> None:
    result = operator_lineage(plan(), LOG)
    assert [(item.namespace, item.name) for item in result.inputs] == [("postgres://db:5432", "shop.public.users")]
    contact, lead = result.outputs
    assert contact.outputFacets["outputStatistics"].rowCount == 7
    assert lead.outputFacets == {}  # Polytomic did not say: no statistics rather than a zero


def test_the_run_facets_name_the_sync_and_the_execution_as_an_external_query() -> None:
    facets = operator_lineage(plan(), LOG).run_facets
    polytomic = facets["polytomic"]
    assert (polytomic.syncId, polytomic.syncName, polytomic.executionId) == (SYNC_ID, "Users", "e1")
    assert polytomic._get_schema() == FACET_SCHEMA_URL
    assert (facets["externalQuery"].externalQueryId, facets["externalQuery"].source) == ("e1", EXTERNAL_SOURCE)
    assert "externalQuery" not in operator_lineage(plan(execution_id=None), LOG).run_facets


def test_a_query_models_tables_are_inputs_once_and_a_query_of_unknown_dialect_adds_none() -> None:
    pytest.importorskip("openlineage_sql")
    read = lineage.SourceQuery(SNOW, "select * from sales.orders join sales.orders o2 on true", model_id="m1")
    names = [item.name for item in operator_lineage(plan(read), LOG).inputs]
    assert names == ["shop.public.users", "ANALYTICS.SALES.ORDERS"]
    broken = lineage.SourceQuery(connection("unknown-db", "c-x"), "select 1", model_id="m2")  # no dialect
    assert [item.name for item in operator_lineage(plan(broken), LOG).inputs] == ["shop.public.users"]
