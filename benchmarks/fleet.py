"""One triggerer fleet in one asyncio event loop, in a fresh process: the provider's triggers or a baseline.

- ``provider``: N ``PolytomicSyncStatusTrigger``s, each consumed with ``async for event in trigger.run()``
  as Airflow's triggerer does. Each one builds its own client: connection lookup (from
  ``AIRFLOW_CONN_POLYTOMIC_DEFAULT``), a place in the loop's shared ``aiohttp`` pool, then polls until its
  execution ends.
- ``floor``: N bare loops, each with its own ``aiohttp.ClientSession``, doing the same GETs with
  ``json.loads`` and nothing else.
- ``shared``: the same bare loops on one shared ``aiohttp.ClientSession`` of at most 64 connections.
- ``dbt``: N ``DbtCloudRunJobTrigger``s of ``apache-airflow-providers-dbt-cloud`` (a peer; only in the
  benchmark's peer virtualenv) against the emulator's dbt-shaped run endpoint, connection
  ``AIRFLOW_CONN_DBT_CLOUD_DEFAULT``.

Every variant waits one interval before its first poll, as the provider's trigger does (the task checked just
before deferring) — except ``dbt``, whose trigger polls at once. Over TLS (``--cafile``) the bare loops trust
the CA through one ``ssl.SSLContext`` made once; the dbt trigger through ``SSL_CERT_FILE``.

Measured from the moment the first trigger is created to the last event (start-up included): process CPU
time, wall time, event-loop lag from a ticker coroutine, and resident memory sampled by the ticker.

``python -m benchmarks.fleet --variant provider --scenario FILE --url URL --interval 5 --polls 4 --out FILE``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks._common import (
    DBT_KEY,
    FINAL_COUNTS,
    TERMINAL,
    bare_headers,
    peak_rss_kib,
    percentile,
    raise_open_files_limit,
    rss_kib,
    write_json,
)

TICK_SECONDS = 0.01
RSS_EVERY_TICKS = 10
#: A tick this late (ms) is a stall worth naming with its time.
STALL_MS = 500
SHARED_CONNECTIONS = 64  # the provider's default pool size


class Ticker:
    """Wakes every ``TICK_SECONDS``; how late each wake-up is, is the event loop's lag."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        #: (seconds since the fleet started, lag in ms) of every tick more than STALL_MS late: when it stalled.
        self.stalls: list[tuple[float, float]] = []
        self.started = 0.0
        self.rss_peak_kib = 0
        self._stop = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        ticks = 0
        while not self._stop:
            before = loop.time()
            await asyncio.sleep(TICK_SECONDS)
            lag = max(0.0, (loop.time() - before - TICK_SECONDS) * 1000)
            self.lags_ms.append(lag)
            if lag > STALL_MS:
                self.stalls.append((round(before - self.started, 1), round(lag)))
            ticks += 1
            if ticks % RSS_EVERY_TICKS == 0:
                self.rss_peak_kib = max(self.rss_peak_kib, rss_kib())

    def stop(self) -> None:
        self._stop = True


async def dbt_one(run_id: int, interval: float) -> dict[str, Any]:
    from airflow.providers.dbt.cloud.triggers.dbt import DbtCloudRunJobTrigger

    from benchmarks._common import DBT_ACCOUNT

    trigger = DbtCloudRunJobTrigger(
        conn_id="dbt_cloud_default",
        run_id=run_id,
        end_time=time.time() + 3600,
        poll_interval=interval,
        account_id=DBT_ACCOUNT,
    )
    events = [event.payload async for event in trigger.run()]
    return {"events": events, "run_id": run_id}


def dbt_right(outcome: dict[str, Any], run_id: str) -> bool:
    events = outcome.get("events") or []
    return len(events) == 1 and events[0].get("status") == "success" and str(events[0].get("run_id")) == run_id


async def provider_one(sync_id: str, execution_id: str, interval: float) -> dict[str, Any]:
    from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger

    trigger = PolytomicSyncStatusTrigger(
        sync_id=sync_id, execution_id=execution_id, poll_interval=interval, deadline=time.time() + 3600
    )
    events = [event.payload async for event in trigger.run()]
    return {"events": events}


def provider_right(outcome: dict[str, Any], execution_id: str) -> bool:
    events = outcome.get("events") or []
    if len(events) != 1:
        return False
    event = events[0]
    summary = event.get("summary") or {}
    counts = summary.get("counts") or {}
    return (
        event.get("verdict") == "succeeded"
        and event.get("execution_id") == execution_id
        and summary.get("status") == "completed"
        and all(counts.get(key) == value for key, value in FINAL_COUNTS.items())
    )


