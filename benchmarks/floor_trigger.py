"""The floor of the real-triggerer benchmark (``benchmarks/real_triggerer.py``): the least a trigger can do to
wait for a Polytomic execution in Airflow's triggerer.

One GET of the execution per interval on one ``aiohttp`` session shared by every floor trigger of the event
loop (at most 64 connections, as the provider's pool), ``json.loads``, and nothing else: no connection lookup,
no retries, not a single log line. Its first poll waits one interval plus up to a tenth more at random, as the
provider's trigger does, so the two phases spread their polls alike.

Airflow's triggerer imports it by its class path, ``benchmarks.floor_trigger.FloorTrigger``: the triggerer
runs with the repository on ``PYTHONPATH``.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from benchmarks._common import TERMINAL, bare_headers

SHARED_CONNECTIONS = 64  # the provider's default pool size
FIRST_POLL_JITTER = 0.1  # as the provider's trigger: the first poll waits interval × (1 + up to 0.1)

#: One session per event loop, as the provider keeps one pool per loop; never closed (it lives as long as the
#: triggerer's loop).
_sessions: dict[int, Any] = {}


def _session() -> Any:
    import aiohttp

    loop = asyncio.get_running_loop()
    session = _sessions.get(id(loop))
    if session is None or session.closed:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SHARED_CONNECTIONS))
        _sessions[id(loop)] = session
    return session


class FloorTrigger(BaseTrigger):
    """Polls ``{url}/api/syncs/{sync_id}/executions/{execution_id}`` until the execution ends."""

    def __init__(self, url: str, sync_id: str, execution_id: str, poll_interval: float) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.url = url
        self.sync_id = sync_id
        self.execution_id = execution_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "url": self.url,
                "sync_id": self.sync_id,
                "execution_id": self.execution_id,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        address = f"{self.url}/api/syncs/{self.sync_id}/executions/{self.execution_id}"
        headers = bare_headers()
        await asyncio.sleep(self.poll_interval * (1 + FIRST_POLL_JITTER * random.random()))
        while True:
            async with _session().get(address, headers=headers) as response:
                body = await response.read()
            execution: dict[str, Any] = json.loads(body)["data"]
            if execution["status"] in TERMINAL:
                payload = {"status": execution["status"], "execution_id": self.execution_id}
                yield TriggerEvent(payload)  # type: ignore[no-untyped-call]
                return
            await asyncio.sleep(self.poll_interval)
