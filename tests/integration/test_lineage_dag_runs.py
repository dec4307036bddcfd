"""OpenLineage and sync names end to end: whole DAG runs (``dag.test()``) against the emulator.

With ``apache-airflow-providers-openlineage`` installed (the Airflow 3.3 test environment), Airflow's own
OpenLineage listener runs, and its events are captured through the file transport: their inputs, outputs
and facets must be what the sync definitions in the emulator say. Without it (Airflow 2.11), those tests
skip; the rest (sync names, definition failures, request counts) run on both lines.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_polytomic.core.retry import RetryPolicy
from airflow_provider_polytomic.testing import EmulatedSync, PolytomicEmulator
from tests.airflow_features import TASK_STATE_STORE
from tests.dag_runs import Run

HAS_OPENLINEAGE = importlib.util.find_spec("airflow.providers.openlineage") is not None
needs_openlineage = pytest.mark.skipif(not HAS_OPENLINEAGE, reason="apache-airflow-providers-openlineage not installed")

PG_PASSWORD = "pg-SECRET-password-91ab"
SF_SECRET = "sfdc-SECRET-client-secret-77cd"
SNOWFLAKE_KEY = "snowflake-SECRET-private-key-13ef"
SECRETS = (PG_PASSWORD, SF_SECRET, SNOWFLAKE_KEY)

POSTGRES = {
    "id": "0b1f3f4e-2f7a-4d55-9b59-0e0e8c7f1a01",
    "name": "Shop database",
    "type": "postgresql",
    "configuration": {
        "hostname": "db.shop.internal",
        "port": 5433,
        "database": "shop",
        "username": "polytomic",
        "password": PG_PASSWORD,
    },
}
SALESFORCE = {
    "id": "0b1f3f4e-2f7a-4d55-9b59-0e0e8c7f1a02",
    "name": "Salesforce production",
    "type": "salesforce",
    "configuration": {"domain": "acme.my.salesforce.com", "client_id": "cid", "client_secret": SF_SECRET},
}
SNOWFLAKE = {
    "id": "0b1f3f4e-2f7a-4d55-9b59-0e0e8c7f1a03",
    "name": "Warehouse",
    "type": "snowflake",
    "configuration": {
        "account": "acme-analytics",
        "dbname": "analytics",
        "warehouse": "LOAD_WH",
        "username": "POLYTOMIC",
        "private_key": SNOWFLAKE_KEY,
    },
}
USERS_MODEL = {
    "id": "5c2d1e0f-3a4b-4c5d-8e9f-1a2b3c4d5e01",
    "name": "Users",
    "connection_id": POSTGRES["id"],
    "configuration": {"table": "public.users"},
}
ORDERS_MODEL = {
    "id": "5c2d1e0f-3a4b-4c5d-8e9f-1a2b3c4d5e02",
    "name": "Big orders",
    "connection_id": SNOWFLAKE["id"],
    "configuration": {
        "query": "select o.id, c.email from analytics.sales.orders o join sales.customers c on c.id = o.cid"
    },
}
COMPLETED = {"status": "completed", "counts": {"insert": 10, "update": 2, "error": 0, "total": 12}}
RUNNING = {"status": "running", "polls": 3, "counts": {"insert": 5, "total": 5}}


@pytest.fixture
def definitions(emulator: PolytomicEmulator) -> PolytomicEmulator:
    for connection in (POSTGRES, SALESFORCE, SNOWFLAKE):
        emulator.add_connection(**connection)
    for model in (USERS_MODEL, ORDERS_MODEL):
        emulator.add_model(**model)
    return emulator


def users_to_salesforce(emulator: PolytomicEmulator, *steps: dict[str, Any]) -> EmulatedSync:
    """A reverse-ETL model sync: a Postgres table into Salesforce contacts (a SaaS target)."""
    return emulator.add_sync(
        name="Users to Salesforce",
        model_ids=[USERS_MODEL["id"]],
        target={"connection_id": SALESFORCE["id"], "object": "Contact", "configuration": {"mode": "upsert"}},
        executions=[{"steps": list(steps or [COMPLETED])}],
    )


def bulk_salesforce_to_snowflake(emulator: PolytomicEmulator, schemas: list[dict[str, Any]]) -> EmulatedSync:
    return emulator.add_sync(
        kind="bulk",
        name="Salesforce to warehouse",
        source_connection_id=SALESFORCE["id"],
        destination_connection_id=SNOWFLAKE["id"],
        destination_configuration={"schema": "raw_salesforce"},
        executions=[
            {
                "steps": [
                    {"status": "running", "polls": 1},
                    {"status": "completed", "counts": {"total": 130, "error": 0}, "schemas": schemas},
                ]
            }
        ],
    )


@pytest.fixture
def run(run_test_dag: Callable[..., Run]) -> Callable[[str, EmulatedSync], Run]:
    def go(dag_id: str, sync: EmulatedSync) -> Run:
        return run_test_dag(dag_id, {"sync_id": sync.id}, "task")

    return go


@pytest.fixture
def lineage_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Airflow's OpenLineage listener, writing its events to a file; returns a reader of the task events."""
    if not HAS_OPENLINEAGE:
        pytest.skip("apache-airflow-providers-openlineage not installed")
    from airflow.providers.openlineage import conf as ol_conf
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
    from airflow.sdk.listener import get_listener_manager

    path = tmp_path / "openlineage.jsonl"
    monkeypatch.setenv(
        "AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps({"type": "file", "log_file_path": str(path), "append": True})
    )
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "polytomic-tests")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")

    def reset() -> None:
        for value in vars(ol_conf).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
        listener.adapter._client = None

    listener = get_openlineage_listener()
    reset()
    manager = get_listener_manager()
    registered = manager.pm.is_registered(listener)
    manager.add_listener(listener)

    def read() -> list[dict[str, Any]]:
        if not path.exists():
            return []
        events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [event for event in events if event.get("job", {}).get("name", "").endswith(".task")]

    yield read
    if not registered:
        manager.pm.unregister(listener)
    monkeypatch.undo()
    reset()


