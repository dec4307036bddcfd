"""A DAG file that imports the sensor or the operators loads only the light part of the provider.

The DAG processor imports every DAG file again and again; the transports (requests, aiohttp) and the rest of
the core (dateutil, tenacity) load when a task runs. Checked in a fresh interpreter, on top of Airflow.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import airflow
from airflow.providers.common.compat.sdk import BaseSensorOperator  # what any DAG file has loaded already
before = set(sys.modules)
import airflow_provider_polytomic.sensors.polytomic
import airflow_provider_polytomic.operators.polytomic
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_importing_the_sensor_and_operators_loads_no_transport() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    # The core package itself (empty) may be loaded already: provider discovery reads the connection form,
    # whose defaults are core/defaults.py (data only).
    ours = {name for name in loaded if name.startswith("airflow_provider_polytomic.")} - {
        "airflow_provider_polytomic.core"
    }
    assert ours == {
        "airflow_provider_polytomic.core.bounds",
        "airflow_provider_polytomic.core.constants",
        "airflow_provider_polytomic.core.errors",
        "airflow_provider_polytomic.links",
        "airflow_provider_polytomic.links.polytomic",
        "airflow_provider_polytomic.operators",
        "airflow_provider_polytomic.operators.polytomic",
        "airflow_provider_polytomic.operators.start_operator",
        "airflow_provider_polytomic.sensors",
        "airflow_provider_polytomic.sensors.polytomic",
        # What the sensors and start operators share besides their wait (the wait itself loads when a task runs).
        "airflow_provider_polytomic.polytomic_task",
        # sync_name= (own_xcom, for the start operators): light (the core's errors only, loaded already).
        "airflow_provider_polytomic.sync_reference",
    }
    heavy = {"requests", "aiohttp", "dateutil", "tenacity"}
    assert not heavy & {name.split(".")[0] for name in loaded}
