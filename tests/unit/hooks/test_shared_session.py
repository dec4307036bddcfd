"""The triggerer's shared pool and coalesced reads, against the emulator: life cycle (last user leaves, a
trigger cancelled mid-request, two event loops), coalescing (one request for identical reads, never another
connection's answer, never an older answer), and no double poll at deferral."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.hooks import shared_session
from airflow_provider_polytomic.hooks.polytomic_async import AsyncPolytomicClient
from airflow_provider_polytomic.testing import PolytomicEmulator
from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger
from tests.conftest import DEPLOYMENT_KEY, ORG_ID

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
STATUS = f"/api/syncs/{SYNC}/status"
MakeConnection = Callable[..., str]


def running(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 10_000}]}])


async def client(conn_id: str) -> AsyncPolytomicClient:
    return await AsyncPolytomicClient.from_connection(conn_id)


def test_clients_share_one_pool_that_closes_with_its_last_user(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    running(emulator)
    conn_id = make_connection()

    async def scenario() -> None:
        first, second = await client(conn_id), await client(conn_id)
        await first.run(protocol.get_sync_status(SYNC))
        await second.run(protocol.get_sync_status(SYNC))
        assert first.shared is second.shared and shared_session.pool_size() == 1
        session = first.shared.session
        await first.close()
        assert not session.closed and shared_session.pool_size() == 1
        await second.close()
        assert session.closed and shared_session.pool_size() == 0

    asyncio.run(scenario())


def test_identical_reads_due_together_are_one_request(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    running(emulator)
    emulator.add_fault("delay", path=STATUS, seconds=0.3, requests=[1])
    conn_id = make_connection()

    async def scenario() -> list[Any]:
        clients = [await client(conn_id) for _ in range(20)]
        try:
            return await asyncio.gather(*(c.run(protocol.get_sync_status(SYNC)) for c in clients))
        finally:
            for c in clients:
                await c.close()

    answers = asyncio.run(scenario())
    assert len(answers) == 20 and all(answer == answers[0] for answer in answers)
    assert len(emulator.requests_to(STATUS)) == 1


def test_a_fresh_answer_serves_others_but_never_an_older_one(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    running(emulator)
    conn_id = make_connection()

    async def scenario() -> None:
        a, b = await client(conn_id), await client(conn_id)
        await a.run(protocol.get_sync_status(SYNC), max_age=60)
        await b.run(protocol.get_sync_status(SYNC), max_age=60)  # within the window: a's answer
        assert len(emulator.requests_to(STATUS)) == 1
        await a.run(protocol.get_sync_status(SYNC), max_age=0)  # a asks afresh
        assert len(emulator.requests_to(STATUS)) == 2
        await b.run(protocol.get_sync_status(SYNC), max_age=60)  # newer than b's last: a's new answer
        assert len(emulator.requests_to(STATUS)) == 2
        await b.run(protocol.get_sync_status(SYNC), max_age=60)  # b already had that one: never again, ask
        assert len(emulator.requests_to(STATUS)) == 3
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_another_connection_never_gets_the_answer_but_shares_the_pool(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    running(emulator)
    bearer = make_connection("bearer")
    basic = make_connection("basic", login=ORG_ID, password=DEPLOYMENT_KEY)

    async def scenario() -> None:
        a, b = await client(bearer), await client(basic)
        await asyncio.gather(
            a.run(protocol.get_sync_status(SYNC), max_age=60), b.run(protocol.get_sync_status(SYNC), max_age=60)
        )
        assert a.shared is b.shared  # same route: one pool, credentials per request
        await a.close()
        await b.close()

    asyncio.run(scenario())
    schemes = sorted(request.headers["Authorization"].split()[0] for request in emulator.requests_to(STATUS))
    assert schemes == ["Basic", "Bearer"]


def test_a_trigger_cancelled_mid_request_leaves_the_others_and_the_pool_sound(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    running(emulator)
    emulator.add_fault("delay", path=STATUS, seconds=0.5, requests=[1])
    conn_id = make_connection()

    async def scenario() -> None:
        first, second = await client(conn_id), await client(conn_id)

        async def poll_then_close(c: AsyncPolytomicClient) -> Any:
            async with c:
                return await c.run(protocol.get_sync_status(SYNC))

        doomed = asyncio.ensure_future(poll_then_close(first))
        survivor = asyncio.ensure_future(poll_then_close(second))
        await asyncio.sleep(0.1)  # both wait on the one request in flight
        doomed.cancel()
        status = await survivor
        assert status.current_execution is not None
        assert doomed.cancelled()
        assert shared_session.pool_size() == 0  # the survivor was the last user

    asyncio.run(scenario())
    assert len(emulator.requests_to(STATUS)) == 1


def test_event_loops_never_share_a_session(make_connection: MakeConnection, emulator: PolytomicEmulator) -> None:
    running(emulator)
    conn_id = make_connection()
    sessions = []

    async def one_loop() -> None:
        c = await client(conn_id)
        await c.run(protocol.get_sync_status(SYNC))
        sessions.append(c.shared.session)
        await c.close()

    asyncio.run(one_loop())
    asyncio.run(one_loop())
    assert sessions[0] is not sessions[1] and all(session.closed for session in sessions)


def test_the_trigger_waits_one_interval_before_its_first_poll(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    """The sensor checked just before deferring; the trigger must not ask again ~70 ms later."""
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "completed"}]}])
    trigger = PolytomicSyncStatusTrigger(sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.6)
    started = time.monotonic()  # the emulator records arrivals on the monotonic clock
    event = asyncio.run(trigger.wait())
    assert event["verdict"] == "succeeded"
    (request,) = emulator.requests_to(STATUS)
    assert request.at - started >= 0.6


def test_max_connections_is_a_bounded_whole_number(make_connection: MakeConnection) -> None:
    import pytest

    from airflow_provider_polytomic.core.errors import PolytomicConfigError

    assert asyncio.run(client(make_connection(max_connections=8))).config.max_connections == 8
    with pytest.raises(PolytomicConfigError, match="max_connections"):
        asyncio.run(client(make_connection("bad", max_connections=0)))


def test_the_read_table_is_swept_in_amortised_constant_time() -> None:
    """10,000 triggers on 10,000 executions made every new read scan the whole table (the benchmark's 80 s
    event-loop stalls): after a sweep the next one waits until the table has doubled."""

    async def scenario() -> None:
        shared = shared_session.SharedSession(session=None, key=())  # type: ignore[arg-type]
        shared.users = 1  # the reads below hold and release it; the session itself is never used

        async def answer() -> int:
            return 1

        for n in range(10_000):
            await shared_session.coalesced(shared, (n,), answer, max_age=0, newer_than=None)
        assert len(shared.reads) == 10_000  # all fresh: nothing to forget
        assert shared.prune_at >= 10_000  # so the next sweep waits until the table doubles

    asyncio.run(scenario())


def test_a_client_closed_while_its_shared_read_retries_never_rejoins_the_pool(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    """A trigger cancelled while its read waits to retry (its 503 asked for 0.5 s): the retry went through the
    closed client and joined the pool again, a place nobody released, so the session stayed open for the life of
    the event loop (and aiohttp's "Unclosed client session" when it is finally collected)."""
    running(emulator)
    emulator.add_fault("status", path=STATUS, status=503, retry_after="0.5", requests=[1])
    conn_id = make_connection()

    async def scenario() -> None:
        trigger_client = await client(conn_id)

        async def poll() -> Any:
            async with trigger_client:  # what a trigger does: the client closes when the trigger is cancelled
                return await trigger_client.run(protocol.get_sync_status(SYNC))

        trigger = asyncio.ensure_future(poll())
        while not [r for r in emulator.requests_to(STATUS) if r.status == 503]:
            await asyncio.sleep(0.01)
        shared = trigger_client.shared
        trigger.cancel()  # the triggerer cancels the trigger during the 0.5 s pause before the retry
        await asyncio.gather(trigger, return_exceptions=True)
        assert trigger.cancelled() and not shared.session.closed  # the read goes on for whoever joined it
        ((_, read),) = shared.reads.values()
        status = await read
        assert status.current_execution is not None
        # The read has left the pool, and it was the last user: the session is closed.
        assert shared_session.pool_size() == 0 and shared.users == 0 and shared.session.closed

    asyncio.run(scenario())
    assert len(emulator.requests_to(STATUS)) == 2  # the retry was made, after the trigger had gone


def test_the_pool_key_tells_apart_routes_that_differ_in_any_connection_setting() -> None:
    """Derived from the route: every field but the per-request ones (timeout, body cap, the proxy as written)
    keeps pools apart, so a trust setting added to ``Route`` later cannot be shared by mistake."""
    from dataclasses import fields, replace

    from airflow_provider_polytomic.core import transport
    from airflow_provider_polytomic.core.config import ClientConfig

    config = ClientConfig(conn_id="c", base_url="https://app.polytomic.com", authorization="Bearer k")
    base = transport.Route()
    other = {
        "proxy": "http://proxy:3128",
        "proxy_headers": {"Proxy-Authorization": "Basic eDp5"},
        "ca_bundle": "/etc/ssl/other.pem",
        "verify": False,
        "timeout": 5.0,
        "max_response_bytes": 1024,
        "proxy_as_given": "http://x:y@proxy:3128",
    }
    assert {item.name for item in fields(transport.Route)} == set(other), "a new Route field needs a case here"
    for name, value in other.items():
        shared = shared_session.pool_key(config, replace(base, **{name: value})) == shared_session.pool_key(
            config, base
        )
        per_request = bool(next(f for f in fields(transport.Route) if f.name == name).metadata.get("per_request"))
        assert shared is per_request, name
    assert not {"timeout", "max_response_bytes", "proxy_as_given"} ^ {
        item.name for item in fields(transport.Route) if item.metadata.get("per_request")
    }
