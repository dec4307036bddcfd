"""The I/O-free core: connection settings, ids, error mapping and retry policy. No server needed."""

from __future__ import annotations

import base64
import json
import re
from email.utils import formatdate
from pathlib import Path

import pytest
from tenacity import Retrying

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.errors import (
    PolytomicAuthError,
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicConflictError,
    PolytomicInvalidIdError,
    PolytomicNotFoundError,
    PolytomicRateLimitError,
    PolytomicRequestError,
    PolytomicUnavailableError,
)
from airflow_provider_polytomic.core.protocol import ClientConfig
from airflow_provider_polytomic.core.retry import RetryPolicy, parse_retry_after

KEY = "pk_SECRET_core_0123456789"
SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"


def config(**kwargs: object) -> ClientConfig:
    fields: dict[str, object] = {"host": None, "login": None, "password": KEY, "extra": {}}
    fields.update(kwargs)
    return ClientConfig.from_connection("my_conn", **fields)  # type: ignore[arg-type]


def test_api_key_is_sent_as_bearer() -> None:
    headers = config().headers()
    assert headers == {
        "Authorization": f"Bearer {KEY}",
        "X-Polytomic-Version": "2025-09-18",
        "Accept": "application/json",
        "User-Agent": protocol.USER_AGENT,
    }
    assert protocol.USER_AGENT.startswith("airflow-provider-polytomic/")


def test_organization_id_makes_a_deployment_key_basic_auth() -> None:
    headers = config(login="org-1").headers()
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"org-1:{KEY}".encode()).decode()


def test_credentials_stay_out_of_repr() -> None:
    assert KEY not in repr(config())


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://app.polytomic.com"),
        ("", None, "https://app.polytomic.com"),
        ("polytomic.example.com", None, "https://polytomic.example.com"),
        ("polytomic.example.com/", None, "https://polytomic.example.com"),
        ("https://polytomic.example.com/", None, "https://polytomic.example.com"),
        ("http://127.0.0.1:8765", None, "http://127.0.0.1:8765"),
        ("127.0.0.1", 8765, "https://127.0.0.1:8765"),
        ("https://example.com/polytomic/", None, "https://example.com/polytomic"),
    ],
)
def test_base_url_normalization(host: str | None, port: int | None, expected: str) -> None:
    assert config(host=host, port=port).base_url == expected


@pytest.mark.parametrize("host", ["ftp://example.com", "file:///etc/passwd", "https://user:pw@example.com"])
def test_bad_base_urls_are_clear_errors(host: str) -> None:
    with pytest.raises(PolytomicConfigError, match="my_conn"):
        config(host=host)


@pytest.mark.parametrize("password", [None, ""])
def test_missing_api_key_names_the_connection(password: str | None) -> None:
    with pytest.raises(PolytomicConfigError, match="Connection 'my_conn' has no Polytomic API key"):
        config(password=password)


def test_extras_are_read_with_types_and_defaults(tmp_path: Path) -> None:
    cfg = config(
        extra={
            "api_version": "2024-02-08",
            "timeout": "12.5",
            "max_retries": "0",
            "verify": "false",
            "retry_delay": "0",
        }
    )
    assert cfg.api_version == "2024-02-08"
    assert cfg.timeout == 12.5
    assert cfg.retry.max_retries == 0
    assert cfg.retry.initial_delay == 0
    assert cfg.verify is False
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert config(extra={"verify": str(bundle)}).verify == str(bundle)
    assert config(extra={"extra__polytomic__timeout": "7", "api_version": ""}).timeout == 7
    defaults = config()
    assert (defaults.timeout, defaults.retry.max_retries, defaults.verify) == (30.0, 4, True)


@pytest.mark.parametrize("extra", [{"timeout": "soon"}, {"timeout": 0}, {"max_retries": -1}, {"api_version": "latest"}])
def test_bad_extras_are_clear_errors(extra: dict[str, object]) -> None:
    with pytest.raises(PolytomicConfigError, match="my_conn"):
        config(extra=extra)


def test_sync_url_uses_the_host_and_can_be_overridden() -> None:
    assert config(host="polytomic.example.com").sync_url(SYNC) == f"https://polytomic.example.com/syncs/{SYNC}"
    custom = config(extra={"sync_url_template": "{base_url}/connections/syncs/{sync_id}/edit"})
    assert custom.sync_url(SYNC) == f"https://app.polytomic.com/connections/syncs/{SYNC}/edit"


@pytest.mark.parametrize(
    "bad",
    [
        "../../api/me",
        "",
        "   ",
        "{{ params.sync_id }}",
        "123",
        None,
        42,
        "248df4b7aa7047b8a03633ac447e668d",
        "{248df4b7-aa70-47b8-a036-33ac447e668d}",
    ],
)
def test_ids_must_be_uuids(bad: object) -> None:
    with pytest.raises(PolytomicInvalidIdError, match="must be a UUID") as raised:
        protocol.get_sync_status(bad)  # type: ignore[arg-type]
    assert repr(bad)[:40] in str(raised.value)


