"""The emulator's HTTP front end: a threading server on loopback that reads each request and writes the answer
its :class:`Backend` decides. It knows HTTP only: which faults hit a request, what is recorded and what is
answered are the emulator's (``emulator.py``), which depends on this module and never the other way round."""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from airflow_provider_polytomic.testing.documents import error_document

#: What Polytomic assumes, and echoes in ``X-Polytomic-Version``, when a request does not say.
UNVERSIONED_API_VERSION = "2021-05-23"
#: The largest request body read (the API's bodies are a few hundred bytes).
MAX_REQUEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    """A request the emulator received; ``headers`` has the credentials redacted.

    Requests are logged as they arrive. ``status`` is what the emulator answered: ``None`` while the answer is
    still pending (a ``delay`` fault) or when the connection was dropped without one.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int | None
    #: ``time.monotonic()`` when the request arrived: the pause between two requests shows a client's backoff.
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Answer:
    """What to write back: ``status`` None drops the connection without an answer; ``close`` closes it after."""

    status: int | None
    payload: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    close: bool = False


class Backend(Protocol):
    """What the server serves: the emulator, as far as HTTP needs to know it."""

    @property
    def clock_offset(self) -> float:
        """Seconds the served clock (the ``Date`` header) is ahead of this machine's."""
        ...

    def serve(self, request: RecordedRequest, headers: Mapping[str, str]) -> Answer:
        """Record ``request`` and decide its answer (``headers`` unredacted, for authentication)."""
        ...

    def record(self, request: RecordedRequest, note: str = "") -> None:
        """Record a request the server refused by itself (``note``: why, for the request log)."""
        ...


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops connections when many clients start at once
    backend: Backend

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away (it timed out on a delay fault): nothing to report
        super().handle_error(request, client_address)


def _redact(headers: Mapping[str, str]) -> dict[str, str]:
    redacted = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme, space, _ = value.partition(" ")
            value = f"{scheme} ***" if space else "***"  # a value without a scheme may be the key itself
        redacted[name] = value
    return redacted


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm each keep-alive answer waited 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is the record; stderr noise helps nobody

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header, on the emulated Polytomic's clock (its clock_offset).
        when = (time.time() if timestamp is None else timestamp) + self.server.backend.clock_offset
        return email.utils.formatdate(when, usegmt=True)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = _body_length(self.headers.get("Content-Length"))
        if length is None:
            self._refuse_length(method, parts.path, query)
            return
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {name: value for name, value in self.headers.items()}
        record = RecordedRequest(method, parts.path, query, _redact(headers), body, None)
        answer = self.server.backend.serve(record, headers)
        if answer.status is not None:
            self._answer(answer.status, answer.payload, answer.headers)
        if answer.status is None or answer.close:
            self.close_connection = True

    def _refuse_length(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        """A 400 for a ``Content-Length`` that is not a byte count the emulator will read. ``-1`` would read until
        the client hangs up and ``10**12`` until memory runs out: the body is left unread and the connection
        closed, since nothing says where the next request would start."""
        message = f"Content-Length must be a whole number of bytes from 0 to {MAX_REQUEST_BYTES}"
        self.server.backend.record(
            RecordedRequest(method, path, query, _redact(dict(self.headers.items())), None, 400),
            "Content-Length refused",
        )
        self._answer(400, json.dumps(error_document(400, message, "bad_request")).encode(), {"Connection": "close"})
        self.wfile.flush()
        self._drain()

    def _drain(self, seconds: float = 1.0, limit: int = MAX_REQUEST_BYTES) -> None:
        """Read and drop what the client already sent (for at most ``seconds`` or ``limit`` bytes): closing a
        socket with unread data resets the connection, and the client may then lose the 400 it was sent."""
        deadline = time.monotonic() + seconds
        drained = 0
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            while drained < limit and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)

    def _answer(self, status: int, payload: bytes, extra_headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        headers = {
            "Content-Length": str(len(payload)),
            "X-Polytomic-Version": self.headers.get("X-Polytomic-Version") or UNVERSIONED_API_VERSION,
            **(extra_headers or {}),
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _body_length(value: str | None) -> int | None:
    """The request body's length from its ``Content-Length`` (0 without one); None when it is not ASCII digits or
    is over :data:`MAX_REQUEST_BYTES`."""
    if value is None:
        return 0
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 12 or int(value) > MAX_REQUEST_BYTES:
        return None
    return int(value)
