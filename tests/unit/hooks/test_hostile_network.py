"""Both transports (the hook's ``requests`` and the triggerer's ``aiohttp``) against networks and servers that
misbehave: drips, 200 MB answers, dropped or untrusted TLS, plain http on an https URL, proxies, netrc,
redirects, a key echoed back. Every case runs on both transports and must end the same way."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_polytomic.core import definitions, protocol
from airflow_provider_polytomic.core.errors import (
    PolytomicAuthError,
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicError,
    PolytomicRequestError,
    PolytomicUnavailableError,
    is_transient,
)
from airflow_provider_polytomic.core.models import SyncStatus
from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
from airflow_provider_polytomic.hooks.polytomic_async import AsyncPolytomicClient
from airflow_provider_polytomic.testing import PolytomicEmulator
from tests import faultservers
from tests.conftest import API_KEY, DEPLOYMENT_KEY, ORG_ID

TRANSPORTS = ("requests", "aiohttp")
SYNC = faultservers.SYNC
MakeConnection = Callable[..., str]


def send(transport: str, conn_id: str, call: protocol.ApiCall[Any] | None = None, *, log: bool = False) -> Any:
    """Send ``call`` (the sync's status by default) with one transport, as the hook or the trigger would (``log``:
    logging its retries as the trigger does)."""
    call = call or protocol.get_sync_status(SYNC)
    if transport == "requests":
        hook = PolytomicHook(conn_id)
        try:
            return hook.run(call)
        finally:
            hook.close()

    async def go() -> Any:
        logger = logging.getLogger("polytomic-trigger") if log else None
        async with await AsyncPolytomicClient.from_connection(conn_id, logger) as client:
            return await client.run(call)

    return asyncio.run(go())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No proxy and no CA bundle from the machine's environment; a HOME without a netrc."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[faultservers.HttpServer, Path]]:
    context, cert = faultservers.self_signed(tmp_path)
    with faultservers.http_server(tls=context) as server:
        yield server, cert


# -- timeouts bound the whole request --------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("part", ["headers", "body"])
@pytest.mark.parametrize("framing", list(faultservers.DRIP_FRAMINGS))
def test_timeout_bounds_a_server_that_drips_bytes(
    transport: str, part: str, framing: str, make_connection: MakeConnection
) -> None:
    # Before: with requests, an answer framed "close" or HTTP/1.0 whose body dripped ran until the server
    # stopped (http.client drops the connection's socket once an answer says it will close).
    with faultservers.raw_server(faultservers.drip(part, framing)) as server:
        conn_id = make_connection(host=server.url, timeout=1, max_retries=0)
        started = time.monotonic()
        with pytest.raises(PolytomicUnavailableError, match=r"no answer within 1 s"):
            send(transport, conn_id)
        # The drip lasts 20 s (one byte every 0.2 s); a per-read timeout would wait all of it.
        assert time.monotonic() - started < 8


# -- a wrong host ---------------------------------------------------------------------------------------------


class RecordedLog:
    """A logger for the async client that keeps its warnings."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args if args else message)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("answer", ["refused", "502 from a proxy"])
def test_every_retry_warning_and_the_final_error_name_the_base_url_tried(
    transport: str, answer: str, make_connection: MakeConnection, logs: Callable[[], str]
) -> None:
    # Before: "GET /api/syncs/…/status (connection '…') failed: the connection failed (ConnectionError)", retried
    # until the sensor's timeout (7 days by default) without a word of where the requests went.
    with contextlib.ExitStack() as stack:
        if answer == "refused":
            base_url = f"http://127.0.0.1:{free_port()}"
        else:
            base_url = stack.enter_context(faultservers.http_server(lambda *_: (502, {}, b"Bad Gateway"))).url
        conn_id = make_connection(host=base_url, max_retries=2)
        recorded = RecordedLog()
        with pytest.raises(PolytomicUnavailableError, match="Gave up after 3 attempts") as raised:
            if transport == "requests":
                hook = PolytomicHook(conn_id)
                try:
                    hook.run(protocol.get_sync_status(SYNC))
                finally:
                    hook.close()
            else:

                async def go() -> None:
                    async with await AsyncPolytomicClient.from_connection(conn_id, log=recorded) as client:
                        await client.run(protocol.get_sync_status(SYNC))

                asyncio.run(go())
    assert f"Base URL tried: {base_url}." in str(raised.value)
    # Airflow 2 may show a hook's log line twice (captured and echoed): the attempts named tell them apart.
    warnings = recorded.warnings or [line for line in logs().splitlines() if "Retrying in" in line]
    assert {re.search(r"attempt \d of 3", warning)[0] for warning in warnings} == {"attempt 2 of 3", "attempt 3 of 3"}
    assert all(f"Base URL tried: {base_url}." in warning for warning in warnings), warnings
    assert API_KEY not in str(raised.value) and not any(API_KEY in warning for warning in warnings)


