"""Building Polytomic API requests and reading their responses, without doing any I/O.

The sync transport (``requests``, in the hook) and the async transport (``aiohttp``, in the trigger) both
do exactly this: take an :class:`ApiCall` from one of the builders below, send ``method`` + ``url(config)``
with ``headers(config)``, and hand the status, headers and body to :meth:`ApiCall.read`. Everything that
decides *what* is sent and *what an answer means* lives here, once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, Unpack

from airflow_provider_polytomic.core.bulk_start import BulkStartOptions, start_body
from airflow_provider_polytomic.core.clock import ServerClock
from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import (
    PolytomicBadResponseError,
    PolytomicConfigError,
    RequestContext,
)
from airflow_provider_polytomic.core.http_errors import MAX_API_MESSAGE_CHARS, error_for_status
from airflow_provider_polytomic.core.ids import validate_id
from airflow_provider_polytomic.core.models import (
    Execution,
    ExecutionPage,
    SyncStatus,
)
from airflow_provider_polytomic.core.redaction import quote, redact
from airflow_provider_polytomic.core.values import PayloadError

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCall(Generic[T]):
    """One API request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Any], T] = field(repr=False)
    sync_id: str | None = None
    execution_id: str | None = None
    params: Mapping[str, str] | None = None
    body: Mapping[str, Any] | None = None
    idempotency_key: str | None = None
    #: ``parse`` takes the whole response document rather than its ``data`` member (paginated lists).
    whole_document: bool = False
    #: For answers whose times are compared with "now": gives the result Polytomic's clock, read from the
    #: answer's ``Date`` (:mod:`airflow_provider_polytomic.core.clock`).
    stamp: Callable[[T, ServerClock | None], T] | None = field(default=None, repr=False)
    #: A read of a run's state, repeated until the run ends (status, execution, executions list): an answer that is
    #: no Polytomic document at all is then temporary (:func:`~airflow_provider_polytomic.core.errors.is_transient`).
    #: Never a start or a cancel: those are not sent again blindly.
    poll: bool = False
    #: Whether this endpoint's answers may be quoted into a message (redacted, :mod:`.redaction`): only where they
    #: cannot carry a third party's secrets. A definition holds a connection's configuration, passwords included:
    #: its answers are never quoted, and a new call is not quoted unless it says so.
    quotable: bool = False

    def url(self, config: ClientConfig) -> str:
        return config.base_url + self.path

    def headers(self, config: ClientConfig, client: str | None = None) -> dict[str, str]:
        return config.headers(idempotency_key=self.idempotency_key, has_body=self.body is not None, client=client)

    def json_body(self) -> bytes | None:
        return json.dumps(self.body).encode() if self.body is not None else None

    def context(self, config: ClientConfig) -> RequestContext:
        return RequestContext(
            config.conn_id, self.method, self.path, self.sync_id, self.execution_id, base_url=config.base_url
        )

    def read(self, config: ClientConfig, status: int, headers: Mapping[str, str], body: bytes) -> T:
        """The parsed result of a 2xx answer, or the error that any other answer means.

        The body is scrubbed of the credentials first, so nothing built from it (an error message, an
        execution's errors, a trigger event) can carry the key; and it is quoted only if :attr:`quotable`.
        """
        context = self.context(config)
        body = config.scrub(body)
        if not 200 <= status < 300:
            headers = {k: config.scrub_text(v) for k, v in headers.items()}
            raise error_for_status(context, status, headers, body, quotable=self.quotable)
        try:
            document = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as error:
            raise self._unreadable(
                f"Polytomic answered {context.describe()} with HTTP {status} but the body is not JSON "
                f"({type(error).__name__})",
                body,
                foreign=config.base_url,
            ) from None
        if not isinstance(document, dict) or "data" not in document:
            raise self._unreadable(
                f"Polytomic answered {context.describe()} with JSON that has no 'data' member",
                body,
                foreign=config.base_url,
            )
        try:
            result = self.parse(document if self.whole_document else document["data"])
        except (ValueError, TypeError, OverflowError, RecursionError, AttributeError) as error:
            # A PayloadError names fields, never values; any other error's words may quote the body.
            if self.quotable:
                detail = redact(str(error)[:MAX_API_MESSAGE_CHARS])
            else:
                detail = str(error) if isinstance(error, PayloadError) else type(error).__name__
            raise self._unreadable(
                f"Polytomic answered {context.describe()} with a body this provider cannot read: "
                f"{detail[:MAX_API_MESSAGE_CHARS]}",
                None,
            ) from None
        return self.stamp(result, ServerClock.from_headers(headers)) if self.stamp is not None else result

    def _unreadable(self, message: str, body: bytes | None, *, foreign: str | None = None) -> PolytomicBadResponseError:
        """The error for a 2xx answer that cannot be read, quoting ``body`` only if this call's answers may be.

        ``foreign``: the base URL, when the body is no Polytomic document at all (a proxy's page, or a host that
        is not Polytomic's: the hint says where to look if it persists).
        """
        if body is not None:
            if self.quotable:
                message += f": {quote(body)!r}"
            else:
                message += f" ({len(body)} bytes, not quoted: answers of {self.path} may hold a connection's secrets)"
        if foreign is not None:
            message += f"; if this persists, check that {foreign} (the connection's host) is Polytomic's API."
        return PolytomicBadResponseError(message, foreign=foreign is not None, poll=self.poll)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def get_sync_status(sync_id: str, kind: SyncKind = SyncKind.MODEL) -> ApiCall[SyncStatus]:
    sync_id = validate_id(sync_id, "sync id")
    return ApiCall(
        "GET",
        f"{kind.api_prefix}/{sync_id}/status",
        SyncStatus.from_api,
        sync_id=sync_id,
        stamp=SyncStatus.with_clock,
        poll=True,
        quotable=True,
    )


