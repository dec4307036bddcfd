"""pytest fixtures for testing DAGs against the Polytomic emulator.

Enable them in your root ``conftest.py``::

    pytest_plugins = ["airflow_provider_polytomic.testing.pytest_plugin"]

then ask for ``polytomic_emulator`` (a running :class:`PolytomicEmulator`, stopped after the test; script it
with ``add_sync`` and ``add_fault``) and ``polytomic_connection`` (the id of an Airflow connection,
``polytomic_default``, pointing at it). Only pytest imports this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from airflow_provider_polytomic.testing.emulator import PolytomicEmulator

__all__ = ["polytomic_connection", "polytomic_emulator"]


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
