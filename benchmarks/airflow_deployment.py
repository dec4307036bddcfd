"""The real-triggerer benchmark's Airflow deployment (``benchmarks/real_triggerer.py``): an ``AIRFLOW_HOME`` with
a migrated SQLite database and the benchmark's DAG, triggerer processes started and stopped in it, and what is
read off them: the CPU and memory of a process tree, the growth of the trigger log files.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from benchmarks._common import ROOT, Runner
from benchmarks.triggerer_db import DAG_ID, dag_file


class Deployment:
    """An ``AIRFLOW_HOME`` with a migrated SQLite database and the benchmark's DAG serialized into it."""

    def __init__(self, folder: Path, waits: int) -> None:
        self.folder = folder
        self.home = folder / "airflow-home"
        self.db = self.home / "airflow.db"
        self.airflow = str(Path(sys.executable).parent / "airflow")
        dags = folder / "dags"
        dags.mkdir(parents=True)
        (dags / "bench_real_triggerer.py").write_text(dag_file(waits), encoding="utf-8")
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # A 30 s busy timeout: the deferrals are written while a triggerer reads.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db}?timeout=30",
            "AIRFLOW__TRIGGERER__QUEUES_ENABLED": "True",
            # The triggerer imports the floor's trigger class from the repository.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.runner = Runner(folder)
        self.runner.env = self.env
        self.cli("db", "migrate")
        with sqlite3.connect(self.db) as connection:
            connection.execute("pragma journal_mode=wal")  # kept in the file: readers and a writer at once
        self.cli("dags", "reserialize")

    def cli(self, *arguments: str) -> None:
        """``airflow ARGUMENTS`` in the deployment (its output kept in the folder)."""
        self.runner.run(f"airflow-{'-'.join(arguments)}", ["-m", "airflow", *arguments], timeout=600)

    def newest_triggerer_job(self) -> int:
        with sqlite3.connect(self.db, timeout=30) as connection:
            row = connection.execute(
                "select max(id) from job where job_type = 'TriggererJob' and latest_heartbeat is not null"
            ).fetchone()
        return int(row[0] or 0)

    def defer(self, phase: str, variant: str, scenario: Path, url: str, interval: float) -> None:
        """The phase's deferred tasks and their triggers (``benchmarks.triggerer_db``), spread over one interval."""
        arguments = ["--phase", phase, "--variant", variant, "--queue", f"bench-{phase}", "--scenario", str(scenario)]
        arguments += ["--url", url, "--interval", str(interval), "--ramp", str(interval)]
        self.runner.run(f"defer-{phase}", ["-m", "benchmarks.triggerer_db", "defer", *arguments], timeout=600)

    def start_triggerer(self, phase: str, level: str, extra: dict[str, str], limit: float) -> subprocess.Popen[bytes]:
        command = [self.airflow, "triggerer", "--queues", f"bench-{phase}", "--skip-serve-logs"]
        if timeout := shutil.which("timeout"):
            # It stops by itself even if this process dies without stopping it.
            command = [timeout, "--kill-after=30", str(int(limit)), *command]
        with open(self.folder / f"triggerer-{phase}.log", "ab") as log:
            return subprocess.Popen(  # noqa: S603 - the venv's own airflow
                command,
                env={**self.env, "AIRFLOW__LOGGING__LOGGING_LEVEL": level, **extra},
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the triggerer (it stops its trigger runner), then SIGKILL to whatever is left of its group."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=60)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def tree_usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system, reaped children included) and resident KiB of ``pid`` and its descendants."""
    import psutil

    cpu, rss = 0.0, 0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        with suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            cpu += times.user + times.system + times.children_user + times.children_system
            rss += process.memory_info().rss // 1024
    return cpu, rss


def trigger_logs(deployment: Deployment, phase: str) -> dict[Path, int]:
    """The size of each trigger log file of the phase's task instances (the triggerer flushes every line)."""
    folder = deployment.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={phase}"
    return {path: path.stat().st_size for path in folder.glob("task_id=*/*.trigger.*.log")}


def log_growth(before: dict[Path, int], after: dict[Path, int]) -> tuple[int, int]:
    """Bytes and lines appended between two snapshots of ``trigger_logs``."""
    written = lines = 0
    for path, size in after.items():
        start = before.get(path, 0)
        if size > start:
            with open(path, "rb") as handle:
                handle.seek(start)
                chunk = handle.read(size - start)
            written += len(chunk)
            lines += chunk.count(b"\n")
    return written, lines


def wait_until(what: str, check: Callable[[], bool], timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None:
            raise RuntimeError(f"the triggerer exited (code {process.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.5)
