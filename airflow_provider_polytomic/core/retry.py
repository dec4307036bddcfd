"""When to try a request again, and how long to wait first.

Transient failures (connection errors, timeouts, 408, 429, 5xx) are retried with exponential backoff and
full jitter, honouring ``Retry-After`` within a cap; everything else fails at once. The policy is expressed
as ``tenacity`` settings so the sync transport (``Retrying``) and the async one (``AsyncRetrying``) share it.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from airflow_provider_polytomic.core.defaults import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_DELAY, MAX_BACKOFF
from airflow_provider_polytomic.core.errors import is_transient

if TYPE_CHECKING:
    from airflow_provider_polytomic.core.errors import PolytomicApiError

T = TypeVar("T")

#: The longest wait a server may ask for: ``Retry-After`` beyond it (or not a finite number) is cut to it.
MAX_RETRY_AFTER = 120.0


def replay_first(error: BaseException, send: Callable[..., Any]) -> Callable[..., Any]:
    """``send``, except that its first call raises ``error``: the attempt that already failed.

    The transports make the first attempt without tenacity (most requests succeed, and tenacity's machinery
    cost ~60 µs per request on a busy triggerer); only after a retryable failure do they hand tenacity this,
    so attempt numbers, waits, ``Retry-After``, log lines and the final error stay exactly as before.
    """
    pending = [error]

    def attempt(*args: Any, **kwargs: Any) -> Any:
        if pending:
            raise pending.pop()
        return send(*args, **kwargs)

    if not inspect.iscoroutinefunction(send):
        return attempt

    async def async_attempt(*args: Any, **kwargs: Any) -> Any:  # tenacity awaits only coroutine functions
        return await attempt(*args, **kwargs)

    return async_attempt


@dataclass(frozen=True)
class RetryPolicy:
    """A bounded number of retries with capped exponential backoff (seconds)."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = DEFAULT_RETRY_DELAY
    max_delay: float = MAX_BACKOFF
    #: A longer ``Retry-After`` than this is cut to it, so one answer cannot park a task for hours.
    max_retry_after: float = MAX_RETRY_AFTER

    def is_retryable(self, error: BaseException) -> bool:
        return is_transient(error)

    def wait_for(self, error: BaseException | None, backoff: float) -> float:
        """The pause before the next attempt: ``Retry-After`` when the server sent one, else ``backoff``."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return seconds_within(retry_after, self.max_retry_after)
        return seconds_within(backoff, self.max_delay)

    def call(
        self, send: Callable[..., T], *args: Any, before_sleep: Callable[[RetryCallState], Any] | None = None
    ) -> T:
        """``send(*args)``, retried as this policy says: the sync transport's whole retry loop.

        The first attempt goes out without tenacity (most requests succeed); only a retryable failure hands
        tenacity the rest, replaying that failure as its first attempt (:func:`replay_first`).
        """
        try:
            return send(*args)
        except Exception as error:
            if not self.is_retryable(error):
                raise
            attempt = replay_first(error, send)
        return cast(T, Retrying(**self.tenacity_settings(before_sleep))(attempt, *args))

    async def acall(
        self,
        send: Callable[..., Awaitable[T]],
        *args: Any,
        before_sleep: Callable[[RetryCallState], Any] | None = None,
    ) -> T:
        """:meth:`call` for the async transport."""
        try:
            return await send(*args)
        except Exception as error:
            if not self.is_retryable(error):
                raise
            attempt = replay_first(error, send)
        return cast(T, await AsyncRetrying(**self.tenacity_settings(before_sleep))(attempt, *args))

    def describe_retry(self, state: RetryCallState) -> str:
        """The log line before a retry: what failed, how long the pause, which attempt comes next."""
        error = state.outcome.exception() if state.outcome else None
        pause = state.next_action.sleep if state.next_action else 0.0
        return f"{error} Retrying in {pause:.1f} s (attempt {state.attempt_number + 1} of {self.max_retries + 1})."

    def tenacity_settings(self, before_sleep: Callable[[RetryCallState], Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying``.

        The error raised after the last attempt is the last error seen, its message saying how many
        attempts were made.
        """
        backoff = wait_random_exponential(multiplier=self.initial_delay, max=self.max_delay)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.wait_for(error, float(backoff(state)))

        def give_up(state: RetryCallState) -> Any:
            error = state.outcome.exception() if state.outcome else None
            if error is None:  # pragma: no cover - tenacity only gives up after an error
                raise RuntimeError("retry gave up without an error")
            raise _with_attempts(error, state.attempt_number) from None

        return {
            "stop": stop_after_attempt(self.max_retries + 1),
            "wait": wait,
            "retry": retry_if_exception(self.is_retryable),
            "retry_error_callback": give_up,
            "before_sleep": before_sleep,
            "reraise": True,
        }


def _with_attempts(error: BaseException, attempts: int) -> BaseException:
    after = getattr(error, "after_attempts", None)
    if attempts > 1 and callable(after):
        result: PolytomicApiError = after(attempts)
        return result
    return error


def seconds_within(value: float, cap: float) -> float:
    """``value`` clamped to [0, cap]; anything that is not a finite number (``nan``) becomes ``cap``.

    A ``nan`` handed to ``asyncio.sleep`` corrupts the shared event loop's timers; nothing read from the network
    reaches a sleep without passing through here.
    """
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return cap
    if math.isnan(number):
        return cap
    return min(max(number, 0.0), cap)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait as the server asks: ``retry-after-ms``, ``Retry-After`` (seconds or HTTP date).

    Always finite and within [0, :data:`MAX_RETRY_AFTER`], or None when absent or unreadable.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    milliseconds = _finite(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return seconds_within(milliseconds / 1000.0, MAX_RETRY_AFTER)
    value = lowered.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    seconds = _finite(value)
    if seconds is not None:
        return seconds_within(seconds, MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return seconds_within(when.timestamp() - now, MAX_RETRY_AFTER)


def _finite(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
