"""Small misbehaving servers on 127.0.0.1, for faults the emulator cannot produce: a server that drips bytes,
answers 200 MB, drops the TLS handshake, speaks TLS with a certificate nobody trusts, or is a proxy.

Every server binds an ephemeral loopback port, serves on daemon threads and stops when its ``with`` block ends;
every loop here is bounded in time or bytes.
"""

from __future__ import annotations

import datetime
import json
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
EXECUTION = "22222222-2222-4222-8222-222222222222"
#: A status document the provider reads as "running".
RUNNING = json.dumps(
    {
        "data": {
            "current_execution": {"id": EXECUTION, "status": "running", "created_at": "2026-01-01T00:00:00Z"},
            "last_execution": None,
        }
    }
).encode()


# ---------------------------------------------------------------------------------------------------------
# Raw TCP servers: one handler call per connection
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RawServer:
    url: str
    port: int
    #: Bytes each handler reports having sent (filled in as connections end).
    sent: list[int] = field(default_factory=list)


def read_request_head(conn: socket.socket, limit: float = 5.0) -> bytes:
    """Read until the end of the request headers (or ``limit`` seconds)."""
    conn.settimeout(limit)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


@contextmanager
def raw_server(handler: Callable[[socket.socket], int], scheme: str = "http") -> Iterator[RawServer]:
    """Serve ``handler(conn) -> bytes sent`` on each connection until the block ends."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    server = RawServer(f"{scheme}://127.0.0.1:{port}", port)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            try:
                server.sent.append(handler(conn))
            except OSError:
                server.sent.append(-1)

    def accept() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([listener], [], [], 0.1)
            if ready:
                conn, _ = listener.accept()
                threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(5)
        listener.close()


#: How a dripped answer says what becomes of its connection: nothing (HTTP/1.1 keeps it open), ``Connection:
#: close``, or HTTP/1.0. ``http.client`` drops the connection's socket once an answer says it will close, so each
#: framing takes another path through the client.
DRIP_FRAMINGS = {
    "keep-alive": (b"HTTP/1.1", b""),
    "close": (b"HTTP/1.1", b"Connection: close\r\n"),
    "http-1.0": (b"HTTP/1.0", b""),
}


def drip(part: str, framing: str = "keep-alive") -> Callable[[socket.socket], int]:
    """A handler answering one byte every 0.2 s (for at most 20 s) of a valid response: its ``"headers"`` (the
    body never comes) or its ``"body"`` (after headers sent at once), framed as :data:`DRIP_FRAMINGS` says."""
    version, connection = DRIP_FRAMINGS[framing]
    head = version + b" 200 OK\r\nContent-Type: application/json\r\n" + connection

    def handler(conn: socket.socket) -> int:
        read_request_head(conn)
        if part == "headers":
            return _drip(conn, head + b"X-Padding: " + b"x" * 200 + b"\r\n")
        body = RUNNING + b" " * 200
        conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body))
        return _drip(conn, body)

    return handler


def _drip(conn: socket.socket, data: bytes) -> int:
    deadline = time.monotonic() + 20
    sent = 0
    for byte in data:
        if time.monotonic() > deadline:
            break
        conn.sendall(bytes([byte]))
        sent += 1
        time.sleep(0.2)
    return sent


HUGE = 200 * 1024 * 1024


def huge_body(declare_length: bool) -> Callable[[socket.socket], int]:
    """Answer 200 with a 200 MB JSON-looking body, declared (Content-Length) or chunked; return bytes sent."""

    def handler(conn: socket.socket) -> int:
        read_request_head(conn)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"Content-Length: %d\r\n\r\n" % HUGE if declare_length else b"Transfer-Encoding: chunked\r\n\r\n"
        conn.sendall(head)
        chunk = b'{"data": "' + b"x" * (1024 * 1024 - 10)
        sent = 0
        conn.settimeout(10)
        try:
            while sent < HUGE:
                piece = chunk if declare_length else b"%x\r\n%s\r\n" % (len(chunk), chunk)
                conn.sendall(piece)
                sent += len(chunk)
        except OSError:
            pass  # the client stopped reading and closed
        return sent

    return handler


def drop_tls_handshake(conn: socket.socket) -> int:
    """Read the ClientHello, then close: a handshake that ends early (a load balancer restarting)."""
    conn.settimeout(5)
    with suppress(OSError):
        conn.recv(4096)
    return 0


# ---------------------------------------------------------------------------------------------------------
# HTTP servers with scripted answers (optionally over TLS)
# ---------------------------------------------------------------------------------------------------------

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class HttpServer:
    url: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def http_server(
    answer: Callable[[str, str, dict[str, str]], Answer] | None = None, tls: ssl.SSLContext | None = None
) -> Iterator[HttpServer]:
    """``answer(method, path_and_query, headers)`` for every request; by default a running execution."""
    record = HttpServer("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            headers = dict(self.headers.items())
            record.requests.append((self.command, self.path, headers))
            status, extra, body = answer(self.command, self.path, headers) if answer else (200, {}, RUNNING)
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **extra}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    record.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 with a certificate made now, and the certificate's PEM path (the CA
    bundle a client must be given to trust it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "polytomic-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


# ---------------------------------------------------------------------------------------------------------
# A forwarding proxy (absolute-form requests and CONNECT tunnels)
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Proxy:
    url: str
    #: (method, target, Proxy-Authorization or None) per request the proxy handled.
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)


@contextmanager
def forwarding_proxy() -> Iterator[Proxy]:
    proxy = Proxy("")

    def handler(conn: socket.socket) -> int:
        head = read_request_head(conn)
        if not head:
            return 0
        lines = head.split(b"\r\n")
        method, target, _ = lines[0].decode().split(" ", 2)
        auth = next(
            (line.split(b":", 1)[1].strip().decode() for line in lines if line.lower().startswith(b"proxy-auth")),
            None,
        )
        proxy.seen.append((method, target, auth))
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)), timeout=10)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            return _pipe(conn, upstream)
        parts = urlsplit(target)
        upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [line for line in lines[1:] if line and not line.lower().startswith(b"proxy-")]
        rewritten = b"\r\n".join([f"{method} {path} HTTP/1.1".encode(), *kept, b"Connection: close", b"", b""])
        upstream.sendall(rewritten + head.split(b"\r\n\r\n", 1)[1])
        return _pipe(conn, upstream)

    with raw_server(handler) as server:
        proxy.url = server.url
        yield proxy


def _pipe(client: socket.socket, upstream: socket.socket) -> int:
    """Copy both ways until either side closes (at most 30 s)."""
    moved = 0
    deadline = time.monotonic() + 30
    with upstream:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([client, upstream], [], [], 0.5)
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return moved
                (upstream if source is client else client).sendall(data)
                moved += len(data)
    return moved
