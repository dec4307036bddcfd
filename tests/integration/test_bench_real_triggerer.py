"""The real-triggerer benchmark's cheap parts (``benchmarks/real_triggerer.py``): its flags, its emulator scenario,
and its floor trigger over real HTTP. The benchmark itself starts Airflow processes for minutes: it is run from
``scripts/bench --parts real-triggerer``, never from the tests."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from typing import Any

from airflow_provider_polytomic.testing import PolytomicEmulator
from benchmarks import real_triggerer
from benchmarks.__main__ import DEFAULT_PARTS, PARTS
from benchmarks._common import API_KEY, bare_headers
from benchmarks.floor_trigger import FloorTrigger


def test_the_part_is_run_by_name_only_and_its_flags_parse() -> None:
    assert real_triggerer.PART in PARTS
    assert real_triggerer.PART not in DEFAULT_PARTS  # minutes of real Airflow processes: asked for by name
    parser = argparse.ArgumentParser()
    real_triggerer.add_arguments(parser)
    args = parser.parse_args(["--rt-waits", "12", "--rt-window", "30"])
    args.quick = True
    real_triggerer.configure(args)
    assert (args.rt_waits, args.rt_window) == (12, 30.0)
    assert 0 < args.rt_interval < args.rt_window  # the window sees several polls of every wait


def test_every_wait_of_the_scenario_has_its_own_execution_that_keeps_running() -> None:
    scenario = real_triggerer.scenario(3)
    pairs = {(sync["id"], sync["executions"][0]["id"]) for sync in scenario["syncs"]}
    assert len(pairs) == 3
    with PolytomicEmulator(scenario) as emulator:  # the emulator validates the scenario
        import requests

        sync_id, execution_id = next(iter(pairs))
        url = f"{emulator.url}/api/syncs/{sync_id}/executions/{execution_id}"
        for _ in range(5):
            answer = requests.get(url, headers=bare_headers(), timeout=10)
            assert answer.json()["data"]["status"] == "running"


def test_the_floor_trigger_polls_over_one_shared_session_until_the_execution_ends() -> None:
    steps = [{"status": "running", "polls": 2}, {"status": "completed"}]
    syncs = [{"id": str(uuid.uuid4()), "executions": [{"id": str(uuid.uuid4()), "steps": steps}]} for _ in range(2)]
    with PolytomicEmulator({"api_keys": [API_KEY], "syncs": syncs}) as emulator:
        triggers = [
            FloorTrigger(
                url=emulator.url, sync_id=sync["id"], execution_id=sync["executions"][0]["id"], poll_interval=0.02
            )
            for sync in syncs
        ]
        # What Airflow stores and the triggerer rebuilds the trigger from.
        rebuilt = [FloorTrigger(**trigger.serialize()[1]) for trigger in triggers]
        assert all(trigger.serialize()[0] == "benchmarks.floor_trigger.FloorTrigger" for trigger in rebuilt)

        async def payloads(trigger: FloorTrigger) -> list[Any]:
            return [event.payload async for event in trigger.run()]

        async def run_all() -> list[list[Any]]:
            from benchmarks import floor_trigger

            results = await asyncio.gather(*(payloads(trigger) for trigger in rebuilt))
            assert len(floor_trigger._sessions) == 1  # one session for every floor trigger of the loop
            await next(iter(floor_trigger._sessions.values())).close()
            floor_trigger._sessions.clear()
            return list(results)

        events = asyncio.run(run_all())
        assert events == [[{"status": "completed", "execution_id": sync["executions"][0]["id"]}] for sync in syncs]
        reads = emulator.requests_to(r"/api/syncs/[^/]+/executions/[^/]+")
        assert len(reads) == 2 * 3  # running twice, then completed: no request more
