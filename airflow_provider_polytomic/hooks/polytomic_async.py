"""The Polytomic API over ``aiohttp``, for the triggerer: the async twin of ``PolytomicHook``'s transport.

Only triggers import this module, so a DAG file never pays for ``aiohttp``. It does async I/O only: the
connection is read with ``get_async_connection`` (never a blocking lookup on the event loop), and the
``aiohttp`` session comes from the event loop's shared pool (:mod:`.shared_session`), where identical reads are
coalesced. It reaches Polytomic exactly as the hook does: proxy, CA
bundle, size limit and whole-request timeout come from :func:`~airflow_provider_polytomic.core.transport.route_for`,
and ``aiohttp``'s own environment handling (``trust_env``, which would read ``~/.netrc``) stays off.
"""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.common.compat.sdk import AirflowNotFoundException
from asgiref.sync import sync_to_async
from tenacity import RetryCallState

from airflow_provider_polytomic.core import masking, transport
from airflow_provider_polytomic.core.config import ClientConfig, connection_not_defined
from airflow_provider_polytomic.core.protocol import ApiCall
from airflow_provider_polytomic.hooks import shared_session

T = TypeVar("T")


#: How long one read of an Airflow connection serves the triggers of an event loop that start after it, s.
CONNECTION_REUSE_SECONDS = 10.0
#: Per event loop: connection id -> (loop time the read began, the read). Triggers that start together share
#: one read: a triggerer that restarts with 10,000 deferred sensors asks Airflow for their connection once
#: per 10 s, not 10,000 times (on Airflow 3 each ask is a round trip to the API server).
_connection_reads: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, tuple[float, asyncio.Future[ClientConfig]]]
] = weakref.WeakKeyDictionary()


async def _connection_config(conn_id: str) -> ClientConfig:
    """The connection's config: from a read another trigger of this loop began under
    :data:`CONNECTION_REUSE_SECONDS` ago (or has in flight), else from a new read. A failed read is never reused."""
    loop = asyncio.get_running_loop()
    reads = _connection_reads.setdefault(loop, {})
    now = loop.time()
    for other, (began, read) in list(reads.items()):
        if now - began > CONNECTION_REUSE_SECONDS or (read.done() and read.exception() is not None):
            del reads[other]  # expired or failed: the next trigger reads afresh, and no stale key stays
    if conn_id not in reads:
        reads[conn_id] = (now, asyncio.ensure_future(_read_connection(conn_id)))
    # Shielded: a trigger cancelled while waiting does not cancel the read the others wait for.
    return await asyncio.shield(reads[conn_id][1])


async def _read_connection(conn_id: str) -> ClientConfig:
    try:
        conn = await get_async_connection(conn_id)
    except AirflowNotFoundException:
        raise connection_not_defined(conn_id) from None
    extra = await get_async_extra_dejson(conn)
    config = ClientConfig.from_airflow(conn_id, conn, extra, mask=False)
    if not masking.masked(config.secrets):
        # In a worker thread: registering the key with the secrets masker is a synchronous call to the
        # supervisor, which Airflow 3.0's triggerer cannot make from its event loop's own thread. Once per
        # key and process: the hop costs more than the rest of reading the connection (0.18 of 0.64 ms).
        await sync_to_async(masking.mask_once)(config.secrets)
    return config


class AsyncPolytomicClient:
    """Sends :class:`~airflow_provider_polytomic.core.protocol.ApiCall` objects with ``aiohttp``."""

    def __init__(self, config: ClientConfig, log: Any = None) -> None:
        self.config = config
        self.log = log
        self.route = transport.route_for(config)
        # total bounds the whole request, headers and body, as the hook's Deadline does.
        self._timeout = aiohttp.ClientTimeout(total=self.route.timeout)
        self._shared: shared_session.SharedSession | None = None
        #: read key -> when the answer this client was last given was sent (it never gets an older one).
        self._seen: dict[tuple[Any, ...], float] = {}

    @classmethod
    async def from_connection(cls, conn_id: str, log: Any = None) -> AsyncPolytomicClient:
        config = await _connection_config(conn_id)
        config.log_warnings(log)  # the read may be shared: each trigger logs what concerns it
        return cls(config, log)

    @property
    def shared(self) -> shared_session.SharedSession:
        """This client's place in the running loop's pool (joined on first use)."""
        if self._shared is None:
            self._shared = shared_session.acquire(self.config, self.route)
        return self._shared

    async def close(self) -> None:
        if self._shared is not None:
            shared, self._shared = self._shared, None
            await shared_session.release(shared)

    async def __aenter__(self) -> AsyncPolytomicClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    async def run(self, call: ApiCall[T], *, max_age: float = 0.0) -> T:
        """Send ``call``, retrying transient failures as the hook does, and return its parsed result.

        A GET may be answered by an identical read of another trigger on this loop: one in flight, or one sent
        at most ``max_age`` seconds ago (never older than what this client was last given).
        """
        # The pool is taken once, here: every attempt of this request goes through it, even one made after this
        # client closed (a cancelled trigger whose shared read is still retrying for the others), which must never
        # join the pool again: it would hold a place nobody releases, and the session would never be closed.
        shared = self.shared
        if call.method != "GET":
            return await self._run(call, shared)
        key = shared_session.read_key(self.config, call.url(self.config), call.params)
        result, sent = await shared_session.coalesced(
            shared, key, lambda: self._run(call, shared), max_age=max_age, newer_than=self._seen.get(key)
        )
        self._seen[key] = sent
        return result

    async def _run(self, call: ApiCall[T], shared: shared_session.SharedSession) -> T:
        return await self.config.retry.acall(self._send, call, shared, before_sleep=self._log_retry)

    async def _send(self, call: ApiCall[T], shared: shared_session.SharedSession) -> T:
        config, route = self.config, self.route
        context = call.context(config)
        url = call.url(config)
        headers = call.headers(config, client="aiohttp")
        if route.proxy_headers and url.startswith("http:"):
            # aiohttp sends proxy_headers only on a CONNECT (https); a plain-http request carries them itself.
            headers.update(route.proxy_headers)
        try:
            async with shared.session.request(
                call.method,
                url,
                headers=headers,
                timeout=self._timeout,
                params=call.params,
                data=call.json_body(),
                allow_redirects=False,
                proxy=route.proxy,
                proxy_headers=dict(route.proxy_headers) or None,
            ) as response:
                reader = transport.BodyReader(context, route, response.headers)
                async for chunk in response.content.iter_chunked(transport.READ_CHUNK):
                    reader.add(chunk)
                status, answer_headers = response.status, response.headers
        except (aiohttp.InvalidURL, ValueError) as error:
            raise transport.request_failed(config, context, error, timed_out=False, invalid=True) from None
        except asyncio.TimeoutError as error:
            raise transport.request_failed(config, context, error, timed_out=True) from None
        except (aiohttp.ClientError, OSError) as error:
            raise transport.request_failed(config, context, error, timed_out=False) from None
        return call.read(config, status, answer_headers, reader.body())

    def _log_retry(self, state: RetryCallState) -> None:
        if self.log is not None:
            self.log.warning(self.config.retry.describe_retry(state))