def test_unrendered_template_gets_a_hint() -> None:
    with pytest.raises(PolytomicInvalidIdError, match="unrendered template"):
        protocol.get_execution(SYNC, "{{ ti.xcom_pull('start') }}")


def test_ids_are_canonicalised() -> None:
    call = protocol.get_sync_status(" 248DF4B7-AA70-47B8-A036-33AC447E668D ")
    assert call.path == f"/api/syncs/{SYNC}/status"


@pytest.mark.parametrize(
    ("status", "kind", "transient"),
    [
        (400, PolytomicRequestError, False),
        (401, PolytomicAuthError, False),
        (403, PolytomicAuthError, False),
        (404, PolytomicNotFoundError, False),
        (409, PolytomicConflictError, False),
        (408, PolytomicUnavailableError, True),
        (429, PolytomicRateLimitError, True),
        (500, PolytomicUnavailableError, True),
        (503, PolytomicUnavailableError, True),
    ],
)
def test_http_errors_map_to_exceptions(status: int, kind: type[Exception], transient: bool) -> None:
    call = protocol.get_sync_status(SYNC)
    body = json.dumps({"status": status, "message": "sync not found", "key": "x"}).encode()
    with pytest.raises(kind) as raised:
        call.read(config(), status, {}, body)
    error = raised.value
    assert error.transient is transient
    text = str(error)
    assert f"HTTP {status}" in text and "my_conn" in text and SYNC in text and "sync not found" in text
    assert KEY not in text


def test_error_message_falls_back_to_error_then_to_the_body() -> None:
    call = protocol.get_sync_status(SYNC)
    with pytest.raises(PolytomicAuthError, match="bad key, old style"):
        call.read(config(), 401, {}, b'{"error": "bad key, old style"}')
    with pytest.raises(PolytomicUnavailableError, match="upstream connect error"):
        call.read(config(), 502, {}, b"upstream connect error or disconnect")


@pytest.mark.parametrize(
    "body", [b"<html>oops</html>", b'{"no_data": 1}', b'{"data": {"current_execution": 7}}', b"[1, 2]", b""]
)
def test_malformed_2xx_bodies_are_bad_response_errors(body: bytes) -> None:
    with pytest.raises(PolytomicBadResponseError, match="my_conn"):
        protocol.get_sync_status(SYNC).read(config(), 200, {}, body)


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": formatdate(1_000_030, usegmt=True)}, now=1_000_000) == 30
    assert parse_retry_after({"Retry-After": "garbage"}) is None
    assert parse_retry_after({}) is None


def test_429_carries_retry_after_and_the_wait_honours_it_within_the_cap() -> None:
    call = protocol.get_sync_status(SYNC)
    with pytest.raises(PolytomicRateLimitError) as raised:
        call.read(config(), 429, {"Retry-After": "3"}, b"{}")
    policy = RetryPolicy()
    assert raised.value.retry_after == 3
    assert policy.wait_for(raised.value, backoff=0.5) == 3
    raised.value.retry_after = 10_000
    assert policy.wait_for(raised.value, backoff=0.5) == policy.max_retry_after


def test_policy_retries_transient_errors_only_and_gives_up_with_the_attempt_count() -> None:
    policy = RetryPolicy(max_retries=2, initial_delay=0)
    calls: list[int] = []

    def always(status: int) -> None:
        calls.append(status)
        protocol.get_sync_status(SYNC).read(config(), status, {}, b'{"message": "nope"}')

    with pytest.raises(PolytomicUnavailableError, match="Gave up after 3 attempts"):
        Retrying(**policy.tenacity_settings())(always, 503)
    assert calls == [503, 503, 503]
    calls.clear()
    with pytest.raises(PolytomicAuthError) as raised:
        Retrying(**policy.tenacity_settings())(always, 401)
    assert calls == [401]
    assert "Gave up" not in str(raised.value)


def test_idempotency_key_is_stable_valid_and_distinct_per_task_instance() -> None:
    key = protocol.idempotency_key("dag", "manual__2026-01-01T00:00:00+00:00", "start", -1)
    assert key == protocol.idempotency_key("dag", "manual__2026-01-01T00:00:00+00:00", "start", -1)
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,255}", key)
    assert key != protocol.idempotency_key("dag", "manual__2026-01-01T00:00:00+00:00", "start", 0)
    assert key != protocol.idempotency_key("dag", "manual__2026-01-02T00:00:00+00:00", "start", -1)


def test_start_and_cancel_calls() -> None:
    start = protocol.start_sync(SYNC, idempotency_key="airflow-0123456789", resync=True, identities=["a@b.c"])
    assert (start.method, start.path) == ("POST", f"/api/syncs/{SYNC}/executions")
    assert start.body == {"identities": ["a@b.c"], "resync": True, "test": False}
    assert start.idempotency_key == "airflow-0123456789"
    with pytest.raises(PolytomicConfigError, match="Idempotency-Key"):
        protocol.start_sync(SYNC, idempotency_key="bad key!")
    cancel = protocol.cancel_execution(SYNC, SYNC)
    assert (cancel.method, cancel.path) == ("POST", f"/api/syncs/{SYNC}/executions/{SYNC}/cancel")
