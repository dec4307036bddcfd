"""The provider's exceptions, all rooted in ``AirflowException``.

Every message names what a user needs to act on (HTTP status, request path, connection id, sync id and
Polytomic's own message) and never the API key: the key is not passed to anything in this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


@dataclass(frozen=True)
class RequestContext:
    """What a request was about, for error messages and logs."""

    conn_id: str
    method: str
    path: str
    sync_id: str | None = None
    execution_id: str | None = None
    #: Where the request went (the connection's base URL: never credentials, which the base URL cannot hold).
    base_url: str | None = None

    def describe(self) -> str:
        about = [f"connection '{self.conn_id}'"]
        if self.sync_id:
            about.append(f"sync {self.sync_id}")
        if self.execution_id:
            about.append(f"execution {self.execution_id}")
        return f"{self.method} {self.path} ({', '.join(about)})"


class PolytomicError(AirflowException):
    """Base of every error this provider raises."""


class PolytomicConfigError(PolytomicError):
    """The Airflow connection is incomplete or malformed (missing key, bad URL, bad extra)."""


class PolytomicTriggerArgumentError(PolytomicConfigError, TypeError):
    """A trigger built by hand (a DAG author's) with arguments it cannot run with.

    Also a ``TypeError``: the one exception Airflow's triggerer catches from a trigger's constructor (it then
    fails that trigger alone); anything else ends the triggerer and every deferred task on it.
    """


class PolytomicInvalidIdError(PolytomicError, ValueError):
    """A sync or execution id is not a UUID; raised before any request is sent."""


class PolytomicApiError(PolytomicError):
    """Polytomic answered with an error status (or could not be reached).

    ``transient`` says whether trying again later may help (connection errors, timeouts, 408, 429, 5xx).
    """

    transient = False

    def __init__(
        self,
        message: str,
        *,
        context: RequestContext,
        http_status: int | None = None,
        api_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.context = context
        self.http_status = http_status
        self.api_message = api_message
        self.retry_after = retry_after
        self.attempts = 1

    def after_attempts(self, attempts: int) -> PolytomicApiError:
        """The same error, its message saying how many attempts were made before giving up."""
        again = type(self)(
            f"{self.args[0]} Gave up after {attempts} attempts.",
            context=self.context,
            http_status=self.http_status,
            api_message=self.api_message,
            retry_after=self.retry_after,
        )
        again.attempts = attempts
        return again


class PolytomicAuthError(PolytomicApiError):
    """401 or 403: the key is wrong, revoked, or lacks access."""


class PolytomicNotFoundError(PolytomicApiError):
    """404: no such sync or execution in the key's organization."""


class PolytomicConflictError(PolytomicApiError):
    """409: the request conflicts with the sync's state (for example, a run is already going)."""


class PolytomicRequestError(PolytomicApiError):
    """Any other 4xx: Polytomic rejected the request as sent."""


class PolytomicUnavailableError(PolytomicApiError):
    """5xx, 408, a timeout or a connection error: Polytomic could not answer right now.

    Its message names the base URL tried: a wrong host or port looks exactly like an outage and is retried for as
    long as the task waits, so every retry warning and the final error must show where the requests went.
    """

    transient = True

    def __init__(self, message: str, *, context: RequestContext, **details: Any) -> None:
        if context.base_url and context.base_url not in message:
            message = f"{message} Base URL tried: {context.base_url}."
        super().__init__(message, context=context, **details)


class PolytomicRateLimitError(PolytomicUnavailableError):
    """429: too many requests."""


class PolytomicBadResponseError(PolytomicError):
    """Polytomic answered 2xx with a body this provider cannot read.

    ``foreign``: the body is no Polytomic document at all (not JSON, cut short, no ``data`` member), what a proxy
    or load balancer sends when it fails (an HTML error page with status 200). ``poll``: the request was a poll
    (:attr:`~airflow_provider_polytomic.core.protocol.ApiCall.poll`).
    """

    def __init__(self, message: str, *, foreign: bool = False, poll: bool = False) -> None:
        super().__init__(message)
        self.foreign = foreign
        self.poll = poll

    def after_attempts(self, attempts: int) -> PolytomicBadResponseError:
        """The same error, its message saying how many attempts were made before giving up."""
        return type(self)(f"{self.args[0]} Gave up after {attempts} attempts.", foreign=self.foreign, poll=self.poll)


class PolytomicExecutionGoneError(PolytomicError):
    """Polytomic answered 404 to a read of one execution: it no longer exists (deleted, or the connection now
    reaches another organization). Not transient: the same read answers the same."""

    def __init__(self, message: str, *, sync_id: str | None, execution_id: str | None) -> None:
        super().__init__(message)
        self.sync_id = sync_id
        self.execution_id = execution_id


def execution_gone(error: BaseException) -> PolytomicExecutionGoneError | None:
    """``error`` as "the execution no longer exists" when it says so (a 404 to a read of one execution), else
    None. The one answer, asked by the sensor and the trigger."""
    if isinstance(error, PolytomicExecutionGoneError):
        return error
    if isinstance(error, PolytomicNotFoundError) and error.context.execution_id and error.context.method == "GET":
        return PolytomicExecutionGoneError(
            str(error), sync_id=error.context.sync_id, execution_id=error.context.execution_id
        )
    return None


def is_transient(error: BaseException) -> bool:
    """The provider's one answer to "may trying again later help?" about Polytomic's answer (or its absence),
    asked by the retry policy and the poll policy (:mod:`~airflow_provider_polytomic.core.poll_policy`, which
    every driver asks).

    Yes for a request that got no answer or timed out, 408, 429 and 5xx; and for a poll answered 2xx with a body
    that is no Polytomic document at all (an HTML page from a proxy, JSON cut short): far more often an edge fault
    than Polytomic's answer, and a poll is safe to repeat (a start never is: it is not retried blindly). No for
    everything else: a wrong key, an unknown sync, a malformed connection, a Polytomic document this provider
    cannot read, and any exception that is no ``PolytomicApiError`` (a bug, not an answer: what a driver does with
    it is the poll policy's, :func:`~airflow_provider_polytomic.core.poll_policy.permanent`).
    """
    if isinstance(error, PolytomicBadResponseError):
        return error.poll and error.foreign
    return isinstance(error, PolytomicApiError) and error.transient


class PolytomicSyncFailedError(AirflowFailException, PolytomicError):
    """The watched execution ended badly (failed, canceled, interrupted, or completed with record errors).

    It is an ``AirflowFailException``: retrying the task cannot undo a finished execution, so Airflow fails
    the task without using its retries.
    """

    def __init__(self, message: str, *, summary: dict[str, object]) -> None:
        super().__init__(message)
        self.summary = summary
