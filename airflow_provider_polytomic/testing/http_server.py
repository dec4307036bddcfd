"""The emulator's HTTP front end: a threading server on loopback that records each request, applies the
faults that hit it, and answers with what the emulator decides."""

from __future__ import annotations

import email.utils
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from airflow_provider_polytomic.testing.emulator import PolytomicEmulator

#: What Polytomic assumes, and echoes in ``X-Polytomic-Version``, when a request does not say.
UNVERSIONED_API_VERSION = "2021-05-23"


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


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops connections when many clients start at once
    emulator: PolytomicEmulator

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
        when = (time.time() if timestamp is None else timestamp) + self.server.emulator.clock_offset
        return email.utils.formatdate(when, usegmt=True)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {name: value for name, value in self.headers.items()}
        record = RecordedRequest(method, parts.path, query, _redact(headers), body, None)
        with emulator.lock:
            emulator.requests.append(record)  # on arrival, so the log keeps arrival order even with delays
            hit = [item for item in emulator.faults if item.hits(method, parts.path)]  # every fault counts
        fault = hit[0] if hit else None
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        status: int | None
        extra: dict[str, str] = {}
        if fault is None or not fault.answers_itself:
            with emulator.lock:
                status, document = emulator.handle(method, parts.path, query, headers, body)
            payload = json.dumps(fault.rewrite(document) if fault else document).encode()
        else:
            status, payload, extra = fault.answer()
        # Record the answer before giving it, so a client that reads the log right after its answer finds it.
        with emulator.lock:
            for index in range(len(emulator.requests) - 1, -1, -1):
                if emulator.requests[index] is record:
                    emulator.requests[index] = replace(record, status=status)
                    break
        if status is None:
            self.close_connection = True
        elif fault is not None and fault.kind == "truncated":
            self._answer(status, payload, {"Content-Length": "4096"})
            self.close_connection = True
        else:
            self._answer(status, payload, extra)

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