# -- size limit -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_200_mb_answer_is_refused_without_reading_it(
    transport: str, declared: bool, make_connection: MakeConnection
) -> None:
    with faultservers.raw_server(faultservers.huge_body(declared)) as server:
        conn_id = make_connection(host=server.url, max_retries=0)
        with pytest.raises(PolytomicBadResponseError, match=r"body over 8,192 KiB"):
            send(transport, conn_id)
        deadline = time.monotonic() + 10
        while not server.sent and time.monotonic() < deadline:
            time.sleep(0.05)
    (sent,) = server.sent
    # The server stops when the client closes; socket buffers let a few MiB more through, never 200 MB.
    assert sent < 40 * 1024 * 1024, sent


# -- TLS ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_dropped_tls_handshake_is_temporary(transport: str, make_connection: MakeConnection) -> None:
    with faultservers.raw_server(faultservers.drop_tls_handshake, scheme="https") as server:
        conn_id = make_connection(host=server.url, max_retries=1)
        with pytest.raises(PolytomicUnavailableError, match="Gave up after 2 attempts") as raised:
            send(transport, conn_id)
    assert "certificate" not in str(raised.value).lower()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_https_to_a_plain_http_server_says_so(
    transport: str, make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    conn_id = make_connection(host=emulator.url.replace("http://", "https://"))
    with pytest.raises(PolytomicConfigError, match="does not speak TLS") as raised:
        send(transport, conn_id)
    assert "CA bundle" not in str(raised.value)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_untrusted_certificate_is_a_configuration_error(
    transport: str, make_connection: MakeConnection, tls_server: tuple[faultservers.HttpServer, Path]
) -> None:
    server, _ = tls_server
    with pytest.raises(PolytomicConfigError, match="certificate verification failed"):
        send(transport, make_connection(host=server.url))
    assert server.requests == []


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "extra"])
def test_both_transports_trust_the_same_ca_bundle(
    transport: str,
    how: str,
    make_connection: MakeConnection,
    tls_server: tuple[faultservers.HttpServer, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, cert = tls_server
    if how == "extra":
        conn_id = make_connection(host=server.url, verify=str(cert))
    else:
        monkeypatch.setenv(how, str(cert))
        conn_id = make_connection(host=server.url)
    status = send(transport, conn_id)
    assert isinstance(status, SyncStatus) and status.current_execution is not None
    assert len(server.requests) == 1


# -- proxies, netrc, redirects --------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_both_transports_use_the_proxy_from_the_environment(
    transport: str, make_connection: MakeConnection, emulator: PolytomicEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 100}]}])
    with faultservers.forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("://", "://ops:s%40fe@"))
        assert isinstance(send(transport, make_connection()), SyncStatus)
    ((method, target, auth),) = proxy.seen
    assert (method, target) == ("GET", f"{emulator.url}/api/syncs/{SYNC}/status")
    assert auth == "Basic " + base64.b64encode(b"ops:s@fe").decode()
    assert emulator.requests[-1].headers["Authorization"] == "Bearer ***"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_https_goes_through_the_proxy_in_a_tunnel(
    transport: str,
    make_connection: MakeConnection,
    tls_server: tuple[faultservers.HttpServer, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, cert = tls_server
    with faultservers.forwarding_proxy() as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        assert isinstance(send(transport, make_connection(host=server.url, verify=str(cert))), SyncStatus)
    assert [(method, target) for method, target, _ in proxy.seen] == [("CONNECT", server.url.split("//")[1])]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_proxy_reaches_the_host_directly(
    transport: str, make_connection: MakeConnection, emulator: PolytomicEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 100}]}])
    with faultservers.forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.com,127.0.0.0/8")
        assert isinstance(send(transport, make_connection()), SyncStatus)
    assert proxy.seen == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_netrc_never_replaces_the_key(
    transport: str, make_connection: MakeConnection, emulator: PolytomicEmulator, tmp_path: Path
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 100}]}])
    netrc = tmp_path / ".netrc"
    netrc.write_text("default login someone password unrelated-secret\n")
    netrc.chmod(0o600)
    assert isinstance(send(transport, make_connection()), SyncStatus)
    assert emulator.requests[-1].headers["Authorization"] == "Bearer ***"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_redirect_is_not_followed_and_names_where_it_went(transport: str, make_connection: MakeConnection) -> None:
    moved = (301, {"Location": "https://elsewhere.example.com/api/syncs"}, b"")
    where = re.escape("redirected to 'https://elsewhere.example.com/api/syncs'")
    with faultservers.http_server(lambda *_: moved) as server, pytest.raises(PolytomicRequestError, match=where):
        send(transport, make_connection(host=server.url))
    assert len(server.requests) == 1


