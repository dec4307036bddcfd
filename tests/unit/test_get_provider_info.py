"""Provider discovery: the metadata validates against Airflow's schemas and Airflow's CLI shows us."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_polytomic import __version__
from airflow_provider_polytomic.get_provider_info import get_provider_info

AIRFLOW_DIR = Path(airflow.__file__).parent


def test_entry_point_is_registered() -> None:
    (entry,) = [
        item
        for item in entry_points(group="apache_airflow_provider")
        if item.value.startswith("airflow_provider_polytomic")
    ]
    assert entry.load() is get_provider_info


def test_provider_info_validates_against_airflows_schema() -> None:
    info = get_provider_info()
    schema = json.loads((AIRFLOW_DIR / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)
    assert info["package-name"] == "airflow-provider-polytomic"
    assert info["versions"] == [__version__]
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "polytomic"
    assert conn_type["hook-class-name"] == "airflow_provider_polytomic.hooks.polytomic.PolytomicHook"


def test_declarative_connection_form_validates_where_airflow_has_its_schema() -> None:
    path = AIRFLOW_DIR / "provider.yaml.schema.json"
    if not path.exists():
        pytest.skip("this Airflow (before 3.2) has no declarative connection form")
    schema = json.loads(path.read_text())
    item_schema = schema["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], item_schema)
    fields = get_provider_info()["connection-types"][0]
    assert fields["ui-field-behaviour"]["relabeling"] == {
        "password": "API key",
        "login": "Organization ID (deployment keys only)",
        "host": "Base URL",
    }
    assert {"api_version", "timeout", "max_retries", "verify"} <= set(fields["conn-fields"])


def test_hook_form_for_airflow_2() -> None:
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook

    behaviour = PolytomicHook.get_ui_field_behaviour()
    assert behaviour["relabeling"]["password"] == "API key"
    assert "schema" in behaviour["hidden_fields"] and "password" not in behaviour["hidden_fields"]
    try:
        widgets = PolytomicHook.get_connection_form_widgets()
    except ImportError:
        pytest.skip("no Flask-AppBuilder in this Airflow")
    assert set(widgets) >= {"api_version", "timeout", "max_retries", "verify"}


def _airflow_cli(*args: str) -> str:
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=env, timeout=240, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Airflow may log lines to stdout before the JSON document (Airflow 3.0's start with "[" too).
    return next(line for line in result.stdout.splitlines() if _is_json_list(line))


def _is_json_list(line: str) -> bool:
    try:
        return isinstance(json.loads(line), list)
    except ValueError:
        return False


def test_airflow_providers_list_and_hooks_show_the_provider() -> None:
    listed = _airflow_cli("providers", "list", "--output", "json")
    packages = {item["package_name"]: item for item in json.loads(listed)}
    assert packages["airflow-provider-polytomic"]["version"] == __version__
    hooks = json.loads(_airflow_cli("providers", "hooks", "--output", "json"))
    ours = [item for item in hooks if item.get("connection_type") == "polytomic"]
    assert ours and ours[0]["class"] == "airflow_provider_polytomic.hooks.polytomic.PolytomicHook"
