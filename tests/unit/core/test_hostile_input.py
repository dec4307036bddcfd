"""The I/O-free core under hostile input: which execution an anchored look-up judges, connections that can never
work, numbers and bodies from the network, secrets echoed back. No server needed. (The transport policy is
tested in test_transport.py, "is this temporary?" in test_errors.py.)"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_polytomic.core import protocol
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


# -- 2. plain HTTP (the transport policy itself: test_transport.py) --------------------------------------------


def test_plain_http_to_a_remote_host_is_warned_about() -> None:
    assert any("plain http" in warning for warning in config(host="http://polytomic.example.com").warnings())
    assert config(host="http://127.0.0.1:8080").warnings() == []
    assert config(host="http://localhost:8080").warnings() == []


def context() -> RequestContext:
    return RequestContext("my_conn", "GET", f"/api/syncs/{SYNC}/status", SYNC)


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
