"""Helpers shared by the benchmark processes: the emulator process, scenarios, memory and percentiles."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-api-key"
API_VERSION = "2025-09-18"
STATS_PATH = "/_bench/stats"
#: Statuses after which the bare baseline stops polling (the provider's own rules decide for the provider).
TERMINAL = frozenset({"completed", "failed", "canceled", "interrupted"})
FINAL_COUNTS = {"insert": 20, "update": 5, "delete": 0, "error": 0, "total": 25}


def raise_open_files_limit(wanted: int = 65536) -> int:
    """Lift the soft limit on open files towards ``wanted`` (a fresh machine often starts at 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib() -> int:
    """The resident set size now, in KiB (Linux); the peak so far where ``/proc`` is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return peak_rss_kib()


def peak_rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024) if sys.platform == "darwin" else int(peak)


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped because a listen queue was full (system-wide; Linux)."""
    try:
        with open("/proc/net/netstat", encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(table.get("ListenOverflows", 0))
    return None


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return float(ordered[rank])


def fleet_scenario(count: int, polls: int) -> dict[str, Any]:
    """``count`` model syncs, each with one execution that is seen running ``polls - 1`` times, then completed."""
    syncs = []
    for _ in range(count):
        syncs.append(
            {
                "id": str(uuid.uuid4()),
                "executions": [
                    {
                        "id": str(uuid.uuid4()),
                        "steps": [
                            {"status": "running", "polls": polls - 1, "counts": {"insert": 10, "total": 10}},
                            {"status": "completed", "counts": FINAL_COUNTS},
                        ],
                    }
                ],
            }
        )
    return {"api_keys": [API_KEY], "syncs": syncs}


def connection_json(url: str) -> str:
    """The Airflow connection (JSON form, for ``AIRFLOW_CONN_POLYTOMIC_DEFAULT``) that points at ``url``."""
    return json.dumps({"conn_type": "polytomic", "host": url, "password": API_KEY})


def bare_headers() -> dict[str, str]:
    """What the bare baselines send: the key and the API version, nothing else."""
    return {"Authorization": f"Bearer {API_KEY}", "X-Polytomic-Version": API_VERSION, "Accept": "application/json"}


def write_json(path: Path, document: Any) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
    temporary.replace(path)


class EmulatorProcess:
    """The Polytomic API emulator in a process of its own (``benchmarks.emulator``), on 127.0.0.1.

    It stops when this object is closed, when this process dies, or after ``max_seconds`` at the latest.
    """

    def __init__(
        self,
        scenario: dict[str, Any],
        workdir: Path,
        *,
        server: str = "asyncio",
        backlog: int = 4096,
        max_seconds: float = 600,
    ) -> None:
        self.workdir = workdir
        self.scenario_file = workdir / "emulator-scenario.json"
        self.url_file = workdir / "emulator-url"
        self.log_file = workdir / "emulator.log"
        write_json(self.scenario_file, scenario)
        self.url_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "benchmarks.emulator",
            "--scenario",
            str(self.scenario_file),
            "--url-file",
            str(self.url_file),
            "--server",
            server,
            "--backlog",
            str(backlog),
            "--parent",
            str(os.getpid()),
            "--max-seconds",
            str(max_seconds),
        ]
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        self.url = self._wait_for_url()

    def _wait_for_url(self, limit: float = 120.0) -> str:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.url_file.exists():
                return self.url_file.read_text(encoding="utf-8").strip()
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.close()
        raise RuntimeError(f"the emulator did not start; see {self.log_file}")

    def stats(self, *, reset: bool = False) -> dict[str, Any]:
        """Requests served, reads per sync, and the emulator's CPU (``reset`` restarts its peak counters)."""
        url = self.url + STATS_PATH + ("?reset=1" if reset else "")
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - http://127.0.0.1 only
            document: dict[str, Any] = json.loads(response.read())["data"]
        return document

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def emulator_process(scenario: dict[str, Any], workdir: Path, **options: Any) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(scenario, workdir, **options)
    try:
        yield process
    finally:
        process.close()
