"""Offline testing for Polytomic DAGs: a local emulator of the Polytomic API.

``PolytomicEmulator`` is a real HTTP server on 127.0.0.1 with scripted syncs and injected faults; the
scenario format is the JSON Schema ``scenario.schema.json`` in this package; see also
``python -m airflow_provider_polytomic.testing --help``.
For pytest, ``pytest_plugins = ["airflow_provider_polytomic.testing.pytest_plugin"]`` in your root
``conftest.py`` gives the ``polytomic_emulator`` and ``polytomic_connection`` fixtures (not imported here, so
this package does not need pytest).
"""

from airflow_provider_polytomic.testing.emulator import (
    EmulatedExecution,
    EmulatedSync,
    Fault,
    PolytomicEmulator,
    RecordedRequest,
    Step,
)
from airflow_provider_polytomic.testing.scenario import ScenarioError

__all__ = [
    "EmulatedExecution",
    "EmulatedSync",
    "Fault",
    "PolytomicEmulator",
    "RecordedRequest",
    "ScenarioError",
    "Step",
]
