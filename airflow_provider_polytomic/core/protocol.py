"""Building Polytomic API requests and reading their responses, without doing any I/O.

The sync transport (``requests``, in the hook) and the async transport (``aiohttp``, in the trigger) both
do exactly this: take an :class:`ApiCall` from one of the builders below, send ``method`` + ``url(config)``
with ``headers(config)``, and hand the status, headers and body to :meth:`ApiCall.read`. Everything that
decides *what* is sent and *what an answer means* lives here, once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from airflow_provider_polytomic import __version__
from airflow_provider_polytomic.core.constants import DEFAULT_CONN_ID as DEFAULT_CONN_ID
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import (
    PolytomicApiError,
    PolytomicAuthError,
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicConflictError,
    PolytomicInvalidIdError,
    PolytomicNotFoundError,
    PolytomicRateLimitError,
    PolytomicRequestError,
    PolytomicUnavailableError,
    RequestContext,
)
from airflow_provider_polytomic.core.models import Execution, ExecutionPage, Identity, SyncStatus
from airflow_provider_polytomic.core.retry import RetryPolicy, parse_retry_after

T = TypeVar("T")

DEFAULT_BASE_URL = "https://app.polytomic.com"
DEFAULT_API_VERSION = "2025-09-18"
DEFAULT_TIMEOUT = 30.0
USER_AGENT = f"airflow-provider-polytomic/{__version__}"
#: Where a sync lives in the Polytomic web app. Unverified by Polytomic's docs, hence overridable per
#: connection (extra ``sync_url_template``).
DEFAULT_SYNC_URL_TEMPLATE = "{base_url}/syncs/{sync_id}"
DEFAULT_BULK_SYNC_URL_TEMPLATE = "{base_url}/bulk/syncs/{sync_id}"

_API_VERSION_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---------------------------------------------------------------------------------------------------------
# Connection settings
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientConfig:
    """Everything a transport needs from the Airflow connection. The credentials are kept out of repr."""

    conn_id: str
    base_url: str
    authorization: str = field(repr=False)
    api_version: str = DEFAULT_API_VERSION
    timeout: float = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify: bool | str = True
    sync_url_template: str = DEFAULT_SYNC_URL_TEMPLATE

    @classmethod
    def from_connection(
        cls,
        conn_id: str,
        *,
        host: str | None,
        port: int | None = None,
        login: str | None,
        password: str | None,
        extra: Mapping[str, Any] | None,
    ) -> ClientConfig:
        """Read an Airflow connection's fields (see the README for what each one means)."""
        extra = _plain_extra(extra or {})
        if not password:
            raise PolytomicConfigError(
                f"Connection '{conn_id}' has no Polytomic API key: put the key in the connection's "
                "password field (labelled 'API key' in the UI)."
            )
        if login:
            token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
            authorization = f"Basic {token}"
        else:
            authorization = f"Bearer {password}"

        api_version = str(extra.get("api_version") or DEFAULT_API_VERSION)
        if not _API_VERSION_PATTERN.match(api_version):
            raise PolytomicConfigError(
                f"Connection '{conn_id}': extra 'api_version' must be a date such as "
                f"{DEFAULT_API_VERSION!r}, got {api_version!r}."
            )
        template = str(extra.get("sync_url_template") or DEFAULT_SYNC_URL_TEMPLATE)
        return cls(
            conn_id=conn_id,
            base_url=normalize_base_url(conn_id, host, port),
            authorization=authorization,
            api_version=api_version,
            timeout=_positive_number(conn_id, extra, "timeout", DEFAULT_TIMEOUT),
            retry=RetryPolicy(
                max_retries=int(_positive_number(conn_id, extra, "max_retries", RetryPolicy.max_retries, zero=True)),
                initial_delay=_positive_number(conn_id, extra, "retry_delay", RetryPolicy.initial_delay, zero=True),
            ),
            verify=_verify_setting(conn_id, extra.get("verify", True)),
            sync_url_template=template,
        )

    def headers(
        self, *, idempotency_key: str | None = None, has_body: bool = False, client: str | None = None
    ) -> dict[str, str]:
        """Request headers; ``client`` names the transport in the User-Agent (worker or triggerer, in server logs)."""
        headers = {
            "Authorization": self.authorization,
            "X-Polytomic-Version": self.api_version,
            "Accept": "application/json",
            "User-Agent": f"{USER_AGENT} ({client})" if client else USER_AGENT,
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def sync_url(self, sync_id: str, kind: SyncKind = SyncKind.MODEL) -> str:
        """The sync's page in the Polytomic web app (a custom template serves both kinds)."""
        template = self.sync_url_template
        if kind is SyncKind.BULK and template == DEFAULT_SYNC_URL_TEMPLATE:
            template = DEFAULT_BULK_SYNC_URL_TEMPLATE
        return template.format(base_url=self.base_url, sync_id=sync_id)


def _plain_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """Accept both ``key`` and the older form-prefixed ``extra__polytomic__key`` spellings."""
    prefix = "extra__polytomic__"
    plain = {key.removeprefix(prefix): value for key, value in extra.items() if key.startswith(prefix)}
    plain.update({key: value for key, value in extra.items() if not key.startswith(prefix)})
    # A form leaves empty strings for fields the user did not fill in.
    return {key: value for key, value in plain.items() if value is not None and value != ""}


def normalize_base_url(conn_id: str, host: str | None, port: int | None = None) -> str:
    """``host`` as a base URL: default when empty, ``https://`` added to a bare host, no trailing ``/``."""
    host = (host or "").strip()
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:
        host = f"https://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https"):
        raise PolytomicConfigError(
            f"Connection '{conn_id}': the base URL must use http or https, got scheme {parts.scheme!r}."
        )
    if not parts.hostname:
        raise PolytomicConfigError(f"Connection '{conn_id}': the base URL {host!r} names no host.")
    if parts.username or parts.password:
        raise PolytomicConfigError(
            f"Connection '{conn_id}': do not put credentials in the base URL; use the password field."
        )
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")


