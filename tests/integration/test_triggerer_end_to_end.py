"""End to end on Airflow 3: scheduler, dag-processor, triggerer and api-server as real processes.

``example_polytomic_deferrable`` is triggered; its sensor defers, the real triggerer process polls the emulator
(over aiohttp), the sensor resumes and the downstream task runs. Small on purpose: one DAG run, parallelism 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_polytomic.testing import PolytomicEmulator
from tests.airflow_processes import query, running_airflow
from tests.conftest import API_KEY

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "example_polytomic_deferrable"
DEADLINE = 240  # seconds for the whole run, start-up included

try:
    from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS
except ImportError:  # pragma: no cover
    AIRFLOW_V_3_0_PLUS = False

pytestmark = pytest.mark.skipif(
    not AIRFLOW_V_3_0_PLUS, reason="the Airflow 3 process model (api-server, dag-processor)"
)


@pytest.fixture
def airflow_processes(tmp_path: Path, emulator: PolytomicEmulator) -> Iterator[tuple[dict[str, str], Path]]:
    with running_airflow(tmp_path, emulator) as deployment:
        yield deployment


def test_the_real_triggerer_resumes_the_deferrable_sensor(
    airflow_processes: tuple[dict[str, str], Path], emulator: PolytomicEmulator
) -> None:
    env, logs_dir = airflow_processes
    db = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    airflow = str(Path(sys.executable).parent / "airflow")
    sync = emulator.add_sync(
        executions=[
            {
                "appear_after": 0,
                "steps": [
                    {"status": "running", "polls": 4, "counts": {"insert": 50, "total": 50}},
                    {"status": "completed", "counts": {"insert": 120, "error": 0, "total": 120}},
                ],
            }
        ]
    )
    started = time.monotonic()

    def wait_for(what: str, check: object) -> None:
        while time.monotonic() - started < DEADLINE:
            if check():  # type: ignore[operator]
                return
            time.sleep(1)
        tails = {path.name: path.read_text(errors="replace")[-3000:] for path in logs_dir.glob("*.log")}
        pytest.fail(f"gave up waiting for {what} after {DEADLINE} s; process logs:\n{json.dumps(tails, indent=1)}")

    wait_for("the DAG to be parsed", lambda: db.exists() and query(db, "select 1 from dag where dag_id=?", DAG_ID))
    subprocess.run([airflow, "dags", "unpause", DAG_ID], env=env, check=True, capture_output=True)
    subprocess.run(
        [airflow, "dags", "trigger", DAG_ID, "-c", json.dumps({"sync_id": sync.id})],
        env=env,
        check=True,
        capture_output=True,
    )
    wait_for(
        "the DAG run to finish",
        lambda: query(
            db,
            "select state from dag_run where dag_id=? and run_id like 'manual%' and state in ('success','failed')",
            DAG_ID,
        ),
    )
    # Unpausing also schedules today's run (with the DAG's placeholder sync id); only the triggered run counts.
    states = dict(
        query(db, "select task_id, state from task_instance where dag_id=? and run_id like 'manual%'", DAG_ID)
    )
    assert states == {"wait_for_sync": "success", "load_reports": "success"}, states
    # The waiting was done by the triggerer (aiohttp), not by a worker (requests).
    agents = [request.headers.get("User-Agent", "") for request in emulator.requests_to(rf"/api/syncs/{sync.id}/.*")]
    assert agents[0].endswith("(requests)"), agents  # the sensor's one synchronous check
    assert len(agents) >= 4 and all(agent.endswith("(aiohttp)") for agent in agents[1:]), agents
    for path in logs_dir.glob("*.log"):
        assert API_KEY not in path.read_text(errors="replace"), path.name
