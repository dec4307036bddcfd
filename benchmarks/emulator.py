"""The package's Polytomic API emulator, served from its own process for the benchmarks.

The emulator's logic (scenario, routing, answers: ``PolytomicEmulator.handle``) is used as it is; what
serves it over HTTP is one of two front ends (``--server``):

- ``asyncio`` (default): one event loop, no thread per connection. At thousands of keep-alive clients
  the package's thread-per-connection server spends more CPU than the client it serves and competes with
  it for the machine's CPUs; this front end keeps the figures about the client.
- ``threading``: the package's own ``ThreadingHTTPServer``, subclassed: a listen backlog of
  ``--backlog`` instead of ``socketserver``'s 5 (a burst of connections beyond it is dropped by the kernel
  and waits for the client's SYN retry, 1 s then 3 s; the kernel caps it at ``net.core.somaxconn``), and
  ``TCP_NODELAY`` (``http.server`` writes headers and body separately, so with Nagle's algorithm every
  keep-alive answer after the first waits 40 ms for the client's delayed ACK).

Both add ``GET /_bench/stats``: requests served, reads per sync, the process's CPU time and the peak
share of a CPU it used over 0.25 s windows (``?reset=1`` restarts the peaks; ``&clock=1`` also restarts the
wall clock of syncs scripted in seconds; ``?window=S`` adds the API requests counted per S seconds since the
last reset).

The asyncio front end also serves TLS (``--tls-cert``/``--tls-key``), closes a keep-alive connection that
stays idle ``--idle-close`` seconds (as a load balancer does), counts the connections it accepted, and answers
dbt Cloud's run endpoint (``GET /api/v2/accounts/{account}/runs/{run}/``) for the runs of the scenario's
``bench_dbt`` entry: status 3 (running) for ``running_reads`` reads of a run, then 10 (success).

It exits on SIGTERM, when its parent process goes away, or after ``--max-seconds``.

``python -m benchmarks.emulator --scenario FILE --url-file FILE [--server asyncio|threading] [--parent PID]``
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import signal
import ssl
import sys
import threading
import time
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_polytomic.testing import PolytomicEmulator
from benchmarks._common import API_KEY, API_VERSION, DBT_KEY, HOST, STATS_PATH, raise_open_files_limit

SAMPLE_SECONDS = 0.25
DBT_RUN_PATH = re.compile(r"^/api/v2/accounts/(?P<account>\d+)/runs/(?P<run>\d+)/?$")
DBT_RUNNING, DBT_SUCCESS = 3, 10


class BenchEmulator(PolytomicEmulator):
    """``PolytomicEmulator`` with a statistics endpoint and a choice of HTTP front end."""

    def __init__(
        self, scenario: Mapping[str, Any], backlog: int, *, idle_close: float | None = None, tls: Any = None
    ) -> None:
        dbt = scenario.get(DBT_KEY) or {}
        super().__init__({key: value for key, value in scenario.items() if key != DBT_KEY})
        self.backlog = backlog
        self.idle_close = idle_close
        self.tls: ssl.SSLContext | None = tls
        self.served = 0  # API requests answered by the asyncio front end
        self.served_non_2xx = 0
        self.connections = 0  # accepted by the asyncio front end
        self.idle_closed = 0
        self.request_times: list[float] = []  # loop time of each API request since the last reset
        self.reset_at = time.monotonic()
        self.dbt_running_reads = int(dbt.get("running_reads", 0))
        self.dbt_reads: dict[int, int] = {run: 0 for run in range(1, int(dbt.get("runs", 0)) + 1)}
        self._sample_lock = threading.Lock()
        self._peak_share = 0.0
        self._busy_windows = 0
        self._windows = 0
        self._threads_peak = 0

    # -- the package's threaded server ----------------------------------------------------------------------

    def start(self) -> BenchEmulator:
        super().start()
        server = self._server
        assert server is not None
        server.request_queue_size = self.backlog
        server.socket.listen(self.backlog)  # listening again sets the deeper queue
        server.RequestHandlerClass = type(
            "NoDelayHandler", (server.RequestHandlerClass,), {"disable_nagle_algorithm": True}
        )
        self.start_sampling()
        return self

    # -- the asyncio front end ------------------------------------------------------------------------------

    async def serve_asyncio(self, port: int = 0) -> asyncio.Server:
        """Serve ``handle()`` over HTTP/1.1 keep-alive from the running loop (asyncio sets ``TCP_NODELAY``)."""
        self.start_sampling()
        return await asyncio.start_server(
            self._client, HOST, port, backlog=self.backlog, reuse_address=True, ssl=self.tls
        )

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    raw_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_close)
                except asyncio.TimeoutError:
                    self.idle_closed += 1  # idle too long: close it, as a load balancer does
                    break
                head = raw_head.decode("latin-1")
                request_line, *lines = head.split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip()] = value.strip()
                lowered = {name.lower(): value for name, value in headers.items()}
                length = int(lowered.get("content-length") or 0)
                raw = await reader.readexactly(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                parts = urlsplit(target)
                with self.lock:
                    status, document = self.handle(method, parts.path, parse_qs(parts.query), headers, body)
                    if parts.path.startswith("/api/"):
                        self.served += 1
                        self.served_non_2xx += not 200 <= status < 300
                        self.request_times.append(time.monotonic())
                payload = json.dumps(document).encode()
                version = lowered.get("x-polytomic-version") or API_VERSION
                writer.write(
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nX-Polytomic-Version: {version}\r\n\r\n".encode("latin-1")
                    + payload
                )
                await writer.drain()
                if lowered.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 5)

    # -- statistics -----------------------------------------------------------------------------------------

    def start_sampling(self) -> None:
        threading.Thread(target=self._sample, name="bench-sampler", daemon=True).start()

    def _sample(self) -> None:
        cpu, wall = time.process_time(), time.monotonic()
        while True:
            time.sleep(SAMPLE_SECONDS)
            now_cpu, now_wall = time.process_time(), time.monotonic()
            share = (now_cpu - cpu) / max(now_wall - wall, 1e-9)
            cpu, wall = now_cpu, now_wall
            with self._sample_lock:
                self._peak_share = max(self._peak_share, share)
                self._windows += 1
                self._busy_windows += share >= 0.9
                self._threads_peak = max(self._threads_peak, threading.active_count())

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str], body: Any
    ) -> tuple[int, Any]:
        if path == STATS_PATH:
            window = float(query.get("window", ["0"])[0])
            if query.get("reset"):
                with self._sample_lock:
                    self._peak_share, self._busy_windows, self._windows, self._threads_peak = 0.0, 0, 0, 0
                self.request_times.clear()
                self.reset_at = time.monotonic()
                if query.get("clock"):
                    for sync in self.syncs.values():
                        sync.started = self.reset_at
            return 200, {"data": self._stats(window)}
        dbt = DBT_RUN_PATH.match(path)
        if dbt is not None:
            return self._dbt_run(method, int(dbt["run"]), headers)
        return super().handle(method, path, query, headers, body)

    def _dbt_run(self, method: str, run: int, headers: Mapping[str, str]) -> tuple[int, Any]:
        """dbt Cloud's ``GET …/runs/{run}/``: only what ``DbtCloudHook.get_job_status`` reads, and a few fields."""
        lowered = {name.lower(): value for name, value in headers.items()}
        if lowered.get("authorization") != f"Token {API_KEY}":
            return 401, {"status": {"code": 401, "is_success": False, "user_message": "Invalid token."}, "data": None}
        if method != "GET" or run not in self.dbt_reads:
            return 404, {"status": {"code": 404, "is_success": False, "user_message": "Not found."}, "data": None}
        self.dbt_reads[run] += 1
        status = DBT_RUNNING if self.dbt_reads[run] <= self.dbt_running_reads else DBT_SUCCESS
        data = {"id": run, "account_id": 1, "job_definition_id": run, "status": status, "is_complete": status > 3}
        return 200, {"status": {"code": 200, "is_success": True}, "data": data}

    def _stats(self, window: float = 0.0) -> dict[str, Any]:
        # Called with self.lock held (both front ends hold it around handle()).
        api = [item for item in self.requests if item.path.startswith("/api/")]
        reads = collections.Counter(sync.reads for sync in self.syncs.values())
        reads.update(self.dbt_reads.values())
        per_window: list[int] = []
        if window > 0:
            for at in self.request_times:
                slot = int((at - self.reset_at) // window)
                per_window.extend([0] * (slot + 1 - len(per_window)))
                per_window[slot] += 1
        with self._sample_lock:
            return {
                "requests": len(api) + self.served,
                "non_2xx": self.served_non_2xx
                + sum(1 for item in api if item.status is None or not 200 <= item.status < 300),
                "reads_per_sync": {str(key): value for key, value in sorted(reads.items())},
                "cpu_s": time.process_time(),
                "peak_core_share": round(self._peak_share, 3),
                "busy_windows": self._busy_windows,
                "windows": self._windows,
                "threads_now": threading.active_count(),
                "threads_peak": self._threads_peak,
                "backlog": self.backlog,
                "connections": self.connections,
                "idle_closed": self.idle_closed,
                "requests_per_window": per_window,
            }


def _publish(url_file: Path, url: str) -> None:
    temporary = url_file.with_suffix(".tmp")
    temporary.write_text(url, encoding="utf-8")
    temporary.replace(url_file)  # readers never see a half-written URL


def _should_stop(args: argparse.Namespace, deadline: float) -> bool:
    if os.getppid() != args.parent:
        print("benchmarks.emulator: the parent process is gone; stopping", file=sys.stderr, flush=True)
        return True
    if time.monotonic() > deadline:
        print(f"benchmarks.emulator: stopping after {args.max_seconds:g} s", file=sys.stderr, flush=True)
        return True
    return False


async def _run_asyncio(emulator: BenchEmulator, args: argparse.Namespace, deadline: float) -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stopped.set)
    server = await emulator.serve_asyncio()
    host, port = server.sockets[0].getsockname()[:2]
    _publish(Path(args.url_file), f"{'https' if emulator.tls else 'http'}://{host}:{port}")
    while not stopped.is_set() and not _should_stop(args, deadline):
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopped.wait(), 1.0)
    server.close()


