"""The poll policy every driver asks: which errors end a wait, the pause after failures, the timeout message."""

from __future__ import annotations

from airflow_provider_polytomic.core.errors import PolytomicApiError, PolytomicConfigError, RequestContext
from airflow_provider_polytomic.core.poll_policy import (
    MAX_ERROR_BACKOFF,
    PollErrors,
    error_backoff,
    permanent,
    timed_out,
)

SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"
CONTEXT = RequestContext("polytomic_default", "GET", f"/api/syncs/{SYNC}/status", sync_id=SYNC)


def api_error(status: int) -> PolytomicApiError:
    error = PolytomicApiError(f"HTTP {status}", context=CONTEXT, http_status=status)
    error.transient = status >= 500
    return error


def test_the_pause_doubles_after_each_failure_up_to_the_cap_and_never_overflows() -> None:
    assert [error_backoff(10, failures) for failures in (1, 2, 3)] == [20, 40, 80]
    assert error_backoff(10, 10_000) == MAX_ERROR_BACKOFF
    assert error_backoff(900, 1) == 900  # a poll interval above the cap is never shortened


def test_failures_in_a_row_lengthen_the_pause_and_an_answer_starts_again() -> None:
    errors = PollErrors(poll_interval=5)
    assert errors.pause() == 5 and errors.describe() == ""
    assert [errors.failed(api_error(503)) for _ in range(3)] == [10, 20, 40]
    assert "the last 3 poll(s) in a row failed, the last with: HTTP 503" in errors.describe()
    assert errors.answered() == 3
    assert (errors.pause(), errors.failures, errors.describe()) == (5, 0, "")


def test_only_a_polytomic_error_that_trying_again_cannot_help_is_permanent() -> None:
    assert permanent(api_error(403)) and permanent(PolytomicConfigError("no key"))
    assert not permanent(api_error(503))
    # A bug, not Polytomic's answer: a wait lets it propagate, the asset watcher retries it like a transient one.
    assert not permanent(RuntimeError("unexpected"))


def test_one_timeout_message_names_the_sync_the_limit_and_the_failures_before_it() -> None:
    assert timed_out(SYNC) == f"Timed out waiting for Polytomic sync {SYNC}."
    errors = PollErrors(poll_interval=1)
    errors.failed(api_error(502))
    message = timed_out(SYNC, limit=90, errors=errors)
    assert message.startswith(f"Timed out waiting for Polytomic sync {SYNC} (time limit 90 s). Polytomic was failing")
    assert "HTTP 502" in message
