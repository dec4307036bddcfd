"""What the triggers on one triggerer share: one ``aiohttp`` session per event loop and route, and reads.

A triggerer runs every trigger in one event loop. Giving each trigger its own session would cost each poll a
TCP and TLS handshake and each waiting trigger a TLS connection's buffers. Instead:

- **One pool per event loop and route** (scheme, host, port, TLS trust, proxy): every Polytomic trigger whose
  connection reaches Polytomic the same way uses one ``aiohttp`` session, at most ``max_connections``
  connections (a connection extra, default :data:`.core.defaults.DEFAULT_MAX_CONNECTIONS`). It holds no
  credentials (each request carries its own ``Authorization``) and keeps no cookies. It is closed when its last
  user leaves; a cancelled trigger leaves like any other. Sessions never cross event loops (tests and
  ``dag.test`` run several).
- **Coalesced reads**: identical GETs (same connection and key, same URL) share one request while it is in
  flight, and its answer may serve other waiters for ``max_age`` seconds (the status trigger uses half its poll
  interval). A waiter never gets an answer older than the one it was last given.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp

from airflow_provider_polytomic.core import transport
from airflow_provider_polytomic.core.config import ClientConfig

T = TypeVar("T")
#: A read older than this serves nobody (freshness windows are half a poll interval) and may be forgotten.
STALE_READ_SECONDS = 600.0


@dataclass
class SharedSession:
    """One pooled session and who uses it (triggers, and coalesced reads still in flight)."""

    session: aiohttp.ClientSession
    key: tuple[Any, ...]
    users: int = 0
    #: key -> the last read of that URL: when it was sent (loop time) and its task.
    reads: dict[tuple[Any, ...], tuple[float, asyncio.Task[Any]]] = field(default_factory=dict)
    #: The table is swept of stale reads when it grows past this; then it is set to twice what is left, so the
    #: sweep costs O(1) per read however many executions the triggerer watches.
    prune_at: int = 4096


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], SharedSession]] = (
    weakref.WeakKeyDictionary()
)


def pool_key(config: ClientConfig, route: transport.Route) -> tuple[Any, ...]:
    """Connections are shared only between users that reach Polytomic identically: the same origin, pool size
    and every connection setting of the route (derived from it, so a new setting cannot be shared by mistake)."""
    origin = urlsplit(config.base_url)
    return (origin.scheme, origin.hostname, origin.port, config.max_connections, *route.connection_settings())


def acquire(config: ClientConfig, route: transport.Route) -> SharedSession:
    """The running loop's session for this route (made on first use); the caller must :func:`release` it."""
    loop = asyncio.get_running_loop()
    pools = _pools.setdefault(loop, {})
    key = pool_key(config, route)
    shared = pools.get(key)
    if shared is None or shared.session.closed:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=transport.ssl_context(route), limit=config.max_connections),
            cookie_jar=aiohttp.DummyCookieJar(),  # shared between connections: it must remember nothing
            trust_env=False,  # no ~/.netrc; proxies come from the route
        )
        shared = pools[key] = SharedSession(session, key)
    shared.users += 1
    return shared


async def release(shared: SharedSession) -> None:
    """Leave the pool; the last user closes it."""
    shared.users -= 1
    if shared.users > 0:
        return
    pools = _pools.get(asyncio.get_running_loop(), {})
    if pools.get(shared.key) is shared:
        del pools[shared.key]
    await shared.session.close()


def pool_size(loop: asyncio.AbstractEventLoop | None = None) -> int:
    """How many pooled sessions the loop holds (for tests and benchmarks)."""
    return len(_pools.get(loop or asyncio.get_running_loop(), {}))


def read_key(config: ClientConfig, url: str, params: Any) -> tuple[Any, ...]:
    """Identical reads: same connection and credentials (hashed, never kept), same URL and query."""
    credentials = hashlib.sha256(f"{config.authorization}\x1f{config.api_version}".encode()).hexdigest()
    return (config.conn_id, credentials, url, tuple(sorted((params or {}).items())))


async def coalesced(
    shared: SharedSession,
    key: tuple[Any, ...],
    fetch: Callable[[], Awaitable[T]],
    *,
    max_age: float,
    newer_than: float | None,
) -> tuple[T, float]:
    """``fetch()``'s answer, or that of an identical read in flight or at most ``max_age`` seconds old and newer
    than ``newer_than``; with the loop time the answer's request was sent."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    previous = shared.reads.get(key)
    if previous is not None:
        sent, task = previous
        fresh = not task.done() or (now - sent <= max_age and task.exception() is None)
        if fresh and (newer_than is None or sent > newer_than):
            try:
                return await asyncio.shield(task), sent
            except asyncio.CancelledError:
                if task.cancelled():  # the read was abandoned, not this waiter: read for yourself
                    pass
                else:
                    raise
    task = loop.create_task(_holding(shared, fetch))
    task.add_done_callback(_retrieved)  # a read whose waiters all left must not warn "never retrieved"
    shared.reads[key] = (now, task)
    if len(shared.reads) > shared.prune_at:  # bounded: forget reads that nobody can use any more
        for stale in [k for k, (at, t) in shared.reads.items() if t.done() and now - at > STALE_READ_SECONDS]:
            del shared.reads[stale]
        shared.prune_at = max(4096, 2 * len(shared.reads))
    return await asyncio.shield(task), now


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _holding(shared: SharedSession, fetch: Callable[[], Awaitable[T]]) -> T:
    """Run a shared read as a user of the pool, so it outlives the waiter that started it."""
    shared.users += 1
    try:
        return await fetch()
    finally:
        await release(shared)
