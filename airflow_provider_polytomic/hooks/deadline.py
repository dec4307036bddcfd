"""A time limit on a whole ``requests`` call, headers and body.

``requests``' own timeout bounds each socket read, so a server that drips one byte every 0.4 s keeps a
``timeout=1`` call going for as long as it likes. Here every connection the hook's session uses registers with
the calling thread's :class:`Deadline`; when the deadline passes, a watchdog shuts those sockets down, the
blocked read returns at once, and the hook reports a timeout. ``aiohttp`` needs none of this: its ``total``
timeout already bounds the whole request.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from types import TracebackType
from typing import Any

import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Deadline:
    """``with Deadline(seconds):`` around one request; ``expired`` tells afterwards whether it fired."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._connections: list[HTTPConnection] = []
        # The sockets themselves too: once an answer says it will close (``Connection: close``, HTTP/1.0),
        # http.client sets ``connection.sock`` to None and reads the body through the response alone.
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Deadline:
        _current.deadline = self
        _watchdog.add(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        _current.deadline = None
        _watchdog.discard(self)
        with self._lock:
            # A watchdog that fires late must not shut a connection the pool has since lent to another request.
            self._connections.clear()
            self._sockets.clear()

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connections.append(connection)
            sock = getattr(connection, "sock", None)
            if sock is not None:
                self._sockets.append(sock)
            if self.expired:
                self._shut_all()

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut_all()

    def _shut_all(self) -> None:
        for connection in self._connections:
            _shut(getattr(connection, "sock", None))
        for sock in self._sockets:
            _shut(sock)


def _shut(sock: socket.socket | None) -> None:
    if sock is None:
        return
    # The plain socket call: SSLSocket.shutdown would first unwrap, racing the thread blocked in a read. A socket
    # already closed has no descriptor left (fileno -1), so this can never reach a descriptor reused since.
    with contextlib.suppress(OSError, TypeError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread for the process, expiring deadlines in time order (no thread per request)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._live: set[int] = set()
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            self._live.add(id(deadline))
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="polytomic-deadline", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._wake.notify()

    def discard(self, deadline: Deadline) -> None:
        with self._wake:
            self._live.discard(id(deadline))

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and id(self._heap[0][2]) not in self._live:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait(timeout=60)
                    if not self._heap:
                        self._thread = None
                        return
                    continue
                due, _, deadline = self._heap[0]
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake.wait(timeout=delay)
                    continue
                heapq.heappop(self._heap)
                self._live.discard(id(deadline))
            deadline.expire()


_watchdog = _Watchdog()


class _Guarded:
    """Registers the connection with the calling thread's deadline when it connects and when it is used."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _register(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


def _register(connection: Any) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(connection)


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_POOLS = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An ``HTTPAdapter`` whose connections (direct or through a proxy) obey the thread's :class:`Deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[no-untyped-call]  # untyped in some requests
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)  # type: ignore[no-untyped-call]
        manager.pool_classes_by_scheme = _POOLS
        return manager
