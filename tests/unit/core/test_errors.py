"""The provider's exceptions and the one answer to "is this temporary?" that retries, waits and watchers ask."""

from __future__ import annotations

from airflow_provider_polytomic.core.errors import (
    PolytomicAuthError,
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicRateLimitError,
    PolytomicUnavailableError,
    RequestContext,
    is_transient,
)
from airflow_provider_polytomic.core.retry import RetryPolicy

SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"


def context() -> RequestContext:
    return RequestContext("my_conn", "GET", f"/api/syncs/{SYNC}/status", SYNC)


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
