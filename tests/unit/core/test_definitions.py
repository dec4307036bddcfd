"""Definitions (syncs, models, connections) parsed as Polytomic's SDK shapes them, and the calls that fetch them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_polytomic.core import definitions, protocol
from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.definitions import (
    BulkSyncDefinition,
    ConnectionDefinition,
    ModelDefinition,
    ModelSyncDefinition,
)
from airflow_provider_polytomic.core.errors import PolytomicBadResponseError, PolytomicInvalidIdError
from tests.unit.core.samples import SECRET

SYNC_ID = "248df4b7-aa70-47b8-a036-33ac447e668d"


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
