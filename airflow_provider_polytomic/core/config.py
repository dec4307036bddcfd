"""Reading an Airflow connection into :class:`ClientConfig`, validated whole when it is read. No network I/O.

A connection that can never work (a host with a space, port 99999, a key ending in a newline, a ``timeout`` of
``nan``, a CA bundle path that does not exist) is a :class:`PolytomicConfigError` naming the field, at the first
read — never a "temporary" failure retried until the sensor times out. No message here quotes the key.
"""

from __future__ import annotations

import base64
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_polytomic import __version__
from airflow_provider_polytomic.core import defaults
from airflow_provider_polytomic.core.base_url import is_loopback, normalize_base_url
from airflow_provider_polytomic.core.bounds import bounded_number
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicConfigError
from airflow_provider_polytomic.core.masking import mask_once
from airflow_provider_polytomic.core.retry import RetryPolicy

USER_AGENT = f"airflow-provider-polytomic/{__version__}"

_API_VERSION = re.compile(defaults.API_VERSION_PATTERN)
#: What may go into an HTTP header value as a credential: visible ASCII, no spaces (a key never has any).
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_TEMPLATE_FIELDS = frozenset({"base_url", "sync_id"})


@dataclass(frozen=True)
class ClientConfig:
    """Everything a transport needs from the Airflow connection. The credentials are kept out of repr."""

    conn_id: str
    base_url: str
    authorization: str = field(repr=False)
    api_version: str = defaults.DEFAULT_API_VERSION
    timeout: float = defaults.DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify: bool | str = True
    sync_url_template: str = defaults.DEFAULT_SYNC_URL_TEMPLATE
    max_connections: int = defaults.DEFAULT_MAX_CONNECTIONS
    #: Every form of the credentials that could be echoed back (the key, the Basic token): scrubbed from what
    #: is built from a response, and registered with Airflow's secrets masker.
    secrets: tuple[str, ...] = field(default=(), repr=False)

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
        if not _HEADER_SAFE.fullmatch(password):
            raise PolytomicConfigError(
                f"Connection '{conn_id}': the API key (password field) contains a space, a line break or another "
                "character that cannot be sent in an HTTP header; paste the key again without surrounding blanks."
            )
        if login:
            if not _HEADER_SAFE.fullmatch(login) or ":" in login:
                raise PolytomicConfigError(
                    f"Connection '{conn_id}': the login field holds the organization id for a deployment key; "
                    f"it must be one word without ':' or blanks, got {login!r:.80}."
                )
            token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
            authorization = f"Basic {token}"
            secrets: tuple[str, ...] = (password, token)
        else:
            authorization = f"Bearer {password}"
            secrets = (password,)

        api_version = str(extra.get("api_version") or defaults.DEFAULT_API_VERSION)
        if not _API_VERSION.fullmatch(api_version):
            raise PolytomicConfigError(
                f"Connection '{conn_id}': extra 'api_version' must be a date such as "
                f"{defaults.DEFAULT_API_VERSION!r}, got {api_version!r:.60}."
            )

        def number(key: str, default: float, maximum: float, **bounds: Any) -> float:
            """An extra's number, bounded (the timeout is in seconds, so its message says so)."""
            unit = " (seconds)" if key == "timeout" else ""
            what = f"Connection '{conn_id}': extra '{key}'{unit}"
            return bounded_number(extra.get(key, default), what, maximum=maximum, **bounds)

        return cls(
            conn_id=conn_id,
            base_url=normalize_base_url(conn_id, host, port),
            authorization=authorization,
            api_version=api_version,
            timeout=number("timeout", defaults.DEFAULT_TIMEOUT, defaults.MAX_TIMEOUT, minimum=defaults.MIN_TIMEOUT),
            retry=RetryPolicy(
                max_retries=int(
                    number("max_retries", defaults.DEFAULT_MAX_RETRIES, defaults.MAX_RETRIES, zero=True, integer=True)
                ),
                initial_delay=number("retry_delay", defaults.DEFAULT_RETRY_DELAY, defaults.MAX_RETRY_DELAY, zero=True),
            ),
            verify=_verify_setting(conn_id, extra.get("verify", True)),
            sync_url_template=_sync_url_template(conn_id, extra.get("sync_url_template")),
            max_connections=int(
                number("max_connections", defaults.DEFAULT_MAX_CONNECTIONS, defaults.MAX_CONNECTIONS, integer=True)
            ),
            secrets=secrets,
        )

    @classmethod
    def from_airflow(
        cls, conn_id: str, conn: Any, extra: Mapping[str, Any] | None, log: Any = None, *, mask: bool = True
    ) -> ClientConfig:
        """Read an Airflow ``Connection`` (either transport), register the credentials' derived forms with
        Airflow's secrets masker (it knows the password, not its Basic form; ``mask=False`` leaves that to the
        caller: :func:`~airflow_provider_polytomic.core.masking.mask_once`) and log :meth:`warnings` once."""
        config = cls.from_connection(
            conn_id, host=conn.host, port=conn.port, login=conn.login, password=conn.password, extra=extra
        )
        if mask:
            mask_once(config.secrets)
        config.log_warnings(log)
        return config

    def log_warnings(self, log: Any) -> None:
        """Log each of :meth:`warnings` (nothing without a logger)."""
        for warning in self.warnings() if log is not None else []:
            log.warning(warning)

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
        if kind is SyncKind.BULK and template == defaults.DEFAULT_SYNC_URL_TEMPLATE:
            template = defaults.DEFAULT_BULK_SYNC_URL_TEMPLATE
        return template.format(base_url=self.base_url, sync_id=sync_id)

    def scrub(self, body: bytes) -> bytes:
        """``body`` with every form of the credentials replaced by ``***``: an error page that quotes the
        Authorization header must not carry the key into an exception, a log line or a trigger event."""
        for secret in self.secrets:
            body = body.replace(secret.encode(), b"***")
        return body

    def scrub_text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def warnings(self) -> list[str]:
        """What a user should hear about this connection once, when it is read (both transports log these)."""
        found = []
        if self.verify is False:
            found.append(
                f"TLS certificate verification is OFF for connection '{self.conn_id}' (extra verify=false): "
                "anyone on the network path can read and change its API traffic."
            )
        parts = urlsplit(self.base_url)
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            found.append(
                f"Connection '{self.conn_id}' reaches Polytomic over plain http ({self.base_url}): the API key "
                "crosses the network unencrypted. Use https."
            )
        return found


