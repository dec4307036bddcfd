"""Offline testing for Polytomic DAGs: a local emulator of the Polytomic API.

``PolytomicEmulator`` is a real HTTP server on 127.0.0.1 with scripted syncs and injected faults; the
scenario format is the JSON Schema ``scenario.schema.json`` in this package; see also
``python -m airflow_provider_polytomic.testing --help``.
For pytest, ``pytest_plugins = ["airflow_provider_polytomic.testing.pytest_plugin"]`` in your root
``conftest.py`` gives the ``polytomic_emulator`` and ``polytomic_connection`` fixtures (not imported here, so
this package does not need pytest).
"""

from airflow_provider_polytomic.testing.emulator import PolytomicEmulator
from airflow_provider_polytomic.testing.faults import Fault
from airflow_provider_polytomic.testing.http_server import RecordedRequest
from airflow_provider_polytomic.testing.scenario import ScenarioError
from airflow_provider_polytomic.testing.script import EmulatedExecution, EmulatedSync, Step

__all__ = [
    "EmulatedExecution",
    "EmulatedSync",
    "Fault",
    "PolytomicEmulator",
    "RecordedRequest",
    "ScenarioError",
    "Step",
]