# -- secrets --------------------------------------------------------------------------------------------


def echo_authorization(method: str, path: str, headers: dict[str, str]) -> faultservers.Answer:
    """A server whose error page quotes the request's Authorization header back."""
    body = json.dumps({"message": f"bad credentials: {headers.get('Authorization')}"}).encode()
    return 401, {"WWW-Authenticate": headers.get("Authorization", "")}, body


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("login", [None, ORG_ID])
def test_an_echoed_key_is_scrubbed_from_the_error(
    transport: str, login: str | None, make_connection: MakeConnection
) -> None:
    password = API_KEY if login is None else DEPLOYMENT_KEY
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    with faultservers.http_server(echo_authorization) as server:
        conn_id = make_connection(host=server.url, login=login, password=password)
        with pytest.raises(PolytomicAuthError, match=r"bad credentials: (Bearer|Basic) \*\*\*") as raised:
            send(transport, conn_id)
    assert password not in str(raised.value) and token not in str(raised.value)


def test_the_basic_form_of_a_deployment_key_is_masked_in_airflow_logs(make_connection: MakeConnection) -> None:
    from airflow.providers.common.compat.sdk import redact

    token = base64.b64encode(f"{ORG_ID}:{DEPLOYMENT_KEY}".encode()).decode()
    hook = PolytomicHook(make_connection(login=ORG_ID, password=DEPLOYMENT_KEY))
    assert hook.config.authorization == f"Basic {token}"
    assert token not in str(redact(f"header was Basic {token}"))


# -- connections that can never work ---------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"host": "exa mple.com"}, "host"),
        ({"host": "http://127.0.0.1:99999"}, "port"),
        ({"password": API_KEY + "\n"}, "API key"),
        ({"api_version": "2025-09-18\n"}, "api_version"),
        ({"timeout": "nan"}, "timeout"),
        ({"timeout": 1e-9}, "timeout"),
        ({"host": "http:/127.0.0.1"}, "host"),
        ({"host": "http//127.0.0.1"}, "host"),
        ({"max_retries": 2.7}, "max_retries"),
        ({"verify": "/nonexistent/ca.pem"}, "verify"),
        ({"sync_url_template": "{base_url}/syncs/{sync}"}, "sync_url_template"),
    ],
)
def test_a_connection_that_can_never_work_fails_at_once(
    transport: str, fields: dict[str, Any], field: str, make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    started = time.monotonic()
    with pytest.raises(PolytomicConfigError, match=field) as raised:
        send(transport, make_connection(**fields))
    assert time.monotonic() - started < 5  # refused when read, not retried as if temporary
    assert API_KEY not in str(raised.value)
    assert emulator.requests == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_undefined_connection_is_a_configuration_error(transport: str) -> None:
    with pytest.raises(PolytomicConfigError, match="Airflow connection 'no_such_connection' is not defined"):
        send(transport, "no_such_connection")


# -- numbers from the network ----------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("retry_after", ["nan", "inf", "-inf", "1e999"])
def test_a_retry_after_that_is_not_a_finite_number_is_ignored(
    transport: str, retry_after: str, make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 100}]}])
    emulator.add_fault("status", status=429, retry_after=retry_after, requests=[1])
    # Before: the hook raised a raw ValueError from sleep(nan); the trigger slept nan on the shared event loop.
    assert isinstance(send(transport, make_connection()), SyncStatus)
    assert [request.status for request in emulator.requests] == [429, 200]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("offset", [120.0, -120.0], ids=["polytomic-ahead", "polytomic-behind"])
