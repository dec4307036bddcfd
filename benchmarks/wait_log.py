"""``python -m benchmarks.wait_log [--queued 3] [--running 30] [--interval 60]``: what a deferred wait logs.

Runs the real ``PolytomicSyncStatusTrigger`` against the Polytomic emulator (HTTP on 127.0.0.1) on a simulated
clock: the trigger's sleeps advance the clock instead of waiting, so a 30-minute sync takes a second. The
emulator's sync moves one step per poll: ``queued`` for ``--queued`` polls, ``running`` for ``--running`` polls
(rows inserted every poll; updates start after 12 polls), then ``completed``. Prints the trigger's part of
the task log, with the simulated times, and its lines and bytes (of the message) per poll.

The unit test of the logging policy (``tests/unit/triggers/test_polytomic.py``) runs the same simulation.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from types import ModuleType, SimpleNamespace
from typing import Any

API_KEY = "wait-log-api-key"


class SimulatedClock:
    """Wall time that moves only when the trigger sleeps (it starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)  # the loop still runs: the requests are real


def sync_steps(queued: int, running: int) -> list[dict[str, Any]]:
    """One poll per step: ``queued``, then ``running`` with growing counts, then ``completed``."""
    steps: list[dict[str, Any]] = [{"status": "queued", "polls": queued}]
    for minute in range(1, running + 1):
        counts = {"insert": 1000 * minute, "update": 200 * max(minute - 12, 0)}
        steps.append({"status": "running", "polls": 1, "counts": {**counts, "total": sum(counts.values())}})
    final = steps[-1]["counts"]
    steps.append({"status": "completed", "counts": final})
    return steps


class Captured(logging.Handler):
    """The lines the trigger logged, with the simulated time each was logged at."""

    def __init__(self, clock: SimulatedClock) -> None:
        super().__init__()
        self.clock = clock
        self.lines: list[tuple[float, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((self.clock.now, record.levelname, record.getMessage()))


@dataclass
class SimulatedWait:
    event: dict[str, Any]
    polls: int
    lines: list[tuple[float, str, str]]
    began: float

    def text(self) -> str:
        """The lines as a task log shows them: simulated UTC time, level, message."""
        return "\n".join(
            f"[{datetime.fromtimestamp(at, timezone.utc):%H:%M:%S}] {level} - {message}"
            for at, level, message in self.lines
        )


def simulate(
    module: ModuleType, trigger_kwargs: dict[str, Any], clock: SimulatedClock, count_polls: Any
) -> SimulatedWait:
    """Run ``module.PolytomicSyncStatusTrigger(**trigger_kwargs).wait()`` on ``clock``; ``count_polls()`` says
    how many requests the sync got. Works with the trigger of any version: it replaces whichever clock the module
    reads (``_now``/``_sleep``, or its ``time``/``asyncio`` names)."""
    saved = {name: getattr(module, name) for name in ("_now", "_sleep", "time", "asyncio") if hasattr(module, name)}
    replacements = {
        "_now": clock.time,
        "_sleep": clock.sleep,
        "time": SimpleNamespace(time=clock.time, monotonic=clock.time),
        "asyncio": SimpleNamespace(sleep=clock.sleep),
    }
    for name in saved:
        setattr(module, name, replacements[name])
    try:
        trigger = module.PolytomicSyncStatusTrigger(**trigger_kwargs)
        handler = Captured(clock)
        logger = logging.getLogger(f"wait_log.{id(trigger)}")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(handler)
        trigger._log = logger  # the sink only: Airflow would route these lines to the task's log
        began = clock.now
        event = asyncio.run(trigger.wait())
    finally:
        for name, value in saved.items():
            setattr(module, name, value)
    return SimulatedWait(event, count_polls(), handler.lines, began)


def figures(wait: SimulatedWait) -> dict[str, float]:
    size = sum(len(message.encode()) + 1 for _, _, message in wait.lines)
    return {
        "polls": wait.polls,
        "lines": len(wait.lines),
        "lines_per_poll": round(len(wait.lines) / wait.polls, 3),
        "bytes_per_poll": round(size / wait.polls, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queued", type=int, default=3, help="polls the execution stays queued")
    parser.add_argument("--running", type=int, default=30, help="polls it runs")
    parser.add_argument("--interval", type=float, default=60.0, help="poll interval, seconds (simulated)")
    parser.add_argument("--module", default="airflow_provider_polytomic.triggers.polytomic", help="trigger module")
    args = parser.parse_args(argv)

    import importlib

    from airflow_provider_polytomic.testing import PolytomicEmulator

    with PolytomicEmulator({"api_keys": [API_KEY]}) as emulator:
        sync = emulator.add_sync(
            name="Orders to Salesforce", executions=[{"steps": sync_steps(args.queued, args.running)}]
        )
        os.environ["AIRFLOW_CONN_POLYTOMIC_DEFAULT"] = json.dumps(
            {"conn_type": "polytomic", "host": emulator.url, "password": API_KEY}
        )
        clock = SimulatedClock()
        kwargs = {
            "sync_id": sync.id,
            "execution_id": sync.executions[0].id,
            "poll_interval": args.interval,
            "waiting_since": clock.now,
        }
        module = importlib.import_module(args.module)
        if "waiting_since" not in inspect.signature(module.PolytomicSyncStatusTrigger).parameters:
            kwargs.pop("waiting_since")  # a trigger from before the argument existed
        wait = simulate(module, kwargs, clock, lambda: len(emulator.requests))
    print(wait.text())
    print(json.dumps(figures(wait)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
