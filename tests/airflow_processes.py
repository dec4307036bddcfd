"""A real Airflow 3 deployment for end-to-end tests: api-server, scheduler, dag-processor and triggerer as
processes, ``example_dags`` as the DAGs folder, ``polytomic_default`` pointing at the emulator."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from airflow_provider_polytomic.testing import PolytomicEmulator
from tests.conftest import API_KEY

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def query(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db, timeout=10) as connection:
        return connection.execute(sql, args).fetchall()


@contextmanager
def running_airflow(
    tmp_path: Path, emulator: PolytomicEmulator, extra_env: Mapping[str, str] | None = None
) -> Iterator[tuple[dict[str, str], Path]]:
    """Start the processes (small: LocalExecutor, parallelism 2); yields the environment and the log folder."""
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
        "POLYTOMIC_EXAMPLE_POKE_INTERVAL": "1",
        "AIRFLOW_CONN_POLYTOMIC_DEFAULT": json.dumps(
            {"conn_type": "polytomic", "host": emulator.url, "password": API_KEY, "extra": {"timeout": 5}}
        ),
        **(extra_env or {}),
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    processes = []
    for command in ("api-server", "scheduler", "dag-processor", "triggerer"):
        log = (tmp_path / f"{command}.log").open("w")
        processes.append(
            subprocess.Popen([AIRFLOW, command], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )
    try:
        yield env, tmp_path
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