def test_both_transports_learn_polytomics_clock_from_the_date_header(
    transport: str, offset: float, make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    """The offset that core/clock.py applies comes through the shared response parsing on both transports."""
    emulator.clock_offset = offset
    sync = emulator.add_sync(executions=[{"steps": [{"status": "running"}]}])
    conn_id = make_connection()
    for call in (protocol.list_executions(sync.id), protocol.get_sync_status(sync.id)):
        answer = send(transport, conn_id, call)
        assert answer.clock is not None, call.path
        assert abs(answer.clock.offset.total_seconds() - offset) < 3, answer.clock
    assert abs((answer.current_execution.created_at - answer.clock.now()).total_seconds()) < 3


# -- answers that are no Polytomic document ------------------------------------------------------------------

#: Planted in every odd answer of a definition endpoint: it must reach no exception and no log line.
PLANTED = "hunter2-PLANTED-7f3a"
CONNECTION = {"id": SYNC, "name": "Shop db", "type": "postgresql", "configuration": {"password": PLANTED}}
DEFINITION_ODD_ANSWERS: list[tuple[int, bytes]] = [
    (200, json.dumps(CONNECTION).encode()),  # no 'data' member: the definition itself
    (200, json.dumps({"errors": [{"detail": f"note {PLANTED}"}]}).encode()),  # no 'data', no secret-looking key
    (200, f"<html><body>Proxy error for {PLANTED}</body></html>".encode()),  # not JSON
    (200, json.dumps({"data": CONNECTION})[:-12].encode()),  # JSON cut short
    (200, json.dumps({"data": CONNECTION})[:-2].encode() + b', "x": NaN}}'),  # NaN
    (200, json.dumps({"data": [PLANTED, CONNECTION]}).encode()),  # a list where an object belongs
    (200, json.dumps({"data": PLANTED}).encode()),  # a string where an object belongs
    (  # every member a definition reads, in the wrong type
        200,
        json.dumps(
            {
                "data": {
                    "id": 7,
                    "configuration": f"password={PLANTED}",
                    "source_configuration": PLANTED,
                    "model_ids": PLANTED,
                    "target": PLANTED,
                }
            }
        ).encode(),
    ),
    (500, json.dumps({"message": f"db down: {PLANTED}", "data": CONNECTION}).encode()),  # retried, then reported
    (400, json.dumps({"error": PLANTED}).encode()),
    (404, f"<html>{PLANTED}</html>".encode()),
]
DEFINITION_CALLS = {
    "connection": lambda: definitions.get_connection(SYNC),
    "model": lambda: definitions.get_model(SYNC),
    "sync": lambda: definitions.get_sync_definition(SYNC),
    "bulk sync": lambda: definitions.get_bulk_sync_definition(SYNC),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("endpoint", list(DEFINITION_CALLS))
def test_no_odd_answer_of_a_definition_endpoint_is_quoted(
    transport: str, endpoint: str, make_connection: MakeConnection, logs: Callable[[], str]
) -> None:
    """A connection's definition answered without 'data' had its configuration, password included, quoted into the
    task's warning: a definition's answers are never quoted, whatever is wrong with them."""
    for status, body in DEFINITION_ODD_ANSWERS:
        with faultservers.http_server(lambda *_, status=status, body=body: (status, {}, body)) as server:
            conn_id = make_connection(host=server.url, max_retries=1)
            with pytest.raises(PolytomicError) as raised:
                send(transport, conn_id, DEFINITION_CALLS[endpoint](), log=True)
        message = str(raised.value)
        assert PLANTED not in message, (status, body)
        assert "connection 'polytomic_test'" in message
        if status == 200 and "cannot read" not in message:  # neither JSON nor a document: says why it is not shown
            assert "not quoted" in message
    assert "Retrying in" in logs() and PLANTED not in logs()  # the retry warnings quote the error too


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_poll_waits_out_an_answer_that_is_no_polytomic_document_and_a_start_does_not(
    transport: str, make_connection: MakeConnection, emulator: PolytomicEmulator
) -> None:
    """An HTML page with status 200 (a proxy's) on a poll failed at once; a start must not be sent again blindly."""
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 100}]}])
    status_path = f"/api/syncs/{SYNC}/status"
    emulator.add_fault("malformed", path=status_path, requests=[1])
    conn_id = make_connection(max_retries=2)
    assert send(transport, conn_id).current_execution is not None
    assert [request.status for request in emulator.requests_to(status_path)] == [200, 200]

    emulator.add_fault("malformed", path=status_path)  # every answer from now on
    with pytest.raises(PolytomicBadResponseError, match=r"not JSON .*Gave up after 3 attempts") as raised:
        send(transport, conn_id)
    assert is_transient(raised.value)  # the sensor or trigger keeps waiting, as for a 503
    assert f"check that {emulator.url} (the connection's host) is Polytomic's API" in str(raised.value)
    assert len(emulator.requests_to(status_path)) == 2 + 3

    start_path = f"/api/syncs/{SYNC}/executions"
    emulator.add_fault("malformed", path=start_path, method="POST")
    with pytest.raises(PolytomicBadResponseError) as raised:
        send(transport, conn_id, protocol.start_sync(SYNC, idempotency_key="airflow-0123456789"))
    assert not is_transient(raised.value) and len(emulator.requests_to(start_path, method="POST")) == 1
