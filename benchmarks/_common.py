"""Helpers shared by the benchmark processes: the emulator process, scenarios, memory and percentiles."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import resource
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-api-key"
API_VERSION = "2025-09-18"
HOST = "127.0.0.1"
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


def fleet_scenario(count: int, reads: int, *, dbt_runs: int = 0) -> dict[str, Any]:
    """``count`` model syncs, each with one execution that a trigger must read ``reads`` times: seen running
    ``reads - 1`` times, then completed. (The task's own check before it deferred was one read more: the
    trigger's first poll waits one interval, so a trigger's minimum is ``reads``.)

    ``dbt_runs``: as many dbt Cloud runs (``benchmarks.emulator``'s dbt-shaped routes), each running for
    ``reads`` reads, then a success: the dbt trigger polls once more, at once, when it starts.
    """
    syncs = []
    for _ in range(count):
        steps: list[dict[str, Any]] = [{"status": "completed", "counts": FINAL_COUNTS}]
        if reads > 1:
            steps.insert(0, {"status": "running", "polls": reads - 1, "counts": {"insert": 10, "total": 10}})
        syncs.append({"id": str(uuid.uuid4()), "executions": [{"id": str(uuid.uuid4()), "steps": steps}]})
    scenario: dict[str, Any] = {"api_keys": [API_KEY], "syncs": syncs}
    if dbt_runs:
        scenario[DBT_KEY] = {"runs": dbt_runs, "running_reads": reads}
    return scenario


def coalesce_scenario(syncs: int, running_seconds: float) -> dict[str, Any]:
    """``syncs`` model syncs on the wall clock: each execution runs ``running_seconds`` from the emulator's clock
    restart (``/_bench/stats?reset=1&clock=1``), then is completed."""
    return {
        "api_keys": [API_KEY],
        "syncs": [
            {
                "id": str(uuid.uuid4()),
                "clock": "seconds",
                "executions": [
                    {
                        "id": str(uuid.uuid4()),
                        "steps": [
                            {"status": "running", "seconds": running_seconds, "counts": {"insert": 10, "total": 10}},
                            {"status": "completed", "counts": FINAL_COUNTS},
                        ],
                    }
                ],
            }
            for _ in range(syncs)
        ],
    }


#: The scenario key the bench emulator takes its dbt-shaped runs from (the package's emulator never sees it).
DBT_KEY = "bench_dbt"
DBT_ACCOUNT = 1


@dataclass(frozen=True)
class TlsFiles:
    """A certificate authority made for one run and the server certificate it signed for 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls_files(directory: Path) -> TlsFiles:
    """A throw-away CA (ECDSA P-256) and a server certificate for 127.0.0.1 signed by it, valid for a day.

    P-256 rather than RSA keeps the emulator's half of each handshake cheap, so the client's half is what the
    figures show."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=10), now + datetime.timedelta(days=1)

    def pem(certificate: Any) -> bytes:
        return bytes(certificate.public_bytes(serialization.Encoding.PEM))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "polytomic-bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(pem(ca))
    files.cert.write_bytes(pem(server))
    files.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


def connection_json(url: str, ca: Path | None = None) -> str:
    """The Airflow connection (JSON form, for ``AIRFLOW_CONN_POLYTOMIC_DEFAULT``) that points at ``url``; over
    TLS, ``ca`` is the CA bundle it trusts (extra ``verify``)."""
    document: dict[str, Any] = {"conn_type": "polytomic", "host": url, "password": API_KEY}
    if ca is not None:
        document["extra"] = {"verify": str(ca)}
    return json.dumps(document)


def dbt_connection_json(url: str) -> str:
    """The dbt Cloud connection (for ``AIRFLOW_CONN_DBT_CLOUD_DEFAULT``): the tenant is the emulator's host:port."""
    return json.dumps(
        {"conn_type": "dbt_cloud", "host": url.split("://", 1)[1], "login": str(DBT_ACCOUNT), "password": API_KEY}
    )


def bare_headers() -> dict[str, str]:
    """What the bare baselines send: the key and the API version, nothing else."""
    return {"Authorization": f"Bearer {API_KEY}", "X-Polytomic-Version": API_VERSION, "Accept": "application/json"}


def write_json(path: Path, document: Any) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
    temporary.replace(path)


def fetch_stats(
    url: str, tls: TlsFiles | None, *, reset: bool = False, clock: bool = False, window: float | None = None
) -> dict[str, Any]:
    """The bench emulator's ``/_bench/stats`` (``clock``: with ``reset``, restart the syncs' wall clocks too)."""
    query = "&".join(
        part
        for part in ("reset=1" if reset else "", "clock=1" if clock else "", f"window={window}" if window else "")
        if part
    )
    context = tls.client_context() if tls is not None else None
    address = url + STATS_PATH + (f"?{query}" if query else "")
    with urllib.request.urlopen(address, timeout=60, context=context) as response:  # noqa: S310 - 127.0.0.1 only
        document: dict[str, Any] = json.loads(response.read())["data"]
    return document


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
        tls: TlsFiles | None = None,
        idle_close: float | None = None,
    ) -> None:
        self.workdir = workdir
        self.tls = tls
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
        if tls is not None:
            command += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
        if idle_close is not None:
            command += ["--idle-close", str(idle_close)]
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

    def stats(self, *, reset: bool = False, window: float | None = None) -> dict[str, Any]:
        """Requests served, reads per sync, and the emulator's CPU (``reset`` restarts its peak counters);
        ``window``: also the API requests counted per ``window`` seconds since the last reset."""
        return fetch_stats(self.url, self.tls, reset=reset, window=window)

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


class Runner:
    """Starts the child processes with one environment and keeps their output in the work directory."""

    def __init__(self, workdir: Path, connection_url: str | None = None, tls: TlsFiles | None = None) -> None:
        self.workdir = workdir
        self.env = dict(os.environ)
        self.env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        self.env.setdefault("AIRFLOW_HOME", str(workdir / "airflow-home"))
        if connection_url is not None:
            self.env["AIRFLOW_CONN_POLYTOMIC_DEFAULT"] = connection_json(connection_url, tls.ca if tls else None)
            self.env["AIRFLOW_CONN_DBT_CLOUD_DEFAULT"] = dbt_connection_json(connection_url)
        if tls is not None:
            # The dbt trigger has no CA setting: its aiohttp default context reads OpenSSL's SSL_CERT_FILE.
            self.env["SSL_CERT_FILE"] = str(tls.ca)
        self.count = 0

    def run(
        self, name: str, arguments: Sequence[str], *, timeout: float, python: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python ARGUMENTS`` in a fresh interpreter; its stdout is returned, stderr kept in a log file."""
        self.count += 1
        log_path = self.workdir / f"{self.count:03d}-{name}.log"
        command = [python or sys.executable, *arguments]
        with open(log_path, "w", encoding="utf-8") as stderr:
            completed = subprocess.run(  # noqa: S603 - our own interpreter and modules
                command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                timeout=timeout,
                check=False,
            )
        if completed.returncode != 0:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"{name} failed (exit {completed.returncode}); {log_path}:\n{tail}")
        return completed


KIB = 1024


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            document: dict[str, Any] = json.loads(line)
            return document
    raise ValueError("no JSON line in the output")