def _positive_number(conn_id: str, extra: Mapping[str, Any], key: str, default: float, zero: bool = False) -> float:
    value = extra.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number > 0 or (zero and number == 0)):
        wanted = "zero or a positive number" if zero else "a positive number"
        raise PolytomicConfigError(f"Connection '{conn_id}': extra {key!r} must be {wanted}, got {value!r}.")
    return number


def _verify_setting(conn_id: str, value: Any) -> bool | str:
    """``verify``: true (default), false, or the path of a CA bundle."""
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    if not text:
        raise PolytomicConfigError(f"Connection '{conn_id}': extra 'verify' is empty.")
    return text


# ---------------------------------------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------------------------------------


def validate_id(value: Any, what: str) -> str:
    """``value`` as a canonical UUID string, or :class:`PolytomicInvalidIdError` naming the bad value.

    Ids go into URL paths, so anything else (``../../api/me``, an empty string, an unrendered template)
    is refused before a request is sent.
    """
    text = value.strip() if isinstance(value, str) else value
    try:
        if not isinstance(text, str):
            raise ValueError
        parsed = uuid.UUID(text)
        if len(text) != 36:
            raise ValueError  # uuid.UUID also takes braces, urn: prefixes and bare hex
    except ValueError:
        hint = " It looks like an unrendered template." if isinstance(value, str) and "{{" in value else ""
        raise PolytomicInvalidIdError(
            f"Polytomic {what} must be a UUID such as '248df4b7-aa70-47b8-a036-33ac447e668d', got {value!r:.120}.{hint}"
        ) from None
    return str(parsed)


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

    def url(self, config: ClientConfig) -> str:
        return config.base_url + self.path

    def headers(self, config: ClientConfig, client: str | None = None) -> dict[str, str]:
        return config.headers(idempotency_key=self.idempotency_key, has_body=self.body is not None, client=client)

    def json_body(self) -> bytes | None:
        return json.dumps(self.body).encode() if self.body is not None else None

    def context(self, config: ClientConfig) -> RequestContext:
        return RequestContext(config.conn_id, self.method, self.path, self.sync_id, self.execution_id)

    def read(self, config: ClientConfig, status: int, headers: Mapping[str, str], body: bytes) -> T:
        """The parsed result of a 2xx answer, or the error that any other answer means."""
        context = self.context(config)
        if not 200 <= status < 300:
            raise error_for_status(context, status, headers, body)
        try:
            document = json.loads(body)
        except ValueError:
            raise PolytomicBadResponseError(
                f"Polytomic answered {context.describe()} with HTTP {status} but the body is not JSON: "
                f"{_snippet(body)!r}"
            ) from None
        if not isinstance(document, dict) or "data" not in document:
            raise PolytomicBadResponseError(
                f"Polytomic answered {context.describe()} with JSON that has no 'data' member: {_snippet(body)!r}"
            )
        try:
            return self.parse(document if self.whole_document else document["data"])
        except (ValueError, TypeError) as error:
            raise PolytomicBadResponseError(
                f"Polytomic answered {context.describe()} with a body this provider cannot read: {error}"
            ) from None


def get_sync_status(sync_id: str, kind: SyncKind = SyncKind.MODEL) -> ApiCall[SyncStatus]:
    sync_id = validate_id(sync_id, "sync id")
    return ApiCall("GET", f"{kind.api_prefix}/{sync_id}/status", SyncStatus.from_api, sync_id=sync_id)


