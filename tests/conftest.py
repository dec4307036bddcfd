from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

# Before Airflow is imported (scripts/test sets AIRFLOW_HOME to a temporary directory; a bare pytest gets one here).
if "AIRFLOW_HOME" not in os.environ:
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
# dag.test() on Airflow 3 runs only DAGs from a bundle, i.e. the DAGs folder.
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parent / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_polytomic.testing import PolytomicEmulator

#: Long, unusual, and easy to search for in captured output: it must never appear there.
API_KEY = "pk_live_SECRET_4f9c2e71b0a84d6f9e3a"
ORG_ID = "8d5b2f1e-6c3a-4e9b-a7d0-1f2e3d4c5b6a"
DEPLOYMENT_KEY = "dk_SECRET_deployment_77aa"


@pytest.fixture
def emulator() -> Iterator[PolytomicEmulator]:
    scenario = {
        "api_keys": [API_KEY],
        "deployment_keys": {ORG_ID: DEPLOYMENT_KEY},
        "organization": {"id": ORG_ID, "name": "Acme Data"},
    }
    with PolytomicEmulator(scenario) as server:
        yield server


@pytest.fixture
def make_connection(monkeypatch: pytest.MonkeyPatch, emulator: PolytomicEmulator) -> Callable[..., str]:
    """Define an Airflow connection through the environment, as users do; returns its id."""

    def make(
        conn_id: str = "polytomic_test",
        *,
        password: str | None = API_KEY,
        login: str | None = None,
        host: str | None = None,
        **extra: Any,
    ) -> str:
        document: dict[str, Any] = {"conn_type": "polytomic", "host": host or emulator.url}
        if password is not None:
            document["password"] = password
        if login is not None:
            document["login"] = login
        document["extra"] = {"timeout": 2, "retry_delay": 0.01, **extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(document))
        return conn_id

    return make


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A fresh Airflow metadata database (SQLite in the test's AIRFLOW_HOME), once per session."""
    from airflow.utils.db import resetdb

    resetdb()


@pytest.fixture(scope="session")
def dagbag(airflow_db: None) -> Any:
    """The test DAGs in ``tests/dags``, loaded once."""
    from tests.dag_runs import load_dagbag

    return load_dagbag()


@pytest.fixture
def run_test_dag(dagbag: Any, make_connection: Callable[..., str], logs: Callable[[], str]) -> Callable[..., Any]:
    """``run_test_dag(dag_id, conf, task_id)``: one ``dag.test()`` run with ``polytomic_default`` on the emulator."""
    from tests.dag_runs import run_dag

    make_connection("polytomic_default")

    def run(dag_id: str, conf: dict[str, Any], task_id: str) -> Any:
        return run_dag(dagbag.dags[dag_id], conf, task_id, logs)

    return run


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """Everything logged so far: Airflow 2 logs through ``logging``, Airflow 3 through structlog to stdout."""
    import logging

    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def text() -> str:
        captured = capsys.readouterr()
        seen.extend([captured.out, captured.err])
        return caplog.text + "".join(seen)

    return text
