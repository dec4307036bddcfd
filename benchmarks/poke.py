"""The cost of one ``PolytomicSyncStatusSensor.poke()`` against the emulator, next to a bare ``requests`` call.

Two situations, each timed call by call (wall clock and this process's CPU time):

- **first poke**: a sensor that has not poked yet, as every poke in reschedule mode and the first poke in
  poke mode: the hook is created, the connection looked up (``AIRFLOW_CONN_POLYTOMIC_DEFAULT``), a
  ``requests.Session`` opened, the sync URL pushed to XCom (a stand-in task instance), then
  ``GET .../status``. Baseline: a new ``requests.Session()``, ``get()`` and ``json()`` on the same URL.
- **steady poke**: later pokes of one sensor in poke mode (Airflow keeps the operator instance): the
  cached hook and session, ``GET .../executions/{id}``. Baseline: one ``requests.Session`` reused for
  ``get()`` + ``json()`` on the same URL.

The calls alternate one by one (sensor, baseline, baseline, sensor, ...), so a noisy machine's changes of
speed hit both sides alike; the medians are compared. The emulator runs in another process.

``python -m benchmarks.poke --url URL --sync-id ID --execution-id ID --out FILE``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import bare_headers, write_json


class StandInTaskInstance:
    """What ``poke()`` needs of ``context["ti"]``: ``xcom_push`` (the sync URL, on the first poke)."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def timed(calls: int, call: Callable[[], object], after: Callable[[], object] | None = None) -> list[list[float]]:
    """``[wall_ms, cpu_ms]`` of each call; ``after`` runs untimed after each one."""
    samples = []
    for _ in range(calls):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        samples.append([(time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000])
        if after is not None:
            after()
    return samples


def summarize(samples: list[list[float]]) -> dict[str, float]:
    walls = [wall for wall, _ in samples]
    cpus = [cpu for _, cpu in samples]
    return {
        "calls": len(samples),
        "wall_ms_median": statistics.median(walls),
        "cpu_ms_median": statistics.median(cpus),
        "wall_ms_mean": statistics.fmean(walls),
        "cpu_ms_mean": statistics.fmean(cpus),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import requests

    from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor

    status_url = f"{args.url}/api/syncs/{args.sync_id}/status"
    execution_url = f"{args.url}/api/syncs/{args.sync_id}/executions/{args.execution_id}"
    headers = bare_headers()
    context: Any = {"ti": StandInTaskInstance()}
    created = 0

    def new_sensor() -> PolytomicSyncStatusSensor:
        nonlocal created
        created += 1
        return PolytomicSyncStatusSensor(task_id=f"wait_{created}", sync_id=args.sync_id, mode="poke")

    # Steady state: one sensor that has poked once (and now follows the execution by id).
    steady = new_sensor()
    steady.poke(context)
    session = requests.Session()
    session.get(execution_url, headers=headers, timeout=30).json()
    fresh: dict[str, Any] = {"sensor": new_sensor()}

    def first_poke() -> None:
        fresh["sensor"].poke(context)

    def next_sensor() -> None:
        fresh["sensor"].hook.close()
        fresh["sensor"] = new_sensor()  # built untimed: a DAG file builds it, not the poke

    def bare_first() -> None:
        fresh_session = requests.Session()
        fresh_session.get(status_url, headers=headers, timeout=30).json()
        fresh["session"] = fresh_session

    def close_bare() -> None:
        fresh.pop("session").close()

    # Warm up both paths (imports, logging set-up) before anything is timed.
    timed(3, first_poke, next_sensor)
    timed(3, bare_first, close_bare)
    samples: dict[str, list[list[float]]] = {key: [] for key in ("first", "bare_first", "steady", "bare_steady")}

    def bare_steady() -> None:
        session.get(execution_url, headers=headers, timeout=30).json()

    def steady_poke() -> None:
        steady.poke(context)

    # Call by call, alternating which side goes first: both sides see the same moments of a noisy machine.
    for round_number in range(args.rounds):
        for number in range(args.calls):
            pair = [("steady", steady_poke, None), ("bare_steady", bare_steady, None)]
            if number < args.first_calls:
                pair += [("first", first_poke, next_sensor), ("bare_first", bare_first, close_bare)]
            if (number + round_number) % 2:
                pair.reverse()
            for name, call, after in pair:
                samples[name].extend(timed(1, call, after))
    still_waiting = steady.poke(context) is False
    return {
        "first": summarize(samples["first"]),
        "bare_first": summarize(samples["bare_first"]),
        "steady": summarize(samples["steady"]),
        "bare_steady": summarize(samples["bare_steady"]),
        "sensor_still_waiting": still_waiting,
        "xcom_pushed": sorted(context["ti"].pushed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.poke", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--sync-id", required=True)
    parser.add_argument("--execution-id", required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=100, help="steady pokes (and bare calls) per round")
    parser.add_argument("--first-calls", type=int, default=40, help="first pokes (and bare calls) per round")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    result = run(args)
    write_json(Path(args.out), result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
