"""pytest fixtures for testing DAGs against the Polytomic emulator, Airflow set-up included.

Enable them in your root ``conftest.py``::

    pytest_plugins = ["airflow_provider_polytomic.testing.pytest_plugin"]

When pytest loads this plugin — before any test module imports Airflow — it prepares Airflow for
``dag.test()``: unless already set in the environment, ``AIRFLOW_HOME`` becomes a fresh temporary directory
(so its SQLite metadata database is a throwaway one), the DAGs folder becomes the ``dags`` directory next to
pytest's rootdir (the ini option ``airflow_dags_folder`` changes it), and Airflow's example DAGs are off.

Fixtures:

- ``polytomic_emulator``: a running :class:`PolytomicEmulator`, stopped after the test; script it with
  ``add_sync`` and ``add_fault``.
- ``polytomic_connection``: the id of an Airflow connection, ``polytomic_default``, pointing at it.
- ``airflow_db``: the metadata database, migrated once per session.
- ``airflow_dag``: ``airflow_dag("my_dag_id")`` is that DAG from the DAGs folder, ready for ``.test()``.

Only pytest imports this module.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_polytomic.testing.emulator import PolytomicEmulator

__all__ = ["airflow_dag", "airflow_db", "polytomic_connection", "polytomic_emulator"]

DAGS_FOLDER_OPTION = "airflow_dags_folder"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        DAGS_FOLDER_OPTION,
        "The Airflow DAGs folder for dag.test(), relative to the rootdir (default: dags). "
        "AIRFLOW__CORE__DAGS_FOLDER, when set, wins.",
        default="dags",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Point Airflow at a throwaway home and the project's DAGs folder, before anything imports Airflow."""
    wanted = {
        "AIRFLOW__CORE__DAGS_FOLDER": str((config.rootpath / str(config.getini(DAGS_FOLDER_OPTION))).resolve()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    if "AIRFLOW_HOME" not in os.environ:
        wanted["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
        wanted["AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS"] = "False"  # a throwaway database needs none
    changed = [name for name in wanted if name not in os.environ]
    for name in changed:
        os.environ[name] = wanted[name]
    if "airflow" in sys.modules and changed:
        warnings.warn(
            f"Airflow was imported before the Polytomic pytest plugin could set {', '.join(changed)}; list the "
            'plugin in your root conftest.py (pytest_plugins = ["airflow_provider_polytomic.testing.pytest_plugin"]) '
            "and import Airflow only in tests and fixtures.",
            stacklevel=1,
        )


@pytest.fixture
def polytomic_emulator() -> Iterator[PolytomicEmulator]:
    """A Polytomic API emulator serving on 127.0.0.1 for this test."""
    with PolytomicEmulator() as emulator:
        yield emulator


@pytest.fixture
def polytomic_connection(monkeypatch: pytest.MonkeyPatch, polytomic_emulator: PolytomicEmulator) -> str:
    """``polytomic_default``, set via ``AIRFLOW_CONN_POLYTOMIC_DEFAULT`` for this test (2 s timeout, quick retries)."""
    document = json.loads(polytomic_emulator.connection_uri())
    document["extra"] = {"timeout": 2, "retry_delay": 0.01}
    monkeypatch.setenv("AIRFLOW_CONN_POLYTOMIC_DEFAULT", json.dumps(document))
    return "polytomic_default"


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata database, created or migrated once per test session (what ``dag.test()`` writes to)."""
    from airflow.utils.db import initdb

    initdb()


@pytest.fixture(scope="session")
def airflow_dag(airflow_db: None) -> Callable[[str], Any]:
    """``airflow_dag(dag_id)``: the DAG of that id from the DAGs folder (parsed once per session)."""
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.1+
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    bag = DagBag(dag_folder=str(folder))

    def get(dag_id: str) -> Any:
        if dag_id in bag.dags:
            return bag.dags[dag_id]
        errors = "".join(f"\n{path}: {error}" for path, error in bag.import_errors.items())
        raise LookupError(
            f"No DAG {dag_id!r} in the DAGs folder {folder} (found: {', '.join(sorted(bag.dag_ids)) or 'none'})."
            + (f" Import errors:{errors}" if errors else "")
        )

    return get
