"""The emulator serves definitions in the official SDK's shapes (polytomic 25.9.10), read through the hook."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from airflow_provider_polytomic.core.errors import PolytomicNotFoundError
from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
from airflow_provider_polytomic.testing import PolytomicEmulator, ScenarioError

#: The fields of the SDK's models (all optional there, except a target's ``connection_id``).
MODEL_SYNC_V5_RESPONSE = {
    "active", "created_at", "created_by", "encryption_passphrase", "fields", "filter_logic", "filters", "id",
    "identities", "identity", "mode", "model_filters", "model_ids", "name", "only_enrich_updates",
    "organization_id", "override_fields", "overrides", "policies", "problems", "schedule", "skip_initial_backfill",
    "sync_all_records", "target", "target_filters", "updated_at", "updated_by",
}  # fmt: skip
MODEL_SYNC_V5_TARGET = {
    "configuration",
    "connection_id",
    "create",
    "filter_logic",
    "new_name",
    "object",
    "search_values",
}
MODEL_RESPONSE = {
    "configuration", "connection_id", "created_at", "created_by", "enricher", "fields", "id", "identifier", "labels",
    "name", "organization_id", "policies", "relations", "tracking_columns", "type", "updated_at", "updated_by",
    "version",
}  # fmt: skip
CONNECTION_RESPONSE_SCHEMA = {
    "api_calls_last_24_hours", "configuration", "created_at", "created_by", "id", "name", "organization_id",
    "parent_connection_id", "policies", "saved", "status", "status_error", "type", "updated_at", "updated_by",
}  # fmt: skip
CONNECTION_TYPE_SCHEMA = {"id", "logo_url", "name", "operations"}
BULK_SYNC_RESPONSE = {
    "active", "automatically_add_new_fields", "automatically_add_new_objects", "concurrency_limit", "created_at",
    "created_by", "data_cutoff_timestamp", "destination_configuration", "destination_connection_id",
    "disable_record_timestamps", "discover", "id", "mode", "name", "normalize_names", "organization_id", "policies",
    "resync_concurrency_limit", "schedule", "source_configuration", "source_connection_id", "updated_at",
    "updated_by",
}  # fmt: skip

CONNECTION = "6a4f7e2c-1b3d-4e5f-8a9b-0c1d2e3f4a01"
MODEL = "6a4f7e2c-1b3d-4e5f-8a9b-0c1d2e3f4a02"


@pytest.fixture
def hook(emulator: PolytomicEmulator, make_connection: Callable[..., str]) -> PolytomicHook:
    emulator.add_connection(id=CONNECTION, name="Warehouse", type="snowflake", configuration={"account": "a-b"})
    emulator.add_model(id=MODEL, name="Users", connection_id=CONNECTION, configuration={"table": "public.users"})
    return PolytomicHook(polytomic_conn_id=make_connection())


def get(hook: PolytomicHook, path: str) -> dict[str, object]:
    import requests

    answer = requests.get(hook.config.base_url + path, headers={"Authorization": hook.config.authorization}, timeout=5)
    assert answer.status_code == 200
    data: dict[str, object] = answer.json()["data"]
    return data


def test_definitions_have_the_sdk_fields(hook: PolytomicHook, emulator: PolytomicEmulator) -> None:
    model_sync = emulator.add_sync(name="S", model_ids=[MODEL], target={"connection_id": CONNECTION, "object": "x"})
    bulk_sync = emulator.add_sync(kind="bulk", source_connection_id=CONNECTION, destination_connection_id=CONNECTION)
    sync = get(hook, f"/api/syncs/{model_sync.id}")
    assert set(sync) == MODEL_SYNC_V5_RESPONSE
    assert isinstance(sync["target"], dict) and set(sync["target"]) == MODEL_SYNC_V5_TARGET
    assert set(get(hook, f"/api/bulk/syncs/{bulk_sync.id}")) == BULK_SYNC_RESPONSE
    assert set(get(hook, f"/api/models/{MODEL}")) == MODEL_RESPONSE
    connection = get(hook, f"/api/connections/{CONNECTION}")
    assert set(connection) == CONNECTION_RESPONSE_SCHEMA
    assert isinstance(connection["type"], dict) and set(connection["type"]) == CONNECTION_TYPE_SCHEMA


def test_the_hook_reads_each_definition(hook: PolytomicHook, emulator: PolytomicEmulator) -> None:
    model_sync = emulator.add_sync(name="S", model_ids=[MODEL], target={"connection_id": CONNECTION, "object": "x"})
    bulk_sync = emulator.add_sync(
        kind="bulk", name="B", source_connection_id=CONNECTION, destination_configuration={"schema": "raw"}
    )
    definition = hook.get_sync_definition(model_sync.id)
    assert (definition.name, definition.model_ids) == ("S", (MODEL,))
    assert definition.target is not None and definition.target.connection_id == CONNECTION
    bulk = hook.get_bulk_sync_definition(bulk_sync.id)
    assert (bulk.name, bulk.source_connection_id, bulk.destination_configuration) == (
        "B",
        CONNECTION,
        {"schema": "raw"},
    )
    model = hook.get_model(MODEL)
    assert (model.connection_id, model.configuration) == (CONNECTION, {"table": "public.users"})
    connection = hook.get_connection_definition(CONNECTION)
    assert (connection.type_id, connection.type_name, connection.name) == ("snowflake", "Snowflake", "Warehouse")
    with pytest.raises(PolytomicNotFoundError):
        hook.get_connection_definition("6a4f7e2c-1b3d-4e5f-8a9b-0c1d2e3f4aff")


def test_a_sync_without_a_target_has_none() -> None:
    with PolytomicEmulator() as emulator:
        sync = emulator.add_sync()
        assert (
            emulator.handle("GET", f"/api/syncs/{sync.id}", {}, {"Authorization": "Bearer emulator-api-key"}, None)[1][
                "data"
            ]["target"]
            is None
        )


def test_scenario_keys_for_definitions_are_checked() -> None:
    with pytest.raises(ScenarioError, match=r"scenario.connections\[0\]: unknown key 'kind'"):
        PolytomicEmulator({"connections": [{"id": "c", "kind": "snowflake"}]})
    with pytest.raises(ScenarioError, match="missing required key 'connection_id'"):
        PolytomicEmulator({"syncs": [{"target": {"object": "Contact"}}]})
    with pytest.raises(ScenarioError, match="did you mean 'model_ids'"):
        PolytomicEmulator({"syncs": [{"model_id": ["m"]}]})
    emulator = PolytomicEmulator({"connections": [{"id": "c", "type": "hubspot"}], "models": [{"id": "m"}]})
    assert set(emulator.connections) == {"c"} and set(emulator.models) == {"m"}