@pytest.fixture
def no_lineage() -> Iterator[None]:
    """Airflow's OpenLineage listener off, whatever an earlier test left registered: what names alone cost."""
    if not HAS_OPENLINEAGE:
        yield
        return
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
    from airflow.sdk.listener import get_listener_manager

    listener, manager = get_openlineage_listener(), get_listener_manager()
    registered = manager.pm.is_registered(listener)
    if registered:
        manager.pm.unregister(listener)
    yield
    if registered:
        manager.add_listener(listener)


def final_event(events: list[dict[str, Any]]) -> dict[str, Any]:
    finals = [event for event in events if event["eventType"] in ("COMPLETE", "FAIL")]
    assert len(finals) == 1, [event["eventType"] for event in events]
    return finals[0]


def datasets(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item["namespace"], item["name"]) for item in items]


def definition_requests(emulator: PolytomicEmulator) -> list[str]:
    """Paths of the definition requests (sync, bulk sync, model, connection) the emulator served."""
    pattern = r"/api/(bulk/)?syncs/[^/]+|/api/models/[^/]+|/api/connections/[^/]+"
    return [request.path for request in emulator.requests_to(pattern)]


# -- OpenLineage events (Airflow 3.3 with the OpenLineage provider) -------------------------------------------


@needs_openlineage
def test_a_model_sync_into_salesforce_reports_its_table_the_object_and_the_execution(
    definitions: PolytomicEmulator, run: Callable[..., Run], lineage_events: Callable[[], list[dict[str, Any]]]
) -> None:
    sync = users_to_salesforce(definitions)
    result = run("lineage_model_poke", sync)
    assert result.task_state == "success"

    event = final_event(lineage_events())
    assert event["eventType"] == "COMPLETE"
    assert datasets(event["inputs"]) == [("postgres://db.shop.internal:5433", "shop.public.users")]
    assert datasets(event["outputs"]) == [("salesforce://acme.my.salesforce.com", "Contact")]
    assert event["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 12
    execution = sync.executions[0]
    facets = event["run"]["facets"]
    assert facets["externalQuery"]["externalQueryId"] == execution.id
    assert facets["externalQuery"]["source"] == "polytomic"
    polytomic = facets["polytomic"]
    assert polytomic["syncId"] == sync.id
    assert polytomic["syncName"] == "Users to Salesforce"
    assert polytomic["syncKind"] == "model"
    assert polytomic["syncUrl"] == f"{definitions.url}/syncs/{sync.id}"
    assert polytomic["executionId"] == execution.id
    assert polytomic["executionStatus"] == "completed"
    assert polytomic["counts"]["total"] == 12
    assert {item["type"] for item in polytomic["connections"]} == {"postgresql", "salesforce"}
    text = json.dumps(lineage_events())
    for secret in SECRETS:
        assert secret not in text


@needs_openlineage
def test_a_model_sync_into_the_warehouse_reports_each_models_tables(
    definitions: PolytomicEmulator, run: Callable[..., Run], lineage_events: Callable[[], list[dict[str, Any]]]
) -> None:
    """Two models (a Postgres table, a Snowflake query) into a Snowflake table, started by the operator."""
    sync = definitions.add_sync(
        name="Customer 360",
        model_ids=[USERS_MODEL["id"], ORDERS_MODEL["id"]],
        target={"connection_id": SNOWFLAKE["id"], "object": "marts.customer_360"},
    )
    result = run("lineage_model_start", sync)
    assert result.task_state == "success"

    event = final_event(lineage_events())
    inputs = datasets(event["inputs"])
    assert inputs[0] == ("postgres://db.shop.internal:5433", "shop.public.users")
    # The query's tables, as OpenLineage's SQL parser finds them (its order), qualified with the database.
    assert sorted(inputs[1:]) == [
        ("snowflake://acme-analytics", "ANALYTICS.SALES.CUSTOMERS"),
        ("snowflake://acme-analytics", "ANALYTICS.SALES.ORDERS"),
    ]
    assert datasets(event["outputs"]) == [("snowflake://acme-analytics", "ANALYTICS.MARTS.CUSTOMER_360")]
    # The emulator's default run: insert 20, update 5, total 25.
    assert event["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 25
    started = result.xcom["execution_id"]
    assert event["run"]["facets"]["polytomic"]["executionId"] == started
    assert event["run"]["facets"]["externalQuery"]["externalQueryId"] == started
    assert SNOWFLAKE_KEY not in json.dumps(event) and PG_PASSWORD not in json.dumps(event)


@needs_openlineage
def test_a_bulk_sync_from_salesforce_reports_each_schema_and_its_output_table(
    definitions: PolytomicEmulator, run: Callable[..., Run], lineage_events: Callable[[], list[dict[str, Any]]]
) -> None:
    schemas = [
        {"schema": "Account", "output_name": "account", "status": "completed", "record_count": 100},
        {"schema": "Contact", "output_name": "contact", "status": "completed", "record_count": 30},
    ]
    sync = bulk_salesforce_to_snowflake(definitions, schemas)
    result = run("lineage_bulk_deferrable", sync)
    assert result.task_state == "success"

    event = final_event(lineage_events())
    assert datasets(event["inputs"]) == [
        ("salesforce://acme.my.salesforce.com", "Account"),
        ("salesforce://acme.my.salesforce.com", "Contact"),
    ]
    assert datasets(event["outputs"]) == [
        ("snowflake://acme-analytics", "ANALYTICS.RAW_SALESFORCE.ACCOUNT"),
        ("snowflake://acme-analytics", "ANALYTICS.RAW_SALESFORCE.CONTACT"),
    ]
    assert [item["outputFacets"]["outputStatistics"]["rowCount"] for item in event["outputs"]] == [100, 30]
    polytomic = event["run"]["facets"]["polytomic"]
    assert (polytomic["syncKind"], polytomic["syncName"]) == ("bulk", "Salesforce to warehouse")
    assert polytomic["syncUrl"] == f"{definitions.url}/bulk/syncs/{sync.id}"
    assert polytomic["executionId"] == sync.executions[0].id
    assert SF_SECRET not in json.dumps(event)


@needs_openlineage
def test_a_bulk_sync_with_more_schemas_than_the_summary_lists_reports_all_of_them(
    definitions: PolytomicEmulator, run: Callable[..., Run], lineage_events: Callable[[], list[dict[str, Any]]]
) -> None:
    """Postgres into Snowflake, 25 tables: the deferred path's summary lists 20; lineage reads the run once more."""
    schemas = [
        {"schema": f"public.t{index:02}", "output_name": f"t{index:02}", "record_count": index} for index in range(25)
    ]
    sync = definitions.add_sync(
        kind="bulk",
        name="Shop replica",
        source_connection_id=POSTGRES["id"],
        destination_connection_id=SNOWFLAKE["id"],
        destination_configuration={"schema": "shop"},
        executions=[{"steps": [{"status": "running"}, {"status": "completed", "schemas": schemas}]}],
    )
    assert run("lineage_bulk_deferrable", sync).task_state == "success"

    event = final_event(lineage_events())
    assert len(event["inputs"]) == len(event["outputs"]) == 25
    assert event["inputs"][24] == {
        "namespace": "postgres://db.shop.internal:5433",
        "name": "shop.public.t24",
        "facets": {},
        "inputFacets": {},
    }
    assert datasets(event["outputs"])[24] == ("snowflake://acme-analytics", "ANALYTICS.SHOP.T24")


@needs_openlineage
def test_a_failed_sync_reports_its_datasets_and_the_failed_execution(
    definitions: PolytomicEmulator, run: Callable[..., Run], lineage_events: Callable[[], list[dict[str, Any]]]
) -> None:
    sync = users_to_salesforce(definitions, {"status": "failed", "errors": ["Salesforce: INVALID_FIELD Email__c"]})
    result = run("lineage_model_poke", sync)
    assert result.task_state == "failed"

    event = final_event(lineage_events())
    assert event["eventType"] == "FAIL"
    assert datasets(event["inputs"]) == [("postgres://db.shop.internal:5433", "shop.public.users")]
    assert datasets(event["outputs"]) == [("salesforce://acme.my.salesforce.com", "Contact")]
    polytomic = event["run"]["facets"]["polytomic"]
    assert polytomic["executionStatus"] == "failed"
    assert polytomic["errors"] == ["Salesforce: INVALID_FIELD Email__c"]
    assert "Users to Salesforce" in event["run"]["facets"]["errorMessage"]["message"]


@needs_openlineage
def test_an_unreadable_definition_still_reports_the_execution_and_changes_no_outcome(
    definitions: PolytomicEmulator, run: Callable[..., Run], lineage_events: Callable[[], list[dict[str, Any]]]
) -> None:
    sync = users_to_salesforce(definitions)
    definitions.add_fault("status", path=f"/api/syncs/{sync.id}", status=500)
    result = run("lineage_model_poke", sync)
    assert result.task_state == "success"

    event = final_event(lineage_events())
    assert event["eventType"] == "COMPLETE"
    assert (event["inputs"], event["outputs"]) == ([], [])
    assert event["run"]["facets"]["polytomic"]["executionId"] == sync.executions[0].id
    assert event["run"]["facets"]["polytomic"].get("syncName") is None  # a None field is left out


@needs_openlineage
@pytest.mark.parametrize(
    ("endpoint", "answer"),
    [
        # The connection itself, without its 'data' envelope: the password within the 200 bytes once quoted.
        ("connections", {**POSTGRES, "configuration": {"password": PG_PASSWORD, **POSTGRES["configuration"]}}),
        ("models", {**USERS_MODEL, "configuration": {"table": "public.users", "password": PG_PASSWORD}}),
        ("syncs", {"target": {"connection_id": SALESFORCE["id"], "configuration": {"token": SF_SECRET}}}),
    ],
)
def test_a_definition_answered_without_data_is_never_quoted_into_the_task_log(
    endpoint: str,
    answer: dict[str, Any],
    definitions: PolytomicEmulator,
    run: Callable[..., Run],
    lineage_events: Callable[[], list[dict[str, Any]]],
) -> None:
    """The task's "Could not read the definition" warning quoted the first 200 bytes of such an answer."""
    sync = users_to_salesforce(definitions)
    item_id = {"connections": POSTGRES["id"], "models": USERS_MODEL["id"], "syncs": sync.id}[endpoint]
    definitions.add_fault("body", path=f"/api/{endpoint}/{item_id}", body=answer)
    result = run("lineage_model_poke", sync)
    assert result.task_state == "success"
    assert definition_requests(definitions).count(f"/api/{endpoint}/{item_id}") == 1  # read, failed, warned
    for secret in SECRETS:
        assert secret not in result.log
    assert "Could not read the definition" in result.log and "not quoted" in result.log
    assert final_event(lineage_events())["eventType"] == "COMPLETE"


# -- names, costs and failures (every line, with or without OpenLineage) -------------------------------------


def test_the_summary_and_the_poll_line_name_the_sync(definitions: PolytomicEmulator, run: Callable[..., Run]) -> None:
    sync = users_to_salesforce(definitions, RUNNING, COMPLETED)
    result = run("lineage_model_poke", sync)
    assert result.task_state == "success"
    assert result.summary["sync_name"] == "Users to Salesforce"
    assert list(result.summary)[:3] == ["sync_id", "sync_name", "execution_id"]
    assert f"Polytomic sync 'Users to Salesforce' ({sync.id}) execution {sync.executions[0].id}: running" in result.log


@pytest.mark.parametrize("dag_id", ["lineage_model_poke", "lineage_model_reschedule", "lineage_model_deferrable"])
def test_every_poll_line_names_the_sync_the_same_way(
    dag_id: str, definitions: PolytomicEmulator, run: Callable[..., Run]
) -> None:
    """The first line too: the check before a deferral, the trigger's lines, every reschedule poke."""
    if dag_id == "lineage_model_reschedule" and not TASK_STATE_STORE:
        pytest.skip("before Airflow 3.3 a reschedule poke cannot keep the name: only the concluding poke has it")
    sync = users_to_salesforce(definitions, RUNNING, COMPLETED)
    result = run(dag_id, sync)
    assert result.task_state == "success"
    named = f"Polytomic sync 'Users to Salesforce' ({sync.id})"
    lines = [line for line in result.log.splitlines() if sync.id in line and "Polytomic sync" in line]
    assert any(": running (" in line for line in lines), lines  # it did poll while the sync ran
    unnamed = [line for line in lines if named not in line]
    assert unnamed == [], unnamed


def test_a_failure_message_names_the_sync(definitions: PolytomicEmulator, run: Callable[..., Run]) -> None:
    sync = users_to_salesforce(definitions, {"status": "failed", "errors": ["Salesforce: INVALID_FIELD Email__c"]})
    result = run("lineage_model_deferrable", sync)
    assert result.task_state == "failed"
    assert f"Polytomic sync 'Users to Salesforce' ({sync.id}) execution {sync.executions[0].id} ended" in result.log


@pytest.mark.parametrize("status", [500, 404, 403])
def test_a_definition_request_that_fails_leaves_the_outcome_unchanged(
    status: int, definitions: PolytomicEmulator, run: Callable[..., Run]
) -> None:
    passing = users_to_salesforce(definitions)
    failing = users_to_salesforce(definitions, {"status": "failed", "errors": ["boom"]})
    for sync in (passing, failing):
        definitions.add_fault("status", path=f"/api/syncs/{sync.id}", status=status)
    ok = run("lineage_model_poke", passing)
    assert (ok.state, ok.task_state) == ("success", "success")
    assert ok.summary["sync_name"] is None
    # One warning, and no definition request after the first failed one (counted from the request log: how
    # many times a line shows in the captured log differs by Airflow line, 3.0's dag.test() prints each twice).
    assert "Could not read the definition of Polytomic sync" in ok.log
    attempts = 1 + RetryPolicy().max_retries if status == 500 else 1  # one read: a 5xx is retried within it
    assert len(definitions.requests_to(rf"/api/syncs/{passing.id}")) == attempts
    assert "the task's outcome is unchanged" in ok.log
    bad = run("lineage_model_poke", failing)
    assert bad.task_state == "failed"
    assert f"Polytomic sync {failing.id} execution {failing.executions[0].id} ended with status 'failed'" in bad.log


@pytest.mark.parametrize(
    ("dag_id", "expected"),
    [
        ("lineage_model_poke", 1),
        ("lineage_model_reschedule", 1),
        ("lineage_model_deferrable", 1),
        ("lineage_model_start", 1),
        ("lineage_bulk_poke", 1),
        ("lineage_bulk_start", 1),
    ],
)
def test_the_definition_is_read_once_per_try_whatever_the_mode(
    dag_id: str, expected: int, definitions: PolytomicEmulator, run: Callable[..., Run], no_lineage: None
) -> None:
    """A sync that runs for several polls: reschedule pokes and the deferral add no definition request (the
    deferral carries the name to the trigger and back; reschedule pokes keep it in the task state store)."""
    if "bulk" in dag_id:
        sync = bulk_salesforce_to_snowflake(definitions, [{"schema": "Account", "output_name": "account"}])
    else:
        sync = users_to_salesforce(definitions, RUNNING, COMPLETED)
    kind = "bulk/" if "bulk" in dag_id else ""
    result = run(dag_id, sync)
    assert result.task_state == "success"
    assert result.summary["sync_name"] == sync.name
    reads = [path for path in definition_requests(definitions) if path == f"/api/{kind}syncs/{sync.id}"]
    assert len(reads) == expected
    status_reads = definitions.requests_to(f"/api/{kind}syncs/{sync.id}/.*")
    assert len(status_reads) >= 2  # it did wait: more than one poll


@needs_openlineage
@pytest.mark.parametrize(
    ("dag_id", "bulk", "expected"),
    [
        # sync definition, one model, two connections; a wait that leaves the worker (a deferral, reschedule
        # pokes that keep the name in the task state store) read the sync's definition once more, at its start,
        # to name the sync in every line
        ("lineage_model_poke", False, 4),
        ("lineage_model_reschedule", False, 5 if TASK_STATE_STORE else 4),
        ("lineage_model_deferrable", False, 5),
        ("lineage_model_start", False, 4),
        # bulk sync definition, two connections
        ("lineage_bulk_poke", True, 3),
        ("lineage_bulk_deferrable", True, 4),
        ("lineage_bulk_start", True, 3),
    ],
)
def test_lineage_costs_a_handful_of_requests_per_task(
    dag_id: str,
    bulk: bool,
    expected: int,
    definitions: PolytomicEmulator,
    run: Callable[..., Run],
    lineage_events: Callable[[], list[dict[str, Any]]],
) -> None:
    if bulk:
        sync = bulk_salesforce_to_snowflake(definitions, [{"schema": "Account", "output_name": "account"}])
    else:
        sync = users_to_salesforce(definitions, RUNNING, COMPLETED)
    assert run(dag_id, sync).task_state == "success"
    assert final_event(lineage_events())["eventType"] == "COMPLETE"
    assert len(definition_requests(definitions)) == expected, definition_requests(definitions)