def get_execution(sync_id: str, execution_id: str, kind: SyncKind = SyncKind.MODEL) -> ApiCall[Execution]:
    return _execution_call("GET", "", Execution.from_api, sync_id, execution_id, kind)


def _execution_call(
    method: str,
    suffix: str,
    parse: Callable[[Any], T],
    sync_id: str,
    execution_id: str,
    kind: SyncKind,
    body: Mapping[str, Any] | None = None,
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
    )


def get_identity() -> ApiCall[Identity]:
    return ApiCall("GET", "/api/me", Identity.from_api)


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


BULK_FETCH_MODES = ("none", "incremental", "full")
BULK_RESYNC_MODES = ("refetch", "resync", "rebuild")


BULK_TEST_WITH_RESYNC = (
    "A bulk sync start cannot be both a test run and a resync: Polytomic refuses test=True with a resync_mode "
    "(HTTP 400, mutually exclusive). Drop one of them."
)


def start_bulk_sync(
    sync_id: str,
    *,
    idempotency_key: str,
    fetch_mode: str | None = None,
    resync_mode: str | None = None,
    schemas: list[str] | None = None,
    test: bool = False,
) -> ApiCall[Execution]:
    """``POST /api/bulk/syncs/{id}/executions``; options left None (and ``test=False``) are not sent, so
    Polytomic's defaults apply. ``test`` and ``resync_mode`` are mutually exclusive (Polytomic answers 400)."""
    for name, value, allowed in (
        ("fetch_mode", fetch_mode, BULK_FETCH_MODES),
        ("resync_mode", resync_mode, BULK_RESYNC_MODES),
    ):
        if value is not None and value not in allowed:
            raise PolytomicConfigError(f"Bulk sync {name} must be one of {', '.join(allowed)}; got {value!r:.40}.")
    if test and resync_mode is not None:
        raise PolytomicConfigError(BULK_TEST_WITH_RESYNC)
    body: dict[str, Any] = {"test": True} if test else {}
    if fetch_mode is not None:
        body["fetch_mode"] = fetch_mode
    if resync_mode is not None:
        body["resync_mode"] = resync_mode
    if schemas:
        body["schemas"] = list(schemas)
    return _start(sync_id, SyncKind.BULK, body, idempotency_key)


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
    )


def cancel_execution(sync_id: str, execution_id: str, kind: SyncKind = SyncKind.MODEL) -> ApiCall[str]:
    """``POST .../executions/{id}/cancel``; returns Polytomic's message."""
    return _execution_call("POST", "/cancel", _message, sync_id, execution_id, kind, body={})


def _message(data: Any) -> str:
    return str(data.get("message", "")) if isinstance(data, dict) else ""


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------

_HINTS = {
    401: "Check the API key in connection '{conn}' (for a deployment key, the organization id goes in the login).",
    403: "The key of connection '{conn}' is not allowed to do this; check its organization and role.",
    404: "No such {thing} in the organization of connection '{conn}'; check the id.",
    409: "The sync's state does not allow this right now (is a run already going?).",
    429: "Polytomic is rate limiting this key.",
}


def api_message(body: bytes) -> str | None:
    """Polytomic's own explanation: ``message``, else ``error``, else the start of the body."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict):
        for key in ("message", "error"):
            value = document.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    text = _snippet(body)
    return text or None


def error_for_status(
    context: RequestContext, status: int, headers: Mapping[str, str], body: bytes
) -> PolytomicApiError:
    message = api_message(body)
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    thing = "execution" if context.execution_id else "sync" if context.sync_id else "resource"
    hint = _HINTS.get(status, "Polytomic could not answer; this is usually temporary." if status >= 500 else "")
    hint = hint.format(conn=context.conn_id, thing=thing)
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


def transport_error(
    context: RequestContext, reason: str, *, timed_out: bool, timeout: float
) -> PolytomicUnavailableError:
    """The error for a request that got no HTTP answer (connection refused or dropped, or timed out)."""
    if timed_out:
        what = f"no answer within {timeout:g} s (extra 'timeout' of connection '{context.conn_id}')"
    else:
        what = f"the connection failed ({reason})"
    return PolytomicUnavailableError(f"Polytomic request {context.describe()} failed: {what}.", context=context)


def tls_error(context: RequestContext, reason: str) -> PolytomicConfigError:
    """Certificate verification failed: not transient, and the fix is in the connection."""
    return PolytomicConfigError(
        f"TLS verification failed for {context.describe()}: {reason}. For an on-premises install with a "
        "private CA, set extra 'verify' of the connection to the CA bundle's path."
    )


def _snippet(body: bytes, limit: int = 200) -> str:
    return body[:limit].decode("utf-8", errors="replace").strip()