def get_execution(sync_id: str, execution_id: str, kind: SyncKind = SyncKind.MODEL) -> ApiCall[Execution]:
    return _execution_call("GET", "", Execution.from_api, sync_id, execution_id, kind, poll=True)


def _execution_call(
    method: str,
    suffix: str,
    parse: Callable[[Any], T],
    sync_id: str,
    execution_id: str,
    kind: SyncKind,
    body: Mapping[str, Any] | None = None,
    *,
    poll: bool = False,
) -> ApiCall[T]:
    """A call on one execution: ``{prefix}/{sync}/executions/{execution}{suffix}``, both ids checked."""
    sync_id = validate_id(sync_id, "sync id")
    execution_id = validate_id(execution_id, "execution id")
    return ApiCall(
        method,
        f"{kind.api_prefix}/{sync_id}/executions/{execution_id}{suffix}",
        parse,
        sync_id=sync_id,
        execution_id=execution_id,
        body=body,
        poll=poll,
        quotable=True,
    )


def list_executions(
    sync_id: str, *, page_token: str | None = None, kind: SyncKind = SyncKind.MODEL
) -> ApiCall[ExecutionPage]:
    """``GET .../executions``, newest first, one page."""
    sync_id = validate_id(sync_id, "sync id")
    return ApiCall(
        "GET",
        f"{kind.api_prefix}/{sync_id}/executions",
        ExecutionPage.from_document,
        sync_id=sync_id,
        params={"page_token": page_token} if page_token else None,
        whole_document=True,
        stamp=ExecutionPage.with_clock,
        poll=True,
        quotable=True,
    )


_IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,255}$")


def idempotency_key(*parts: object) -> str:
    """A stable ``Idempotency-Key`` for one logical start, e.g. ``(dag_id, run_id, task_id, map_index)``.

    Hashed, because Polytomic takes 8-255 characters of ``[A-Za-z0-9_-]`` and run ids hold ``:`` and ``+``.
    """
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()
    return f"airflow-{digest[:40]}"


def start_sync(
    sync_id: str,
    *,
    idempotency_key: str,
    resync: bool = False,
    identities: list[str] | None = None,
    test: bool = False,
) -> ApiCall[Execution]:
    """``POST /api/syncs/{id}/executions``. The key makes a repeat (a retry, a re-run task) return the first run.

    Polytomic answers with the execution's id, status and creation time only.
    """
    body = {"identities": list(identities) if identities else None, "resync": bool(resync), "test": bool(test)}
    return _start(sync_id, SyncKind.MODEL, body, idempotency_key)


def start_bulk_sync(sync_id: str, *, idempotency_key: str, **options: Unpack[BulkStartOptions]) -> ApiCall[Execution]:
    """``POST /api/bulk/syncs/{id}/executions``, with the options :mod:`.bulk_start` defines and checks."""
    return _start(sync_id, SyncKind.BULK, start_body(options), idempotency_key)


def _start(sync_id: str, kind: SyncKind, body: dict[str, Any], idempotency_key: str) -> ApiCall[Execution]:
    sync_id = validate_id(sync_id, "sync id")
    if not _IDEMPOTENCY_KEY_PATTERN.match(idempotency_key):
        raise PolytomicConfigError(
            f"An Idempotency-Key must be 8-255 characters of A-Z, a-z, 0-9, '_' and '-', got {idempotency_key!r:.80}."
        )
    return ApiCall(
        "POST",
        f"{kind.api_prefix}/{sync_id}/executions",
        Execution.from_api,
        sync_id=sync_id,
        body=body,
        idempotency_key=idempotency_key,
        quotable=True,
    )


def cancel_execution(sync_id: str, execution_id: str, kind: SyncKind = SyncKind.MODEL) -> ApiCall[str]:
    """``POST .../executions/{id}/cancel``; returns Polytomic's message."""
    return _execution_call("POST", "/cancel", _message, sync_id, execution_id, kind, body={})


def _message(data: Any) -> str:
    return str(data.get("message", "")) if isinstance(data, dict) else ""
