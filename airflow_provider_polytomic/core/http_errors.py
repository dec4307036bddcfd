"""What an HTTP error answer from Polytomic becomes: one of the provider's exceptions, with a message that
names the connection, the sync or execution, Polytomic's own words and what to do. No I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus

from airflow_provider_polytomic.core import redaction
from airflow_provider_polytomic.core.errors import (
    PolytomicApiError,
    PolytomicAuthError,
    PolytomicConflictError,
    PolytomicNotFoundError,
    PolytomicRateLimitError,
    PolytomicRequestError,
    PolytomicUnavailableError,
    RequestContext,
)
from airflow_provider_polytomic.core.retry import parse_retry_after

#: How much of Polytomic's own error text a message quotes.
MAX_API_MESSAGE_CHARS = 500

_HINTS = {
    401: "Check the API key in connection '{conn}' (for a deployment key, the organization id goes in the login).",
    403: "The key of connection '{conn}' is not allowed to do this; check its organization and role.",
    404: "No such {thing} in the organization of connection '{conn}'; check the id.",
    409: "The sync's state does not allow this right now (is a run already going?).",
    429: "Polytomic is rate limiting this key.",
}


def api_message(body: bytes) -> str | None:
    """Polytomic's own explanation: ``message``, else ``error``, else the start of the body; secret-looking
    values redacted (:mod:`.redaction`)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if isinstance(document, dict):
        for key in ("message", "error"):
            value = document.get(key)
            if isinstance(value, str) and value.strip():
                return redaction.redact(_bounded(value.strip()))
    text = redaction.quote(body)
    return text or None


def _bounded(text: str, limit: int = MAX_API_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_for_status(
    context: RequestContext, status: int, headers: Mapping[str, str], body: bytes, *, quotable: bool = True
) -> PolytomicApiError:
    """``quotable``: whether the body may be quoted (Polytomic's message is the body: an endpoint that may carry
    a third party's secrets has its answers never quoted, and the status and hint say enough)."""
    message = api_message(body) if quotable else None
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    thing = "execution" if context.execution_id else "sync" if context.sync_id else "resource"
    hint = _HINTS.get(status, "Polytomic could not answer; this is usually temporary." if status >= 500 else "")
    hint = hint.format(conn=context.conn_id, thing=thing)
    if 300 <= status < 400:
        location = next((v for k, v in headers.items() if k.lower() == "location"), None)
        hint = (
            f"Polytomic redirected to {_bounded(location, 200)!r}; redirects are not followed (the key would go "
            "along): set the connection's host to where Polytomic really answers."
            if location
            else "Redirects are not followed: check the connection's host."
        )
    text = f"Polytomic answered {context.describe()} with HTTP {status} {reason}"
    text += f": {message}." if message else "."
    if hint:
        text += f" {hint}"
    kind: type[PolytomicApiError]
    if status in (401, 403):
        kind = PolytomicAuthError
    elif status == 404:
        kind = PolytomicNotFoundError
    elif status == 409:
        kind = PolytomicConflictError
    elif status == 429:
        kind = PolytomicRateLimitError
    elif status == 408 or status >= 500:
        kind = PolytomicUnavailableError
    else:
        kind = PolytomicRequestError
    return kind(
        text,
        context=context,
        http_status=status,
        api_message=message,
        retry_after=parse_retry_after(headers) if kind.transient else None,
    )