def _run_threading(emulator: BenchEmulator, args: argparse.Namespace, deadline: float) -> None:
    threading.stack_size(512 * 1024)  # one thread per keep-alive connection: keep thousands of them cheap
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    emulator.start()
    _publish(Path(args.url_file), emulator.url)
    while not stopped.wait(1.0):
        if _should_stop(args, deadline):
            break
    emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator", description=__doc__)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--url-file", required=True)
    parser.add_argument("--server", choices=("asyncio", "threading"), default="asyncio")
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument("--parent", type=int, default=os.getppid())
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--tls-cert", help="serve TLS with this certificate (PEM; asyncio front end only)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    parser.add_argument("--idle-close", type=float, help="close keep-alive connections idle this long, s")
    args = parser.parse_args(argv)
    if (args.tls_cert or args.idle_close) and args.server != "asyncio":
        parser.error("--tls-cert and --idle-close need the asyncio front end")
    raise_open_files_limit()
    scenario = json.loads(Path(args.scenario).read_text(encoding="utf-8"))
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    emulator = BenchEmulator(scenario, args.backlog, idle_close=args.idle_close, tls=context)
    deadline = time.monotonic() + args.max_seconds
    if args.server == "asyncio":
        asyncio.run(_run_asyncio(emulator, args, deadline))
    else:
        _run_threading(emulator, args, deadline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
