"""The I/O-free core under hostile input: which execution an anchored look-up judges, connections that can never
work, numbers and bodies from the network, secrets echoed back, and the one answer to "is this temporary?".
No server needed."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_polytomic.core import protocol, transport
from airflow_provider_polytomic.core.bounds import poll_interval
from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.errors import (
    PolytomicAuthError,
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicError,
    PolytomicInvalidIdError,
    PolytomicNotFoundError,
    PolytomicRateLimitError,
    PolytomicUnavailableError,
    RequestContext,
    is_transient,
)
from airflow_provider_polytomic.core.models import Execution, ExecutionPage
from airflow_provider_polytomic.core.retry import RetryPolicy, parse_retry_after, seconds_within
from airflow_provider_polytomic.core.scan import NewestFirstScan
from airflow_provider_polytomic.core.status import Verdict, judge
from airflow_provider_polytomic.core.watch import SyncWatch

KEY = "pk_SECRET_hardening_0123456789"
SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"
RUNNING = "11111111-1111-4111-8111-111111111111"
STALE = "22222222-2222-4222-8222-222222222222"
OLDER = "33333333-3333-4333-8333-333333333333"
NEWER = "44444444-4444-4444-8444-444444444444"
NOW = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)
ANCHOR = NOW - timedelta(minutes=1)


def config(**fields: Any) -> ClientConfig:
    values: dict[str, Any] = {"host": None, "login": None, "password": KEY, "extra": {}}
    values.update(fields)
    return ClientConfig.from_connection("my_conn", **values)


def run(execution_id: str, status: str, created: timedelta, **more: Any) -> Execution:
    payload = {"id": execution_id, "status": status, "created_at": (NOW - created).isoformat(), **more}
    return Execution.from_api(payload)


# -- 1. which execution an anchored look-up judges ---------------------------------------------------------


@pytest.mark.parametrize(
    "stale",
    [
        {"status": "canceled", "completed_at": None},
        {"status": "completed", "completed_at": None},
        {"status": "completed", "completed_at": None, "started_at": None},
        {"status": "defragmenting"},  # a status this provider does not know
        {"status": "failed"},
    ],
    ids=["canceled-no-end", "completed-no-end", "completed-no-times", "unknown-status", "failed-no-end"],
)
def test_an_anchored_look_up_never_judges_a_run_finished_before_the_anchor(stale: dict[str, Any]) -> None:
    watch = SyncWatch(SYNC, anchor=ANCHOR)
    page = ExecutionPage(
        (
            run(RUNNING, "running", timedelta(minutes=5)),
            run(STALE, created=timedelta(days=2), **{"started_at": (NOW - timedelta(days=2)).isoformat(), **stale}),
            run(OLDER, "completed", timedelta(days=3), completed_at=(NOW - timedelta(days=3)).isoformat()),
        )
    )
    judgement = watch.observe(page)
    assert judgement.verdict is Verdict.WAITING
    assert judgement.execution is not None and judgement.execution.id == RUNNING
    assert watch.execution_id == RUNNING


def test_the_run_in_progress_at_the_anchor_is_judged_even_when_it_has_ended_since() -> None:
    watch = SyncWatch(SYNC, anchor=ANCHOR)
    page = ExecutionPage(
        (
            run(NEWER, "running", timedelta(seconds=10)),
            run(RUNNING, "completed", timedelta(minutes=5), completed_at=(NOW - timedelta(seconds=30)).isoformat()),
            run(STALE, "canceled", timedelta(days=2)),
        )
    )
    judgement = watch.observe(page)
    assert judgement.verdict is Verdict.SUCCEEDED and judgement.execution is not None
    assert judgement.execution.id == RUNNING


def test_with_nothing_in_progress_at_the_anchor_the_first_run_created_after_it_is_judged() -> None:
    watch = SyncWatch(SYNC, anchor=ANCHOR)
    page = ExecutionPage(
        (
            run(NEWER, "running", timedelta(seconds=5)),
            run(RUNNING, "queued", timedelta(seconds=30)),
            run(STALE, "canceled", timedelta(days=2)),
            run(OLDER, "rebalancing", timedelta(days=3)),
        )
    )
    judgement = watch.observe(page)
    assert judgement.execution is not None and judgement.execution.id == RUNNING


def test_an_unknown_status_created_after_the_anchor_is_judged_and_waits() -> None:
    watch = SyncWatch(SYNC, anchor=ANCHOR)
    judgement = watch.observe(ExecutionPage((run(NEWER, "rebalancing", timedelta(seconds=5)),)))
    assert judgement.verdict is Verdict.WAITING and judgement.unknown_status and watch.execution_id == NEWER


def test_only_stale_runs_means_waiting() -> None:
    watch = SyncWatch(SYNC, anchor=ANCHOR)
    page = ExecutionPage((run(STALE, "canceled", timedelta(days=2)), run(OLDER, "mystery", timedelta(days=3))))
    judgement = watch.observe(page)
    assert judgement.verdict is Verdict.WAITING and judgement.execution is None and watch.execution_id is None


def test_the_scan_keeps_each_execution_once_when_pages_overlap() -> None:
    ids = [f"{n}0000000-0000-4000-8000-000000000000" for n in range(1, 6)]
    executions = [run(execution_id, "completed", timedelta(minutes=n)) for n, execution_id in enumerate(ids)]
    scan = NewestFirstScan(is_older=lambda execution: False)
    assert scan.feed(ExecutionPage(tuple(executions[:3]), next_page_token="3"))
    # A run started mid-scan shifted the offsets: page 2 repeats the last execution of page 1.
    assert not scan.feed(ExecutionPage(tuple(executions[2:])))
    assert [execution.id for execution in scan.found] == ids


# -- 3. connections that can never work ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"host": "polytomic example.com"}, "blank"),
        ({"host": "https://polytomic.example.com:99999"}, "port outside 1-65535"),
        ({"host": "polytomic.example.com", "port": 99999}, "port field must be 1-65535"),
        ({"host": "polytomic.example.com:8443", "port": 443}, "both in the host"),
        ({"host": "https://polytomic.example.com/?x=1"}, "query"),
        ({"host": "https://exa$mple.com"}, "valid host"),
        ({"password": KEY + "\n"}, "API key"),
        ({"password": "pk_é_key"}, "API key"),
        ({"password": "pk key"}, "API key"),
        ({"login": "org:1"}, "login field"),
        ({"extra": {"api_version": "2025-09-18\n"}}, "api_version"),
        ({"extra": {"timeout": "inf"}}, "timeout"),
        ({"extra": {"timeout": float("nan")}}, "timeout"),
        ({"extra": {"timeout": 1e9}}, "timeout"),
        ({"extra": {"max_retries": 2.7}}, "max_retries"),
        ({"extra": {"max_retries": "1e9"}}, "max_retries"),
        ({"extra": {"max_retries": True}}, "max_retries"),
        ({"extra": {"retry_delay": "nan"}}, "retry_delay"),
        ({"extra": {"verify": "/nonexistent/ca-bundle.pem"}}, "verify"),
        ({"extra": {"sync_url_template": "{base_url}/syncs/{id}"}}, "sync_url_template"),
        ({"extra": {"sync_url_template": "{base_url}/syncs/{sync_id"}}, "sync_url_template"),
    ],
)
def test_a_connection_that_can_never_work_names_the_field_and_never_the_key(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(PolytomicConfigError, match="my_conn") as raised:
        config(**fields)
    assert named in str(raised.value)
    assert KEY not in str(raised.value)
    assert not is_transient(raised.value)


def test_a_port_of_zero_from_the_ui_means_no_port() -> None:
    assert config(host="polytomic.example.com", port=0).base_url == "https://polytomic.example.com"


def test_a_login_with_a_hyphenated_organization_id_is_fine() -> None:
    assert config(login="8d5b2f1e-6c3a-4e9b-a7d0-1f2e3d4c5b6a").authorization.startswith("Basic ")


@pytest.mark.parametrize("bad", ["+48df4b7-aa70-47b8-a036-33ac447e668d", "248df4b7-aa70-47b8-a036-33ac447e66_8"])
def test_ids_are_parsed_strictly(bad: str) -> None:
    with pytest.raises(PolytomicInvalidIdError):
        protocol.get_sync_status(bad)


# -- 2. one transport policy ---------------------------------------------------------------------------------


def test_the_proxy_comes_from_the_environment_lower_case_first() -> None:
    route = transport.route_for(
        config(host="https://polytomic.example.com"),
        {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128", "REQUESTS_CA_BUNDLE": __file__},
    )
    assert route.proxy == "http://lower:3128" and route.ca_bundle == __file__
    assert transport.route_for(config(host="http://polytomic.local"), {"ALL_PROXY": "proxy:8080"}).proxy == (
        "http://proxy:8080"
    )


def test_proxy_credentials_become_a_header_and_stay_out_of_repr() -> None:
    route = transport.route_for(config(), {"https_proxy": "http://ops:p%40ss@proxy.corp:3128"})
    assert route.proxy == "http://proxy.corp:3128"
    assert route.proxy_headers == {"Proxy-Authorization": "Basic b3BzOnBAc3M="}
    assert "p%40ss" not in repr(route) and "b3BzOnBAc3M" not in repr(route)


@pytest.mark.parametrize(
    ("no_proxy", "host", "bypass"),
    [
        ("*", "app.polytomic.com", True),
        ("polytomic.com", "app.polytomic.com", True),
        (".polytomic.com", "app.polytomic.com", True),
        ("app.polytomic.com:443", "app.polytomic.com", True),
        ("app.polytomic.com:8443", "app.polytomic.com", False),
        ("notpolytomic.com", "app.polytomic.com", False),
        ("10.0.0.0/8, 127.0.0.1", "10.1.2.3", True),
        ("10.0.0.0/8", "11.1.2.3", False),
        ("", "app.polytomic.com", False),
    ],
)
def test_no_proxy(no_proxy: str, host: str, bypass: bool) -> None:
    assert transport.bypasses_proxy(host, 443, no_proxy) is bypass


def test_a_socks_proxy_is_refused_clearly() -> None:
    with pytest.raises(PolytomicConfigError, match="http:// or https:// URL"):
        transport.route_for(config(), {"ALL_PROXY": "socks5://proxy:1080"})


def test_the_ca_bundle_order_and_a_missing_bundle(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text("x")
    second.write_text("x")
    env = {"CURL_CA_BUNDLE": str(second), "REQUESTS_CA_BUNDLE": str(first)}
    assert transport.route_for(config(), env).ca_bundle == str(first)
    assert transport.route_for(config(extra={"verify": str(second)}), env).ca_bundle == str(second)
    assert transport.route_for(config(extra={"verify": "false"}), env).verify is False
    import certifi

    assert transport.route_for(config(), {}).ca_bundle == certifi.where()
    with pytest.raises(PolytomicConfigError, match="REQUESTS_CA_BUNDLE"):
        transport.route_for(config(), {"REQUESTS_CA_BUNDLE": str(tmp_path / "missing.pem")})


def test_plain_http_to_a_remote_host_is_warned_about() -> None:
    assert any("plain http" in warning for warning in config(host="http://polytomic.example.com").warnings())
    assert config(host="http://127.0.0.1:8080").warnings() == []
    assert config(host="http://localhost:8080").warnings() == []


# -- 4. TLS failures ---------------------------------------------------------------------------------------


def context() -> RequestContext:
    return RequestContext("my_conn", "GET", f"/api/syncs/{SYNC}/status", SYNC)


def test_only_certificate_verification_and_plain_http_are_tls_configuration_errors() -> None:
    import ssl

    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    wrapped = ConnectionError("outer")
    wrapped.__cause__ = cert
    assert isinstance(transport.request_failed(config(), context(), wrapped, timed_out=False), PolytomicConfigError)
    plain = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error = transport.request_failed(config(), context(), OSError("x", plain), timed_out=False)
    assert isinstance(error, PolytomicConfigError) and "does not speak TLS" in str(error)
    dropped = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    error = transport.request_failed(config(), context(), dropped, timed_out=False)
    assert isinstance(error, PolytomicUnavailableError) and is_transient(error)


# -- 8, 9. numbers and bodies from the network --------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "NaN"])
def test_retry_after_that_is_not_finite_is_ignored(value: str) -> None:
    assert parse_retry_after({"Retry-After": value}) is None
    assert parse_retry_after({"retry-after-ms": value}) is None


def test_every_wait_is_finite_and_capped() -> None:
    assert parse_retry_after({"Retry-After": "99999999"}) == 120
    assert parse_retry_after({"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}) == 120
    assert seconds_within(math.nan, 30) == 30 and seconds_within(-5, 30) == 0
    policy = RetryPolicy()
    error = PolytomicRateLimitError("slow down", context=context(), retry_after=math.nan)
    assert policy.wait_for(error, 1.0) == policy.max_retry_after


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": {"current_execution": {"id": "e", "status": "running", "counts": {"error": 1e400}}}}',
        b'{"data": {"current_execution": {"id": "e", "status": "running", "counts": {"error": NaN}}}}',
        b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"data": {"current_execution": {"id": "e", "status": "running", "created_at": "2026-13-45T99:00:00Z"}}}',
        b'{"data": {"current_execution": {"id": "' + b"e" * 100 + b'", "status": "running"}}}',
        b'{"data": {"current_execution": {"id": "e", "status": "running", "errors": {"a": 1}}}}',
    ],
    ids=["overflow", "nan", "deep-nesting", "bad-date", "long-id", "errors-object"],
)
def test_any_2xx_body_that_cannot_be_read_is_a_bad_response(body: bytes) -> None:
    with pytest.raises(PolytomicBadResponseError, match="my_conn"):
        protocol.get_sync_status(SYNC).read(config(), 200, {}, body)


def test_a_deeply_nested_error_body_is_still_an_http_error() -> None:
    with pytest.raises(PolytomicUnavailableError, match="HTTP 503"):
        protocol.get_sync_status(SYNC).read(config(), 503, {}, b"[" * 100_000)


def test_empty_error_messages_are_not_record_errors() -> None:
    execution = Execution.from_api({"id": RUNNING, "status": "completed", "errors": [None, "", "  "]})
    assert execution.errors == () and execution.error_count == 0
    assert judge(SYNC, execution, fail_on_record_errors=True).verdict is Verdict.SUCCEEDED


# -- 10, 11. secrets and sizes ----------------------------------------------------------------------------


def test_the_key_is_scrubbed_from_everything_built_from_a_response() -> None:
    for cfg in (config(), config(login="org-1")):
        token = cfg.authorization.split(" ", 1)[1]
        body = json.dumps({"message": f"denied for {cfg.authorization} (key {KEY})"}).encode()
        with pytest.raises(PolytomicAuthError) as raised:
            protocol.get_sync_status(SYNC).read(cfg, 401, {"Location": KEY}, body)
        assert KEY not in str(raised.value) and token not in str(raised.value)
    document = {"data": {"current_execution": {"id": RUNNING, "status": "failed", "errors": [f"key {KEY} rejected"]}}}
    status = protocol.get_sync_status(SYNC).read(config(), 200, {}, json.dumps(document).encode())
    assert status.current_execution is not None and status.current_execution.errors == ("key *** rejected",)


def test_summary_message_and_event_stay_small_whatever_polytomic_sends() -> None:
    huge = "x" * 2_000_000
    execution = Execution.from_api(
        {
            "id": RUNNING,
            "status": "failed" + huge,
            "type": huge,
            "errors": [huge] * 50,
            "status_message": huge,
        }
    )
    judgement = judge(SYNC, execution, fail_on_record_errors=True)
    summary = judgement.summary()
    assert len(json.dumps(summary).encode()) < 16 * 1024
    assert len(judgement.message) < 4 * 1024
    from dataclasses import replace

    from airflow_provider_polytomic.core.status import Outcome

    # An unknown status waits; its message and summary are what any final event would carry.
    event = Outcome.of(replace(judgement, verdict=Verdict.FAILED)).to_event()
    assert len(json.dumps(event).encode()) < 16 * 1024


def test_an_api_error_message_is_bounded() -> None:
    body = json.dumps({"message": "y" * 2_000_000}).encode()
    with pytest.raises(PolytomicNotFoundError) as raised:
        protocol.get_sync_status(SYNC).read(config(), 404, {}, body)
    assert len(str(raised.value)) < 2048


def test_a_redirect_names_its_location() -> None:
    with pytest.raises(PolytomicError, match=re.escape("redirected to 'https://login.example.com/'")):
        protocol.get_sync_status(SYNC).read(config(), 302, {"Location": "https://login.example.com/"}, b"")


# -- 7. poll intervals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "soon", None, 1e9])
def test_a_poll_interval_must_be_positive_finite_and_sane(value: Any) -> None:
    with pytest.raises(PolytomicConfigError, match="poll_interval must be a positive number"):
        poll_interval(value, "X poll_interval")


# -- the one answer to "is this temporary?" ---------------------------------------------------------------


def test_is_transient_is_the_one_decision() -> None:
    ctx = context()
    assert is_transient(PolytomicUnavailableError("503", context=ctx))
    assert is_transient(PolytomicRateLimitError("429", context=ctx))
    assert not is_transient(PolytomicAuthError("401", context=ctx))
    assert not is_transient(PolytomicBadResponseError("not JSON"))
    assert is_transient(PolytomicBadResponseError("HTML on a poll", foreign=True, poll=True))
    assert not is_transient(PolytomicBadResponseError("HTML on a start", foreign=True, poll=False))
    assert not is_transient(PolytomicBadResponseError("a Polytomic document it cannot read", poll=True))
    assert not is_transient(PolytomicConfigError("bad host"))
    assert not is_transient(ValueError("anything else"))
    policy = RetryPolicy()
    for error in (
        PolytomicUnavailableError("503", context=ctx),
        PolytomicBadResponseError("x"),
        PolytomicBadResponseError("x", foreign=True, poll=True),
    ):
        assert policy.is_retryable(error) is is_transient(error)