def connection_not_defined(conn_id: str) -> PolytomicConfigError:
    """For an Airflow connection id that no backend knows (both transports raise it, not Airflow's own error)."""
    return PolytomicConfigError(
        f"Airflow connection '{conn_id}' is not defined: create a connection of type 'polytomic' with this id "
        "(UI, CLI, secrets backend or an AIRFLOW_CONN_ environment variable)."
    )


def _plain_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """Accept both ``key`` and the older form-prefixed ``extra__polytomic__key`` spellings."""
    prefix = "extra__polytomic__"
    plain = {key.removeprefix(prefix): value for key, value in extra.items() if key.startswith(prefix)}
    plain.update({key: value for key, value in extra.items() if not key.startswith(prefix)})
    # A form leaves empty strings for fields the user did not fill in.
    return {key: value for key, value in plain.items() if value is not None and value != ""}


def _verify_setting(conn_id: str, value: Any) -> bool | str:
    """``verify``: true (default), false, or the path of a CA bundle (a file, or a directory of certificates)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    if not text:
        raise PolytomicConfigError(f"Connection '{conn_id}': extra 'verify' is empty.")
    if not os.path.exists(text):
        raise PolytomicConfigError(
            f"Connection '{conn_id}': extra 'verify' names a CA bundle that does not exist on this machine: "
            f"{text!r:.200}. Give the path of a PEM file (or directory) readable by every worker and triggerer."
        )
    return text


def _sync_url_template(conn_id: str, value: Any) -> str:
    template = str(value or defaults.DEFAULT_SYNC_URL_TEMPLATE)
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise PolytomicConfigError(
            f"Connection '{conn_id}': extra 'sync_url_template' is not a valid template ({error})."
        ) from None
    unknown = fields - _TEMPLATE_FIELDS
    if unknown:
        raise PolytomicConfigError(
            f"Connection '{conn_id}': extra 'sync_url_template' may use only {{base_url}} and {{sync_id}}, "
            f"got {', '.join(sorted('{' + name + '}' for name in unknown))}."
        )
    return template
