"""The Polytomic API over ``aiohttp``, for the triggerer: the async twin of ``PolytomicHook``'s transport.

Only triggers import this module, so a DAG file never pays for ``aiohttp``. It does async I/O only: the
connection is read with ``get_async_connection`` (never a blocking lookup on the event loop) and one
``aiohttp.ClientSession`` serves the client's life.
"""

from __future__ import annotations

import asyncio
import ssl
from functools import lru_cache
from types import TracebackType
from typing import Any, TypeVar, cast

import aiohttp
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from tenacity import AsyncRetrying, RetryCallState

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.protocol import ApiCall, ClientConfig
from airflow_provider_polytomic.core.retry import replay_first

T = TypeVar("T")


@lru_cache(maxsize=16)
def _ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    """One SSL context per setting for the whole process: building one costs milliseconds of CPU."""
    if verify is False:
        return False
    if verify is True:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=verify)


class AsyncPolytomicClient:
    """Sends :class:`~airflow_provider_polytomic.core.protocol.ApiCall` objects with ``aiohttp``."""

    def __init__(self, config: ClientConfig, log: Any = None) -> None:
        self.config = config
        self.log = log
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    async def from_connection(cls, conn_id: str, log: Any = None) -> AsyncPolytomicClient:
        conn = await get_async_connection(conn_id)
        extra = await get_async_extra_dejson(conn)
        config = ClientConfig.from_connection(
            conn_id, host=conn.host, port=conn.port, login=conn.login, password=conn.password, extra=extra
        )
        if config.verify is False and log is not None:
            log.warning("TLS certificate verification is OFF for connection '%s' (extra verify=false).", conn_id)
        return cls(config, log)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.timeout),
                connector=aiohttp.TCPConnector(ssl=_ssl_context(self.config.verify), limit=4),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AsyncPolytomicClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    async def run(self, call: ApiCall[T]) -> T:
        """Send ``call``, retrying transient failures as the hook does, and return its parsed result."""
        policy = self.config.retry
        try:
            return await self._send(call)
        except Exception as error:
            if not policy.is_retryable(error):
                raise
            attempt = replay_first(error, self._send)
        retrying = AsyncRetrying(**policy.tenacity_settings(before_sleep=self._log_retry))
        return cast(T, await retrying(attempt, call))

    async def _send(self, call: ApiCall[T]) -> T:
        config = self.config
        context = call.context(config)
        try:
            async with self.session.request(
                call.method,
                call.url(config),
                headers=call.headers(config, client="aiohttp"),
                params=call.params,
                data=call.json_body(),
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return call.read(config, response.status, response.headers, body)
        except aiohttp.ClientSSLError as error:
            raise protocol.tls_error(context, type(error).__name__) from None
        except asyncio.TimeoutError:
            raise protocol.transport_error(context, "timeout", timed_out=True, timeout=config.timeout) from None
        except aiohttp.ClientError as error:
            raise protocol.transport_error(
                context, type(error).__name__, timed_out=False, timeout=config.timeout
            ) from None

    def _log_retry(self, state: RetryCallState) -> None:
        if self.log is not None:
            self.log.warning(self.config.retry.describe_retry(state))
