"""The retry policy: Retry-After in all its forms, capped waits, transient errors only."""

from __future__ import annotations

from email.utils import formatdate

import pytest
from tenacity import Retrying

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.errors import (
    PolytomicAuthError,
    PolytomicRateLimitError,
    PolytomicUnavailableError,
)
from airflow_provider_polytomic.core.retry import RetryPolicy, parse_retry_after
from tests.unit.core.samples import SYNC
from tests.unit.core.samples import client_config as config


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
