"""One triggerer fleet in one asyncio event loop, in a fresh process: the provider's triggers or the floor.

- ``provider``: N ``PolytomicSyncStatusTrigger``s, each consumed with ``async for event in trigger.run()``
  as Airflow's triggerer does. Each one builds its own client: connection lookup (from
  ``AIRFLOW_CONN_POLYTOMIC_DEFAULT``), ``aiohttp`` session, then polls until its execution ends.
- ``floor``: N bare loops, each with its own ``aiohttp.ClientSession``, doing the same GETs with
  ``json.loads`` and nothing else.

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
import time
from pathlib import Path
from typing import Any

from benchmarks._common import (
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


class Ticker:
    """Wakes every ``TICK_SECONDS``; how late each wake-up is, is the event loop's lag."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self.rss_peak_kib = 0
        self._stop = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        ticks = 0
        while not self._stop:
            before = loop.time()
            await asyncio.sleep(TICK_SECONDS)
            self.lags_ms.append(max(0.0, (loop.time() - before - TICK_SECONDS) * 1000))
            ticks += 1
            if ticks % RSS_EVERY_TICKS == 0:
                self.rss_peak_kib = max(self.rss_peak_kib, rss_kib())

    def stop(self) -> None:
        self._stop = True


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


class GcClock:
    """Time spent in the garbage collector, per generation (a full collection walks Airflow's whole heap)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.counts = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info.get("generation", 0)
            self.seconds[generation] += time.perf_counter() - self._started
            self.counts[generation] += 1

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self)


class Floor:
    """The floor: a bare ``aiohttp`` loop per trigger, nothing but GET, ``json.loads`` and sleep."""

    def __init__(self, url: str, interval: float) -> None:
        self.url = url
        self.interval = interval
        self.headers = bare_headers()
        self.requests = 0

    async def one(self, sync_id: str, execution_id: str) -> dict[str, Any]:
        import aiohttp

        url = f"{self.url}/api/syncs/{sync_id}/executions/{execution_id}"
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(url, headers=self.headers) as response:
                    body = await response.read()
                self.requests += 1
                execution: dict[str, Any] = json.loads(body)["data"]
                if execution["status"] in TERMINAL:
                    return execution
                await asyncio.sleep(self.interval)


def floor_right(outcome: dict[str, Any], execution_id: str) -> bool:
    counts = outcome.get("counts") or {}
    return (
        outcome.get("id") == execution_id
        and outcome.get("status") == "completed"
        and all(counts.get(key) == value for key, value in FINAL_COUNTS.items())
    )


async def run_fleet(args: argparse.Namespace, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    # Everything both variants import is imported before the memory baseline, so only per-trigger
    # state counts as growth (the trigger imports its async client lazily; import it here too).
    import aiohttp  # noqa: F401
    import asgiref.sync  # noqa: F401

    import airflow_provider_polytomic.hooks.polytomic_async
    import airflow_provider_polytomic.triggers.polytomic  # noqa: F401

    gc.collect()
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.2)  # the ticker's own start-up is not the fleet's
    ticker.lags_ms.clear()
    rss_start = rss_kib()
    ticker.rss_peak_kib = rss_start
    floor = Floor(args.url, args.interval)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    with GcClock() as gc_clock:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        if args.variant == "provider":
            tasks = [asyncio.create_task(provider_one(sync, execution, args.interval)) for sync, execution in pairs]
        else:
            tasks = [asyncio.create_task(floor.one(sync, execution)) for sync, execution in pairs]
        limit = args.interval * args.polls * 6 + 180
        _, pending = await asyncio.wait(tasks, timeout=limit)
        cpu_end, wall_end = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    ticker.stop()
    await ticking
    for task in pending:
        task.cancel()
    right = 0
    problems: list[str] = []
    judge = provider_right if args.variant == "provider" else floor_right
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
        },
        "gc": {"seconds": gc_clock.seconds, "collections": gc_clock.counts},
        "events_right": right,
        "problems": sorted(set(problems))[:5],
        "problem_count": len(problems),
        "client_requests": floor.requests if args.variant == "floor" else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__)
    parser.add_argument("--variant", choices=("provider", "floor"), required=True)
    parser.add_argument("--scenario", required=True, help="the emulator scenario: which syncs to follow")
    parser.add_argument(
        "--url", required=True, help="the emulator (the floor's target; the provider's comes from the connection)"
    )
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--polls", type=int, required=True, help="the fewest requests per trigger")
    parser.add_argument("--out", required=True)
    parser.add_argument("--profile", help="write a cProfile of the measured window here (slows it down)")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    scenario = json.loads(Path(args.scenario).read_text(encoding="utf-8"))
    pairs = [(sync["id"], sync["executions"][0]["id"]) for sync in scenario["syncs"]]
    result = asyncio.run(run_fleet(args, pairs))
    write_json(Path(args.out), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
