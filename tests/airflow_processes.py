"""A real Airflow 3 deployment for end-to-end tests: api-server, scheduler, dag-processor and triggerer as
processes, ``example_dags`` (or another folder) as the DAGs folder, ``polytomic_default`` pointing at the
emulator.

``running_airflow`` starts the four usual processes and yields the environment and the log folder.
``airflow_deployment`` yields an :class:`AirflowDeployment`, which can also start more processes (a second
triggerer) while the test runs, and kill or restart one of them: the process-fault tests use it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from airflow_provider_polytomic.testing import PolytomicEmulator
from tests.conftest import API_KEY

try:
    from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS
except ImportError:  # pragma: no cover
    AIRFLOW_V_3_0_PLUS = False

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).parent / "airflow")
DEFAULT_PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")
#: The marks of a test module that starts these processes: e2e, and Airflow 3 only.
AIRFLOW_3_PROCESSES = [
    pytest.mark.e2e,
    pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the Airflow 3 process model (api-server, dag-processor)"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def query(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(sql, args).fetchall()


class AirflowDeployment:
    """Airflow processes sharing one ``AIRFLOW_HOME``; each is named, logs to ``<name>.log``, and runs in its own
    process group (so a kill takes its children, e.g. the triggerer's trigger runner, with it)."""

    def __init__(self, env: dict[str, str], logs_dir: Path) -> None:
        self.env = env
        self.logs_dir = logs_dir
        self.db = Path(env["AIRFLOW_HOME"]) / "airflow.db"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self, name: str, command: Sequence[str] | None = None, extra_env: Mapping[str, str] | None = None
    ) -> None:
        """Start ``airflow <command>`` (default: the name) as the process called ``name``."""
        log = (self.logs_dir / f"{name}.log").open("a")
        self.processes[name] = subprocess.Popen(
            [AIRFLOW, *(command or [name])],
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the whole process group of ``name`` and reap it (SIGKILL: nothing runs on)."""
        process = self.processes.pop(name)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self, name: str, timeout: float = 30) -> None:
        """A graceful stop: SIGTERM to the main process only (it shuts its children down), SIGKILL if it hangs."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
        process.wait()

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        return query(self.db, sql, *args)

    def airflow(self, *args: str) -> None:
        subprocess.run([AIRFLOW, *args], env=self.env, check=True, capture_output=True)

    def wait_for(self, what: str, check: Callable[[], object], timeout: float, interval: float = 0.5) -> float:
        """Poll ``check`` until it is true; the seconds it took. Fails with the process logs after ``timeout``."""
        import pytest

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if check():
                return time.monotonic() - started
            time.sleep(interval)
        tails = {path.name: path.read_text(errors="replace")[-3000:] for path in self.logs_dir.glob("*.log")}
        pytest.fail(f"gave up waiting for {what} after {timeout:.0f} s; process logs:\n{json.dumps(tails, indent=1)}")

    def close(self) -> None:
        for name in list(self.processes):
            with suppress(ProcessLookupError):
                os.killpg(self.processes[name].pid, signal.SIGTERM)
        for name, process in list(self.processes.items()):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            del self.processes[name]


@contextmanager
def airflow_deployment(
    tmp_path: Path,
    emulator: PolytomicEmulator,
    extra_env: Mapping[str, str] | None = None,
    *,
    dags_folder: Path | None = None,
    processes: Mapping[str, Sequence[str]] | Sequence[str] = DEFAULT_PROCESSES,
    sqlite_wal: bool = False,
) -> Iterator[AirflowDeployment]:
    """Migrate the database, start ``processes`` (names, or names mapped to their ``airflow`` arguments) and
    yield the deployment; every process still running is stopped on the way out.

    ``sqlite_wal``: put the SQLite database in WAL mode with a 30 s busy timeout, so many processes writing at
    once wait for each other instead of failing with "database is locked".
    """
    port = free_port()
    home = tmp_path / "airflow_home"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder or ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__WORKERS": "1",
        # The log servers of the scheduler's workers and of the triggerer: ports of their own, so deployments
        # of two Airflow lines (scripts/test runs lines side by side) never meet on the defaults 8793/8794.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
        "POLYTOMIC_EXAMPLE_POKE_INTERVAL": "1",
        "AIRFLOW_CONN_POLYTOMIC_DEFAULT": json.dumps(
            {"conn_type": "polytomic", "host": emulator.url, "password": API_KEY, "extra": {"timeout": 5}}
        ),
    }
    if sqlite_wal:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}?timeout=30"
    env.update(extra_env or {})
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    if sqlite_wal:
        with sqlite3.connect(home / "airflow.db") as connection:
            connection.execute("pragma journal_mode=wal")  # kept in the file: every later connection uses it
    deployment = AirflowDeployment(env, tmp_path)
    try:
        named = processes.items() if isinstance(processes, Mapping) else ((name, [name]) for name in processes)
        for name, command in named:
            deployment.start(name, command)
        yield deployment
    finally:
        deployment.close()


@contextmanager
def running_airflow(
    tmp_path: Path, emulator: PolytomicEmulator, extra_env: Mapping[str, str] | None = None
) -> Iterator[tuple[dict[str, str], Path]]:
    """Start the processes (small: LocalExecutor, parallelism 2); yields the environment and the log folder."""
    with airflow_deployment(tmp_path, emulator, extra_env) as deployment:
        yield deployment.env, deployment.logs_dir
