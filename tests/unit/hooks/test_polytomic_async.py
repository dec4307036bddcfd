"""The async transport (``AsyncPolytomicClient``) on its own, against the emulator: what it sends, how it reads
the Airflow connection, retries, errors that name the connection and never the key, and its pool membership."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.errors import (
    PolytomicAuthError,
    PolytomicConfigError,
    PolytomicNotFoundError,
    PolytomicUnavailableError,
)
from airflow_provider_polytomic.core.models import ExecutionStatus
from airflow_provider_polytomic.hooks import polytomic_async, shared_session
from airflow_provider_polytomic.hooks.polytomic_async import AsyncPolytomicClient
from airflow_provider_polytomic.testing import PolytomicEmulator
from tests.conftest import API_KEY, DEPLOYMENT_KEY, ORG_ID

SYNC = "7a2c4e6f-8b1d-4f3a-9c5e-0d2f4a6b8c1e"
STATUS = f"/api/syncs/{SYNC}/status"
EXECUTIONS = f"/api/syncs/{SYNC}/executions"
MakeConnection = Callable[..., str]
T = TypeVar("T")


def call(conn_id: str, api_call: protocol.ApiCall[T]) -> T:
    """One call on a fresh client, closed afterwards (as a trigger does around its run)."""

    async def scenario() -> T:
        async with await AsyncPolytomicClient.from_connection(conn_id) as client:
            return await client.run(api_call)

    return asyncio.run(scenario())


def test_a_read_sends_the_key_the_api_version_and_names_the_transport(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 100}]}])
    status = call(make_connection(api_version="2024-02-08"), protocol.get_sync_status(SYNC))
    assert status.current_execution is not None
    assert status.current_execution.known_status is ExecutionStatus.RUNNING
    (request,) = emulator.requests_to(STATUS)
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["authorization"] == "Bearer ***"  # the emulator redacts what it logs; it checked the key
    assert headers["x-polytomic-version"] == "2024-02-08"
    assert headers["user-agent"].startswith("airflow-provider-polytomic/") and "(aiohttp)" in headers["user-agent"]


def test_a_deployment_key_goes_as_basic_auth(make_connection: MakeConnection, emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC)
    conn_id = make_connection(login=ORG_ID, password=DEPLOYMENT_KEY)
    assert call(conn_id, protocol.get_sync_status(SYNC)).current_execution is None
    assert base64.b64encode(f"{ORG_ID}:{DEPLOYMENT_KEY}".encode()).decode() not in str(emulator.requests)
    assert emulator.requests_to(STATUS)[0].status == 200


def test_a_start_is_a_post_with_its_idempotency_key_and_is_never_coalesced(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC)
    conn_id = make_connection()
    start = protocol.start_sync(SYNC, idempotency_key="airflow-async-0001")

    async def scenario() -> list[Any]:
        async with await AsyncPolytomicClient.from_connection(conn_id) as client:
            return await asyncio.gather(client.run(start), client.run(start))

    first, second = asyncio.run(scenario())
    assert first.id == second.id  # the same key: Polytomic returns the run it started
    posts = emulator.requests_to(EXECUTIONS, method="POST")
    assert len(posts) == 2
    assert all(post.headers.get("Idempotency-Key") == "airflow-async-0001" for post in posts)


def test_a_transient_failure_is_retried_and_the_answer_comes_back(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC)
    emulator.add_fault("status", path=STATUS, status=503, requests=[1, 2])
    call(make_connection(max_retries=3), protocol.get_sync_status(SYNC))
    assert [request.status for request in emulator.requests_to(STATUS)] == [503, 503, 200]


def test_giving_up_says_how_often_it_tried(make_connection: MakeConnection, emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC)
    emulator.add_fault("status", path=STATUS, status=502)
    with pytest.raises(PolytomicUnavailableError, match="Gave up after 2 attempts"):
        call(make_connection(max_retries=1), protocol.get_sync_status(SYNC))
    assert len(emulator.requests_to(STATUS)) == 2


def test_a_wrong_key_names_the_connection_and_never_the_key(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC)
    wrong = "pk_live_SECRET_wrong_key_0000"
    with pytest.raises(PolytomicAuthError) as raised:
        call(make_connection("polytomic_wrong", password=wrong), protocol.get_sync_status(SYNC))
    assert "polytomic_wrong" in str(raised.value) and "HTTP 401" in str(raised.value)
    assert wrong not in str(raised.value) and API_KEY not in str(raised.value)
    assert len(emulator.requests_to(STATUS)) == 1  # permanent: not retried


def test_an_unknown_sync_is_not_found_and_names_the_sync(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    with pytest.raises(PolytomicNotFoundError, match=SYNC):
        call(make_connection(), protocol.get_sync_status(SYNC))


def test_an_undefined_connection_is_a_config_error_before_any_request(emulator: PolytomicEmulator) -> None:
    with pytest.raises(PolytomicConfigError, match="polytomic_nowhere"):
        call("polytomic_nowhere", protocol.get_sync_status(SYNC))
    assert emulator.requests == []


def test_a_client_joins_the_loops_pool_on_first_use_and_leaves_it_on_close(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC)
    conn_id = make_connection()

    async def scenario() -> list[int]:
        client = await AsyncPolytomicClient.from_connection(conn_id)
        sizes = [shared_session.pool_size()]
        await client.run(protocol.get_sync_status(SYNC))
        sizes.append(shared_session.pool_size())
        await client.close()
        await client.close()  # closing twice is harmless
        sizes.append(shared_session.pool_size())
        return sizes

    assert asyncio.run(scenario()) == [0, 1, 0]


def test_triggers_that_start_together_share_one_read_of_the_connection(
    make_connection: MakeConnection, emulator: PolytomicEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = make_connection()

    async def configs() -> list[Any]:
        clients = await asyncio.gather(*(AsyncPolytomicClient.from_connection(conn_id) for _ in range(20)))
        return [client.config for client in clients]

    shared = asyncio.run(configs())
    assert all(config is shared[0] for config in shared)  # one read served all twenty
    # Once the reuse window has passed, an edited connection is read again.
    monkeypatch.setattr(polytomic_async, "CONNECTION_REUSE_SECONDS", 0.0)

    async def before_and_after_an_edit() -> tuple[Any, Any]:
        first = await AsyncPolytomicClient.from_connection(conn_id)
        await asyncio.sleep(0.01)
        make_connection(conn_id, timeout=7)
        second = await AsyncPolytomicClient.from_connection(conn_id)
        return first.config, second.config

    first, second = asyncio.run(before_and_after_an_edit())
    assert (first.timeout, second.timeout) == (2, 7)


def test_a_failed_read_of_the_connection_is_not_reused(
    make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    async def scenario() -> Any:
        with pytest.raises(PolytomicConfigError, match="polytomic_later"):
            await AsyncPolytomicClient.from_connection("polytomic_later")
        make_connection("polytomic_later")  # defined a moment later: the next trigger finds it
        return (await AsyncPolytomicClient.from_connection("polytomic_later")).config

    assert asyncio.run(scenario()).timeout == 2
