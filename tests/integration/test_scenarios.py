"""The scenario files shipped beside the example DAGs (``example_dags/scenarios/``) stay true: each loads, says
what it shows, serves the syncs its DAG waits on or starts (with the right kind), the demo's table matches the
DAGs, and ``every_feature.json`` uses every key and every fault kind of the format, so a new feature without
an example fails here. ``scripts/demo all`` (in ``.ci/run``) runs the DAGs against them."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS

from airflow_provider_polytomic.testing import PolytomicEmulator
from airflow_provider_polytomic.testing.scenario import schema
from tests.integration.test_example_dags import ASSET_WATCHER_DAG, EXPECTED, _dagbag

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "example_dags" / "scenarios"
_PARAM = re.compile(r"\{\{\s*params\.(\w+)\s*\}\}")


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCENARIOS / name).read_text(encoding="utf-8"))
    return loaded


def demo_module() -> Any:
    spec = importlib.util.spec_from_file_location("polytomic_demo", ROOT / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("polytomic_demo", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(path.name for path in SCENARIOS.glob("*.json")))
def test_every_scenario_file_loads_and_says_what_it_shows(name: str) -> None:
    scenario = load(name)
    assert len(scenario.get("description", "")) > 40, f"{name} does not say what it shows"
    with PolytomicEmulator(scenario) as emulator:
        assert emulator.describe()


def _syncs_the_dag_uses(dag: Any) -> dict[str, str]:
    """sync id -> kind, for every Polytomic task of the DAG, with its params' defaults."""
    used = {}
    for task in dag.tasks:
        if not task.task_type.startswith("Polytomic"):
            continue
        param = _PARAM.fullmatch(task.sync_id)
        sync_id = dag.params[param.group(1)] if param else task.sync_id
        used[sync_id] = task.sync_kind.value
    return used


def test_each_example_dag_has_a_scenario_that_serves_its_syncs() -> None:
    dags = _dagbag().dags
    for dag_id in sorted(EXPECTED | ({ASSET_WATCHER_DAG} if AIRFLOW_V_3_0_PLUS else set())):
        served = {sync["id"]: sync.get("kind", "model") for sync in load(f"{dag_id}.json")["syncs"]}
        if dag_id == ASSET_WATCHER_DAG:
            (asset,) = dags[dag_id].timetable.asset_condition.objects
            used = {watcher.trigger.sync_id: "model" for watcher in asset.watchers}
        else:
            used = _syncs_the_dag_uses(dags[dag_id])
        assert used and used.items() <= served.items(), f"{dag_id}: uses {used}, its scenario serves {served}"


def test_the_demo_runs_every_example_dag_that_airflow_dags_test_can_run() -> None:
    """``airflow dags test`` cannot run the asset-watched DAG (it needs a scheduler and a triggerer)."""
    demos = demo_module().DEMOS
    assert set(demos) == EXPECTED
    dags = _dagbag().dags
    for dag_id, demo in demos.items():
        assert set(demo.expected) == set(dags[dag_id].task_ids), dag_id
        assert (SCENARIOS / f"{dag_id}.json").is_file()


def _schema_keys(rule: dict[str, Any], where: str = "") -> Iterator[str]:
    """Every key of the format, named from the definition it belongs to (``step.counts.upserts``), so a key
    of a definition used in two places (a step of ``executions`` and of ``run_steps``) need be shown once."""
    for key, item in rule.get("properties", {}).items():
        yield f"{where}{key}"
        inner, name = _inner(item)
        if name is None or name not in where.split("."):  # a definition is listed once
            yield from _schema_keys(inner, f"{name or where + key}.")


def _inner(rule: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """What a key holds (an array's items), and the name of its definition when it is one."""
    inner = rule.get("items", rule) if "items" in rule else rule
    if "$ref" in inner:
        name = inner["$ref"].rsplit("/", 1)[-1]
        resolved: dict[str, Any] = schema()["$defs"][name]
        return resolved, name
    return inner, None


def _used_keys(value: Any, rule: dict[str, Any], where: str = "") -> Iterator[str]:
    """The keys a document uses, named as :func:`_schema_keys` names them (lists flattened)."""
    if isinstance(value, list):
        for item in value:
            yield from _used_keys(item, rule, where)
    elif isinstance(value, dict) and "properties" in rule:
        for key, item in value.items():
            yield f"{where}{key}"
            inner, name = _inner(rule["properties"].get(key, {}))
            yield from _used_keys(item, inner, f"{name or where + key}.")


def test_every_feature_uses_every_key_and_every_fault_kind() -> None:
    scenario = load("every_feature.json")
    missing = set(_schema_keys(schema())) - set(_used_keys(scenario, schema()))
    assert missing == set(), f"every_feature.json does not show {sorted(missing)}"
    kinds = set(schema()["$defs"]["fault"]["properties"]["kind"]["enum"])
    assert {fault["kind"] for fault in scenario["faults"]} == kinds


def test_the_every_feature_scenario_serves_a_hook_through_its_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment key, a 503 then a 429 that the hook retries through, and the definitions for names."""
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook

    scenario = load("every_feature.json")
    (organization, key), *_ = scenario["deployment_keys"].items()
    with PolytomicEmulator(scenario) as emulator:
        document = {
            "conn_type": "polytomic",
            "host": emulator.url,
            "login": organization,
            "password": key,
            "extra": {"timeout": 5, "retry_delay": 0.01},
        }
        monkeypatch.setenv("AIRFLOW_CONN_EVERY_FEATURE", json.dumps(document))
        hook = PolytomicHook(polytomic_conn_id="every_feature")
        sync_id = "248df4b7-aa70-47b8-a036-33ac447e668d"
        status = hook.get_sync_status(sync_id)
        assert [request.status for request in emulator.requests_to(f"/api/syncs/{sync_id}/status")] == [503, 429, 200]
        assert status.current_execution is not None and status.current_execution.status == "queued"
        assert hook.get_sync_definition(sync_id).name == "Users to Salesforce"
        ok, message = hook.test_connection()
        assert ok and "Every Feature Inc." in message, message
