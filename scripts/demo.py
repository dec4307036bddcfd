"""The one-command demo: the example DAG against the local Polytomic emulator, with ``airflow dags test``.

Run it as ``scripts/demo`` (which builds the virtualenv first). The emulator serves two syncs: the orders sync
runs for a few polls and completes; the CRM sync fails with record errors. The demo runs
``example_polytomic_sync_gate`` and checks that the orders mart was built and the CRM side was blocked.
Exit code 0 when the run went as designed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airflow_provider_polytomic.testing import PolytomicEmulator
from airflow_provider_polytomic.testing.documents import execution_document

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".demo"
DAG_ID = "example_polytomic_sync_gate"
ORDERS_SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"
CRM_SYNC = "8b4c0a6e-3f2d-4c1b-9e7a-5d6f1a2b3c4d"
API_KEY = "demo_SECRET_api_key_0b7e"

SCENARIO: dict[str, Any] = {
    "api_keys": [API_KEY],
    "organization": {"name": "Demo Organization"},
    "syncs": [
        {
            "id": ORDERS_SYNC,
            "name": "Postgres orders → Snowflake",
            "executions": [
                {
                    "type": "schedule",
                    "steps": [
                        {"status": "queued", "polls": 1},
                        {"status": "running", "polls": 3, "counts": {"insert": 4_200, "total": 4_200}},
                        {
                            "status": "completed",
                            "counts": {"insert": 9_800, "update": 310, "error": 0, "total": 10_110},
                        },
                    ],
                }
            ],
        },
        {
            "id": CRM_SYNC,
            "name": "Salesforce accounts → Snowflake",
            "executions": [
                {
                    "type": "schedule",
                    "steps": [
                        {"status": "running", "polls": 2, "counts": {"update": 120, "total": 120}},
                        {
                            "status": "failed",
                            "counts": {"update": 180, "error": 2, "total": 182},
                            "errors": ["Snowflake: permission denied for table ACCOUNTS", "2 records rejected"],
                        },
                    ],
                }
            ],
        },
    ],
}

#: task id → the state the demo is designed to end in.
EXPECTED = {
    "wait_for_orders_sync": "success",
    "build_orders_mart": "success",
    "wait_for_crm_sync": "failed",
    "build_account_health": "upstream_failed",
    "publish_dashboards": "upstream_failed",
}
SENSORS = {"wait_for_orders_sync": (ORDERS_SYNC, "poke"), "wait_for_crm_sync": (CRM_SYNC, "reschedule")}


def airflow(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if log is not None:
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
    return result


def task_states(env: dict[str, str]) -> dict[str, str]:
    """The task states of the DAG's newest run, read from Airflow's database (cheaper than two more CLI calls)."""
    os.environ.update(env)  # AIRFLOW_HOME must be set before Airflow is imported
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == DAG_ID).all()
        newest = max(runs, key=lambda run: int(run.id or 0))
        return {
            ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in newest.get_task_instances(session=session)
        }


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    started = time.monotonic()
    with PolytomicEmulator(SCENARIO) as emulator:
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(WORK / "airflow_home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "POLYTOMIC_EXAMPLE_POKE_INTERVAL": "1",
            "AIRFLOW_CONN_POLYTOMIC_DEFAULT": json.dumps(
                {"conn_type": "polytomic", "host": emulator.url, "password": API_KEY, "extra": {"timeout": 5}}
            ),
        }
        print(f"Polytomic emulator on {emulator.url}; Airflow home {WORK.relative_to(ROOT)}/airflow_home")
        migrate = airflow(env, "db", "migrate", log=WORK / "db-migrate.log")
        if migrate.returncode != 0:
            print(f"airflow db migrate failed; see {WORK.relative_to(ROOT)}/db-migrate.log")
            return 1
        conf = json.dumps({"orders_sync_id": ORDERS_SYNC, "crm_sync_id": CRM_SYNC})
        print(f"airflow dags test {DAG_ID} (poke interval 1 s) ...", flush=True)
        run = airflow(env, "dags", "test", DAG_ID, "-c", conf, log=WORK / "dags-test.log")
        states = task_states(env)
        output = (WORK / "dags-test.log").read_text(encoding="utf-8")

        elapsed = time.monotonic() - started
        print(f"\nDAG {DAG_ID}: `airflow dags test` exited {run.returncode} after {elapsed:.0f} s", end="")
        print(" (the DAG run failed: the CRM sync failed, as designed)" if run.returncode else "")
        for task_id, (sync_id, mode) in SENSORS.items():
            sync = emulator.syncs[sync_id]
            polls = len(emulator.requests_to(rf"/api/syncs/{sync_id}(/.*)?"))
            execution = execution_document(sync, sync.executions[-1])
            counts = ", ".join(f"{key} {value:,}" for key, value in (execution.get("counts") or {}).items())
            print(
                f"  {task_id:<22} {states.get(task_id, '?'):<16} waited ({mode} mode) on '{sync.name}': {polls} polls,"
            )
            print(f"  {'':<22} {'':<16} execution ended {execution['status']} ({counts})")
            for error in execution.get("errors") or []:
                print(f"  {'':<22} {'':<16} Polytomic error: {error}")
        for task_id in EXPECTED:
            if task_id not in SENSORS:
                verdict = "ran" if states.get(task_id) == "success" else "blocked"
                print(f"  {task_id:<22} {states.get(task_id, '?'):<16} {verdict}")

        leaked = API_KEY in output or any(API_KEY in str(request) for request in emulator.requests)
        as_designed = {task_id: states.get(task_id) for task_id in EXPECTED} == EXPECTED and not leaked
        print(f"\nAPI key in the output or the request log: {'YES' if leaked else 'no'}")
        print(f"Full log: {WORK.relative_to(ROOT)}/dags-test.log")
        if as_designed:
            print("Demo behaved as designed: the orders mart was built; the failed CRM sync blocked what needs it.")
            return 0
        print(f"Demo did NOT behave as designed: expected {EXPECTED}, got {states}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