def time_percentile(lags_ms: list[float], fraction: float) -> float:
    """The lag that ``fraction`` of the *time* was spent at or under: a tick lasts ``TICK_SECONDS`` plus its lag,
    so one 60 s stall weighs 60 s here, where a percentile of the ticks counts it once."""
    ordered = sorted(lags_ms)
    weights = [TICK_SECONDS * 1000 + lag for lag in ordered]
    wanted, walked = fraction * sum(weights), 0.0
    for lag, weight in zip(ordered, weights, strict=True):
        walked += weight
        if walked >= wanted:
            return lag
    return ordered[-1] if ordered else 0.0


class GcClock:
    """CPU time spent in the garbage collector, per generation (a full collection walks Airflow's whole heap).

    Process CPU time, not wall time: on a loaded machine a collection may be descheduled halfway through."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.counts = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            generation = info.get("generation", 0)
            self.seconds[generation] += time.process_time() - self._started
            self.counts[generation] += 1

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self)


class Floor:
    """The floor: a bare ``aiohttp`` loop per trigger, nothing but sleep, GET and ``json.loads``; ``shared``:
    the same loops on one session of at most ``SHARED_CONNECTIONS`` connections."""

    def __init__(self, url: str, interval: float, cafile: str | None = None) -> None:
        self.url = url
        self.interval = interval
        self.headers = bare_headers()
        self.requests = 0
        self.ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=cafile) if cafile else True
        self.shared: Any = None

    async def one(self, sync_id: str, execution_id: str) -> dict[str, Any]:
        import aiohttp

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ssl)) as session:
            return await self.poll(session, sync_id, execution_id)

    async def one_shared(self, sync_id: str, execution_id: str) -> dict[str, Any]:
        import aiohttp

        if self.shared is None:
            connector = aiohttp.TCPConnector(ssl=self.ssl, limit=SHARED_CONNECTIONS)
            self.shared = aiohttp.ClientSession(connector=connector)
        return await self.poll(self.shared, sync_id, execution_id)

    async def poll(self, session: Any, sync_id: str, execution_id: str) -> dict[str, Any]:
        url = f"{self.url}/api/syncs/{sync_id}/executions/{execution_id}"
        while True:
            await asyncio.sleep(self.interval)  # the task checked just before deferring
            async with session.get(url, headers=self.headers) as response:
                body = await response.read()
            self.requests += 1
            execution: dict[str, Any] = json.loads(body)["data"]
            if execution["status"] in TERMINAL:
                return execution

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()


def floor_right(outcome: dict[str, Any], execution_id: str) -> bool:
    counts = outcome.get("counts") or {}
    return (
        outcome.get("id") == execution_id
        and outcome.get("status") == "completed"
        and all(counts.get(key) == value for key, value in FINAL_COUNTS.items())
    )


async def later(delay: float, work: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    if delay > 0:
        await asyncio.sleep(delay)
    return await work()


async def run_fleet(args: argparse.Namespace, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    # Everything the variants import is imported before the memory baseline, so only per-trigger
    # state counts as growth (the trigger imports its async client lazily; import it here too).
    import aiohttp  # noqa: F401
    import asgiref.sync  # noqa: F401

    import airflow_provider_polytomic.hooks.polytomic_async
    import airflow_provider_polytomic.triggers.polytomic  # noqa: F401

    if args.variant == "dbt":
        import airflow.providers.dbt.cloud.hooks.dbt
        import airflow.providers.dbt.cloud.triggers.dbt  # noqa: F401
    if args.restart_clock:
        # The emulator's syncs scripted in seconds start now (and its request counts per window).
        from benchmarks._common import TlsFiles, fetch_stats

        tls = TlsFiles(Path(args.cafile), Path(), Path()) if args.cafile else None
        await asyncio.to_thread(fetch_stats, args.url, tls, reset=True, clock=True)

    gc.collect()
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.2)  # the ticker's own start-up is not the fleet's
    ticker.lags_ms.clear()
    ticker.started = asyncio.get_running_loop().time()
    rss_start = rss_kib()
    ticker.rss_peak_kib = rss_start
    floor = Floor(args.url, args.interval, args.cafile)
    n = len(pairs)
    work: Callable[[str, str], Callable[[], Awaitable[dict[str, Any]]]]
    if args.variant == "provider":
        work = lambda sync, execution: lambda: provider_one(sync, execution, args.interval)  # noqa: E731
    elif args.variant == "floor":
        work = lambda sync, execution: lambda: floor.one(sync, execution)  # noqa: E731
    elif args.variant == "shared":
        work = lambda sync, execution: lambda: floor.one_shared(sync, execution)  # noqa: E731
    else:
        work = lambda _, run: lambda: dbt_one(int(run), args.interval)  # noqa: E731
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    if profiler is not None:
        profiler.enable()
    with GcClock() as gc_clock:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        # --spread: the triggers arrive spread evenly over that many seconds (tasks deferring one by one).
        tasks = []
        for index, (sync, execution) in enumerate(pairs):
            if args.arrival == "triggerer":
                # As Airflow's triggerer creates triggers (TriggerRunner.create_triggers): it yields to the loop
                # before each one, so their start-ups interleave with the running triggers instead of adding up.
                await asyncio.sleep(0)
            tasks.append(asyncio.create_task(later(args.spread * index / n, work(sync, execution))))
        limit = args.interval * args.polls * 6 + args.spread + 180
        _, pending = await asyncio.wait(tasks, timeout=limit)
        cpu_end, wall_end = time.process_time(), time.perf_counter()
        await floor.close()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    ticker.stop()
    await ticking
    for task in pending:
        task.cancel()
    right = 0
    problems: list[str] = []
    judge = {"provider": provider_right, "dbt": dbt_right}.get(args.variant, floor_right)
    for task, (_, execution_id) in zip(tasks, pairs, strict=True):
        if task in pending:
            problems.append("still running at the time limit")
        elif task.exception() is not None:
            problems.append(f"{type(task.exception()).__name__}: {task.exception()}")
        elif judge(task.result(), execution_id):
            right += 1
        else:
            problems.append(f"wrong outcome: {json.dumps(task.result(), default=str)[:300]}")
    lags = ticker.lags_ms
    return {
        "variant": args.variant,
        "n": len(pairs),
        "interval_s": args.interval,
        "min_polls": args.polls,
        "wall_s": wall_end - wall_start,
        "cpu_s": cpu_end - cpu_start,
        "rss_start_kib": rss_start,
        "rss_peak_kib": max(ticker.rss_peak_kib, rss_kib()),
        "ru_maxrss_kib": peak_rss_kib(),
        "lag_ms": {
            "p50": percentile(lags, 0.5),
            "p99": percentile(lags, 0.99),
            "max": max(lags, default=0.0),
            "ticks": len(lags),
            "p99time": time_percentile(lags, 0.99),
            # Lag summed over the ticks more than 50 ms late: how long the loop was stalled, in ms.
            "over50": sum(lag for lag in lags if lag > 50),
            # The longest stalls, and when each began (s after the fleet started).
            "stalls": sorted(ticker.stalls, key=lambda stall: -stall[1])[:8],
        },
        "gc": {"seconds": gc_clock.seconds, "collections": gc_clock.counts},
        "events_right": right,
        "problems": sorted(set(problems))[:5],
        "problem_count": len(problems),
        "client_requests": floor.requests if args.variant in ("floor", "shared") else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__)
    parser.add_argument("--variant", choices=("provider", "floor", "shared", "dbt"), required=True)
    parser.add_argument("--scenario", required=True, help="the emulator scenario: which syncs to follow")
    parser.add_argument(
        "--url", required=True, help="the emulator (the floor's target; the provider's comes from the connection)"
    )
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--polls", type=int, required=True, help="the fewest requests per trigger")
    parser.add_argument("--cafile", help="over TLS: the CA bundle the bare loops trust")
    parser.add_argument(
        "--arrival",
        choices=("burst", "triggerer"),
        default="burst",
        help="burst: every trigger starts in one loop step; triggerer: one per step, as Airflow's triggerer does",
    )
    parser.add_argument("--spread", type=float, default=0.0, help="start the triggers spread over this many s")
    parser.add_argument("--restart-clock", action="store_true", help="restart the emulator's clock first")
    parser.add_argument("--watchers", type=int, help="this many triggers on the scenario's syncs (default one each)")
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--profile", help="write a cProfile (process CPU time) of the measured window here (slows it down)"
    )
    args = parser.parse_args(argv)
    raise_open_files_limit()
    scenario = json.loads(Path(args.scenario).read_text(encoding="utf-8"))
    if args.variant == "dbt":
        pairs = [("", str(run)) for run in range(1, int(scenario[DBT_KEY]["runs"]) + 1)]
    else:
        pairs = [(sync["id"], sync["executions"][0]["id"]) for sync in scenario["syncs"]]
        if args.watchers:
            # --watchers: that many triggers share the scenario's syncs round-robin (the coalescing benchmark).
            pairs = [pairs[index % len(pairs)] for index in range(args.watchers)]
    result = asyncio.run(run_fleet(args, pairs))
    write_json(Path(args.out), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
