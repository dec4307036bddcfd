"""The one-command demo: an example DAG against the local Polytomic emulator, with ``airflow dags test``.

Run it as ``scripts/demo`` (which builds the virtualenv first). The emulator serves the DAG's scenario file,
``example_dags/scenarios/<dag id>.json``. By default it runs ``example_polytomic_sync_gate``: the orders sync
runs for a few polls and completes, the CRM sync fails with record errors, and the demo checks that the orders
mart was built and the CRM side was blocked. ``scripts/demo all`` also runs the deferrable and the start-sync
examples; ``scripts/demo <dag id>`` runs one. Exit code 0 when every run went as designed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow_provider_polytomic.testing import PolytomicEmulator
from airflow_provider_polytomic.testing.documents import execution_document

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".demo"
SCENARIOS = ROOT / "example_dags" / "scenarios"
#: A key that looks like a secret: the demo checks it appears in no log and no recorded request.
API_KEY = "demo_SECRET_api_key_0b7e"


@dataclass(frozen=True)
class Demo:
    dag_id: str
    #: task id -> the state the run is designed to end in.
    expected: dict[str, str]
    #: What "as designed" means, in one sentence.
    designed: str
    #: Whether the DAG run itself fails by design.
    fails: bool = False
    conf: dict[str, Any] = field(default_factory=dict)


DEMOS = {
    demo.dag_id: demo
    for demo in (
        Demo(
            "example_polytomic_sync_gate",
            {
                "wait_for_orders_sync": "success",
                "build_orders_mart": "success",
                "wait_for_crm_sync": "failed",
                "build_account_health": "upstream_failed",
                "publish_dashboards": "upstream_failed",
            },
            "the orders mart was built; the failed CRM sync blocked what needs it.",
            fails=True,
        ),
        Demo(
            "example_polytomic_deferrable",
            {"wait_for_sync": "success", "load_reports": "success"},
            "the deferred sensor skipped yesterday's run and followed today's to its end.",
            # Manual runs have no data interval to go by: only runs created after the demo started count.
            conf={"completed_after": "{started}"},
        ),
        Demo(
            "example_polytomic_start_sync",
            {
                "load_postgres": "success",
                "refresh_orders": "success",
                "start_crm_sync": "success",
                "wait_for_crm_sync": "success",
                "build_customer_360": "success",
            },
            "each sync was started once and completed, and the customer 360 was built.",
        ),
    )
}
DEFAULT = "example_polytomic_sync_gate"


def scenario(dag_id: str) -> dict[str, Any]:
    """The DAG's scenario file, with the demo's secret-looking key as the only key accepted."""
    loaded: dict[str, Any] = json.loads((SCENARIOS / f"{dag_id}.json").read_text(encoding="utf-8"))
    return {**loaded, "api_keys": [API_KEY]}


def airflow(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if log is not None:
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
    return result


def task_states(env: dict[str, str], dag_id: str) -> dict[str, str]:
    """The task states of the DAG's newest run, read from Airflow's database (cheaper than two more CLI calls)."""
    os.environ.update(env)  # AIRFLOW_HOME must be set before Airflow is imported
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == dag_id).all()
        if not runs:
            return {}
        newest = max(runs, key=lambda run: int(run.id or 0))
        return {
            ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in newest.get_task_instances(session=session)
        }


def base_env() -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(WORK / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "POLYTOMIC_EXAMPLE_POKE_INTERVAL": "1",
    }


def run(demo: Demo, env: dict[str, str]) -> bool:
    """Serve the DAG's scenario, run the DAG, print what happened; True when it went as designed."""
    started = time.monotonic()
    since = datetime.now(timezone.utc).isoformat()
    log = WORK / f"{demo.dag_id}.log"
    with PolytomicEmulator(scenario(demo.dag_id)) as emulator:
        connection = {"conn_type": "polytomic", "host": emulator.url, "password": API_KEY, "extra": {"timeout": 5}}
        env = {**env, "AIRFLOW_CONN_POLYTOMIC_DEFAULT": json.dumps(connection)}
        conf = json.dumps({name: value.format(started=since) for name, value in demo.conf.items()})
        print(f"\nairflow dags test {demo.dag_id} (scenario example_dags/scenarios/{demo.dag_id}.json) ...", flush=True)
        result = airflow(env, "dags", "test", demo.dag_id, "-c", conf, log=log)
        states = task_states(env, demo.dag_id)
        output = log.read_text(encoding="utf-8")
        elapsed = time.monotonic() - started
        print(f"DAG {demo.dag_id}: `airflow dags test` exited {result.returncode} after {elapsed:.0f} s", end="")
        print(" (the DAG run failed, as designed)" if result.returncode and demo.fails else "")
        for sync in emulator.syncs.values():
            reads = len(emulator.requests_to(rf"/api/(bulk/)?syncs/{sync.id}(/.*)?", "GET"))
            starts = len(emulator.requests_to(rf"/api/(bulk/)?syncs/{sync.id}/executions", "POST"))
            started_runs = f", {starts} start(s)" if starts else ""
            print(f"  {sync.kind} sync '{sync.name}': {reads} read(s){started_runs}")
            for execution in sync.visible():
                document = execution_document(sync, execution)
                counts = document.get("counts") or {"records": document.get("record_count")}
                shown = ", ".join(f"{key} {value:,}" for key, value in counts.items() if value is not None)
                print(f"    execution {execution.id[:8]} ended {document['status']} ({shown})")
                for error in document.get("errors") or []:
                    print(f"      Polytomic error: {error}")
        for task_id, expected in demo.expected.items():
            state = states.get(task_id, "?")
            mark = "" if state == expected else f"   <- expected {expected}"
            print(f"  task {task_id:<22} {state}{mark}")
        leaked = API_KEY in output or any(API_KEY in str(request) for request in emulator.requests)
    print(f"  API key in the output or the request log: {'YES' if leaked else 'no'}. Full log: {log.relative_to(ROOT)}")
    as_designed = {task_id: states.get(task_id) for task_id in demo.expected} == demo.expected and not leaked
    print(f"  {'As designed' if as_designed else 'NOT as designed'}: {demo.designed}")
    return as_designed


def main(argv: list[str]) -> int:
    chosen = argv or [DEFAULT]
    if chosen == ["all"]:
        chosen = list(DEMOS)
    unknown = [name for name in chosen if name not in DEMOS]
    if unknown:
        print(f"unknown demo {', '.join(unknown)}; one of: all, {', '.join(DEMOS)}", file=sys.stderr)
        return 2
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    env = base_env()
    print(f"Airflow home {WORK.relative_to(ROOT)}/airflow_home; the Polytomic emulator on 127.0.0.1 (a free port)")
    if airflow(env, "db", "migrate", log=WORK / "db-migrate.log").returncode != 0:
        print(f"airflow db migrate failed; see {WORK.relative_to(ROOT)}/db-migrate.log")
        return 1
    results = [run(DEMOS[name], env) for name in chosen]
    if all(results):
        print(f"\nDemo behaved as designed ({len(results)} DAG run(s)).")
        return 0
    print("\nDemo did NOT behave as designed; see the lines above and the logs in .demo/.")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
