"""PolytomicHook over real HTTP against the emulator on 127.0.0.1."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest

from airflow_provider_polytomic.core.errors import (
    PolytomicAuthError,
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicError,
    PolytomicInvalidIdError,
    PolytomicNotFoundError,
    PolytomicRateLimitError,
    PolytomicUnavailableError,
)
from airflow_provider_polytomic.core.models import ExecutionStatus
from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
from airflow_provider_polytomic.testing import PolytomicEmulator
from tests.conftest import API_KEY, DEPLOYMENT_KEY, ORG_ID

MakeConnection = Callable[..., str]
SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
STATUS_PATH = f"/api/syncs/{SYNC}/status"


@pytest.fixture
def sync(emulator: PolytomicEmulator) -> str:
    emulator.add_sync(
        id=SYNC,
        executions=[
            {
                "id": "11111111-1111-4111-8111-111111111111",
                "type": "scheduled",
                "created_ago": 3600,
                "steps": [
                    {
                        "status": "completed",
                        "counts": {"insert": 5, "error": 1, "total": 5},
                        "errors": ["row 3: bad email"],
                    }
                ],
            },
            {
                "id": "22222222-2222-4222-8222-222222222222",
                "steps": [{"status": "running", "polls": 100, "counts": {"insert": 2}}],
            },
        ],
    )
    return SYNC


def test_get_sync_status_sends_exact_headers_and_parses(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str
) -> None:
    status = PolytomicHook(make_connection()).get_sync_status(sync)
    assert status.current_execution is not None and status.last_execution is not None
    assert status.current_execution.id == "22222222-2222-4222-8222-222222222222"
    assert status.current_execution.known_status is ExecutionStatus.RUNNING
    assert status.last_execution.status == "completed"
    assert status.last_execution.errors == ("row 3: bad email",)
    assert status.last_execution.completed_at is not None and status.last_execution.completed_at.tzinfo
    (request,) = emulator.requests
    assert request.path == STATUS_PATH
    assert request.headers["Authorization"] == "Bearer ***"
    assert request.headers["X-Polytomic-Version"] == "2025-09-18"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("airflow-provider-polytomic/")
    assert request.headers["User-Agent"].endswith(" (requests)")


def test_deployment_key_with_organization_id_uses_basic_auth(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str
) -> None:
    conn_id = make_connection(login=ORG_ID, password=DEPLOYMENT_KEY)
    assert PolytomicHook(conn_id).get_sync_status(sync).current_execution is not None
    assert emulator.requests[0].headers["Authorization"] == "Basic ***"
    # The same key as Bearer is not accepted by the emulator, so Basic is what made it through.
    assert base64.b64encode(f"{ORG_ID}:{DEPLOYMENT_KEY}".encode())


def test_api_version_extra_is_sent(make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str) -> None:
    PolytomicHook(make_connection(api_version="2024-02-08")).get_sync_status(sync)
    assert emulator.requests[0].headers["X-Polytomic-Version"] == "2024-02-08"


def test_get_execution(make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str) -> None:
    execution = PolytomicHook(make_connection()).get_execution(sync, "11111111-1111-4111-8111-111111111111")
    assert execution.counts.error == 1
    assert emulator.requests[0].path == f"/api/syncs/{sync}/executions/11111111-1111-4111-8111-111111111111"


def test_one_session_is_reused(make_connection: MakeConnection, sync: str) -> None:
    hook = PolytomicHook(make_connection())
    hook.get_sync_status(sync)
    session = hook.session
    hook.get_sync_status(sync)
    assert hook.session is session


def test_sync_that_never_ran(make_connection: MakeConnection, emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC)
    status = PolytomicHook(make_connection()).get_sync_status(SYNC)
    assert status.current_execution is None and status.last_execution is None


def test_unknown_status_value_is_kept(make_connection: MakeConnection, emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "rebalancing", "polls": 5}]}])
    status = PolytomicHook(make_connection()).get_sync_status(SYNC)
    assert status.current_execution is not None
    assert status.current_execution.status == "rebalancing"
    assert status.current_execution.known_status is None


def test_wrong_key_fails_at_once_naming_the_connection(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str
) -> None:
    conn_id = make_connection(password="pk_wrong_SECRET_zzz")
    with pytest.raises(PolytomicAuthError) as raised:
        PolytomicHook(conn_id).get_sync_status(sync)
    text = str(raised.value)
    assert "HTTP 401" in text and conn_id in text and sync in text and "Check the API key" in text
    assert "pk_wrong_SECRET_zzz" not in text
    assert len(emulator.requests) == 1  # never retried


@pytest.mark.parametrize(("status", "kind"), [(403, PolytomicAuthError), (400, PolytomicError)])
def test_client_errors_are_not_retried(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str, status: int, kind: type[Exception]
) -> None:
    emulator.add_fault("status", path=STATUS_PATH, status=status)
    with pytest.raises(kind, match=f"HTTP {status}"):
        PolytomicHook(make_connection()).get_sync_status(sync)
    assert len(emulator.requests) == 1


def test_unknown_sync_is_not_found(make_connection: MakeConnection, emulator: PolytomicEmulator) -> None:
    with pytest.raises(PolytomicNotFoundError, match="No such sync") as raised:
        PolytomicHook(make_connection()).get_sync_status(SYNC)
    assert SYNC in str(raised.value)
    assert len(emulator.requests) == 1


def test_500_then_200_succeeds(make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str) -> None:
    emulator.add_fault("status", path=STATUS_PATH, status=500, requests=[1])
    assert PolytomicHook(make_connection()).get_sync_status(sync).current_execution is not None
    assert [item.status for item in emulator.requests] == [500, 200]


def test_503s_exhaust_the_retries(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str, logs: Callable[[], str]
) -> None:
    emulator.add_fault("status", path=STATUS_PATH, status=503)
    with pytest.raises(PolytomicUnavailableError, match="Gave up after 3 attempts"):
        PolytomicHook(make_connection(max_retries=2)).get_sync_status(sync)
    assert len(emulator.requests) == 3
    assert "Retrying in" in logs()


def test_429_waits_as_retry_after_says(make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str) -> None:
    emulator.add_fault("status", path=STATUS_PATH, status=429, retry_after="1", requests=[1])
    started = time.monotonic()
    PolytomicHook(make_connection()).get_sync_status(sync)
    assert time.monotonic() - started >= 0.95  # correctness (the wait happened), not a speed target
    assert [item.status for item in emulator.requests] == [429, 200]


def test_persistent_429_says_rate_limited(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str
) -> None:
    emulator.add_fault("status", path=STATUS_PATH, status=429, retry_after="0")
    with pytest.raises(PolytomicRateLimitError, match="rate limiting"):
        PolytomicHook(make_connection(max_retries=1)).get_sync_status(sync)


def test_a_polytomic_document_that_cannot_be_read_is_a_bad_response_at_once(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str
) -> None:
    """An answer of Polytomic's own that this provider cannot read is not retried (an HTML page from a proxy is:
    ``test_hostile_network.py::test_a_poll_waits_out_an_answer_that_is_no_polytomic_document_and_a_start_does_not``)."""
    emulator.add_fault("body", path=STATUS_PATH, body={"data": {"current_execution": {"status": "running"}}})
    with pytest.raises(PolytomicBadResponseError) as raised:
        PolytomicHook(make_connection()).get_sync_status(sync)
    assert "polytomic_test" in str(raised.value)
    assert len(emulator.requests) == 1


@pytest.mark.parametrize("kind", ["drop", "truncated"])
def test_dropped_connection_is_retried(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str, kind: str
) -> None:
    emulator.add_fault(kind, path=STATUS_PATH, requests=[1])
    assert PolytomicHook(make_connection()).get_sync_status(sync).current_execution is not None
    assert len(emulator.requests_to(STATUS_PATH)) == 2


def test_timeout_is_retried_then_reported(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str
) -> None:
    emulator.add_fault("delay", path=STATUS_PATH, seconds=1.5)
    with pytest.raises(PolytomicUnavailableError, match=r"no answer within 0.3 s") as raised:
        PolytomicHook(make_connection(timeout=0.3, max_retries=1)).get_sync_status(sync)
    assert "Gave up after 2 attempts" in str(raised.value)


def test_bad_sync_id_sends_no_request(make_connection: MakeConnection, emulator: PolytomicEmulator) -> None:
    hook = PolytomicHook(make_connection())
    for bad in ("../../api/me", "", "{{ params.sync_id }}"):
        with pytest.raises(PolytomicInvalidIdError):
            hook.get_sync_status(bad)
    assert emulator.requests == []


def test_missing_key_names_the_connection(make_connection: MakeConnection, emulator: PolytomicEmulator) -> None:
    with pytest.raises(PolytomicConfigError, match="'polytomic_test' has no Polytomic API key"):
        PolytomicHook(make_connection(password=None)).get_sync_status(SYNC)
    assert emulator.requests == []


def test_test_connection_both_ways(make_connection: MakeConnection) -> None:
    ok, message = PolytomicHook(make_connection()).test_connection()
    assert ok and "Acme Data" in message
    ok, message = PolytomicHook(make_connection("bad_conn", password="pk_wrong_SECRET_zzz")).test_connection()
    assert not ok and "HTTP 401" in message and "bad_conn" in message
    assert "pk_wrong_SECRET_zzz" not in message


def test_a_test_connection_that_cannot_reach_the_host_names_the_base_url(make_connection: MakeConnection) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ok, message = PolytomicHook(make_connection(host=f"http://127.0.0.1:{port}", max_retries=0)).test_connection()
    assert not ok and "polytomic_test" in message
    assert f"http://127.0.0.1:{port}" in message


def test_verify_false_warns(make_connection: MakeConnection, logs: Callable[[], str], sync: str) -> None:
    PolytomicHook(make_connection(verify="false")).get_sync_status(sync)
    assert "TLS certificate verification is OFF" in logs()


def test_tls_failure_is_a_clear_error(make_connection: MakeConnection, emulator: PolytomicEmulator) -> None:
    # The emulator speaks plain HTTP; https to it fails the TLS handshake, which must not be retried.
    conn_id = make_connection(host=emulator.url.replace("http://", "https://"), max_retries=3)
    with pytest.raises(PolytomicError, match="polytomic_test"):
        PolytomicHook(conn_id).get_sync_status(SYNC)


def test_api_key_never_appears_in_logs_or_errors(
    make_connection: MakeConnection, emulator: PolytomicEmulator, sync: str, logs: Callable[[], str]
) -> None:
    emulator.add_fault("status", path=STATUS_PATH, status=503, requests=[1, 2])
    emulator.add_fault("drop", path=STATUS_PATH, requests=[3])
    hook = PolytomicHook(make_connection(verify="false"))
    hook.get_sync_status(sync)
    messages = []
    for call in (
        lambda: hook.get_sync_status(SYNC.replace("0d", "ff")),
        lambda: PolytomicHook(make_connection("other", password=API_KEY + "x")).get_sync_status(sync),
    ):
        with pytest.raises(PolytomicError) as raised:
            call()
        messages.append(str(raised.value) + repr(raised.value))
    output = logs()
    assert "Retrying in" in output and "TLS certificate verification is OFF" in output
    for text in [output, repr(hook.config), *messages]:
        assert API_KEY not in text


def test_uri_form_connection_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POLYTOMIC_URI", f"polytomic://:{API_KEY}@polytomic.example.com:8443?timeout=7&max_retries=2"
    )
    config = PolytomicHook("polytomic_uri").config
    assert config.base_url == "https://polytomic.example.com:8443"
    assert config.authorization == f"Bearer {API_KEY}"
    assert (config.timeout, config.retry.max_retries) == (7.0, 2)
