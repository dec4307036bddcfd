"""How this process reaches Polytomic, decided once for both transports. No network I/O.

The worker's transport (``requests``) and the triggerer's (``aiohttp``) would each apply their own defaults:
``requests`` reads proxies, a CA bundle and ``~/.netrc`` from the environment, ``aiohttp`` none of them. Both
instead ask :func:`route_for` and apply exactly what it says, with their own environment handling switched off:

- **Proxy**: ``https_proxy``/``http_proxy`` (lower case first, as curl does), else ``all_proxy``; ``no_proxy``
  (host names, domain suffixes, ``*``, IP networks) bypasses it. Only ``http://`` and ``https://`` proxies.
- **CA bundle**: the connection's ``verify`` path; else ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``,
  ``SSL_CERT_FILE``; else the ``certifi`` bundle that ``requests`` ships with. ``verify=false`` turns checks off.
- **Never**: ``~/.netrc`` (the key always comes from the connection), redirects (a 3xx is an error).
- **Bounds**: ``timeout`` bounds a whole request, headers and body; a body over :data:`MAX_RESPONSE_BYTES` is
  refused unread.

It also holds the one translation of a failed request into this provider's errors (:func:`request_failed`).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from urllib.parse import unquote, urlsplit

from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.errors import (
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicError,
    PolytomicUnavailableError,
    RequestContext,
)

#: The largest response body read (8 MiB). The endpoints used answer a few KiB (an execution that lists
#: thousands of record errors, a few MiB); anything bigger is a fault, refused before it costs the process memory.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: Chunk size for reading bodies (both transports).
READ_CHUNK = 64 * 1024
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


#: Marks a :class:`Route` field that each request applies by itself: connections opened for one route may serve
#: another that differs only in such fields. Every other field (a new trust setting too) keeps routes apart.
PER_REQUEST = "per_request"


@dataclass(frozen=True)
class Route:
    """What a transport needs to reach the connection's host: proxy, TLS trust, bounds."""

    #: The proxy URL without credentials, or None to connect directly.
    proxy: str | None = None
    #: ``Proxy-Authorization`` for a proxy URL that carried ``user:password@``.
    proxy_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: False: no certificate checks (extra ``verify=false``); else the CA bundle file or directory.
    ca_bundle: str | None = None
    verify: bool = True
    timeout: float = field(default=30.0, metadata={PER_REQUEST: True})
    max_response_bytes: int = field(default=MAX_RESPONSE_BYTES, metadata={PER_REQUEST: True})

    #: The proxy URL as the user wrote it (credentials included), for ``requests``, which builds the same header;
    #: ``proxy`` and ``proxy_headers`` say the same to a pool.
    proxy_as_given: str | None = field(default=None, repr=False, metadata={PER_REQUEST: True})

    def connection_settings(self) -> tuple[object, ...]:
        """Every setting an open connection depends on (all fields but the per-request ones), hashable."""
        return tuple(
            tuple(sorted(value.items())) if isinstance(value, Mapping) else value
            for item in fields(self)
            if not item.metadata.get(PER_REQUEST)
            for value in (getattr(self, item.name),)
        )


def route_for(config: ClientConfig, environ: Mapping[str, str] | None = None) -> Route:
    """How to reach ``config.base_url`` from a process with environment ``environ`` (``os.environ`` by default)."""
    environ = os.environ if environ is None else environ
    proxy, headers, as_given = _proxy_for(config, environ)
    if config.verify is False:
        return Route(proxy, headers, None, False, config.timeout, proxy_as_given=as_given)
    return Route(proxy, headers, _ca_bundle(config, environ), True, config.timeout, proxy_as_given=as_given)


def _setting(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name.lower()) or environ.get(name.upper())
    return value.strip() if value and value.strip() else None


def _proxy_for(config: ClientConfig, environ: Mapping[str, str]) -> tuple[str | None, dict[str, str], str | None]:
    parts = urlsplit(config.base_url)
    host = parts.hostname or ""
    proxy = _setting(environ, f"{parts.scheme}_proxy") or _setting(environ, "all_proxy")
    if proxy is None or bypasses_proxy(host, parts.port, _setting(environ, "no_proxy")):
        return None, {}, None
    if "://" not in proxy:
        proxy = f"http://{proxy}"
    proxy_parts = urlsplit(proxy)
    if proxy_parts.scheme not in ("http", "https") or not proxy_parts.hostname:
        raise PolytomicConfigError(
            f"Connection '{config.conn_id}': the proxy from the environment ({parts.scheme}_proxy / all_proxy) "
            f"must be an http:// or https:// URL; got scheme {proxy_parts.scheme!r}. Set no_proxy to reach "
            f"{host} directly."
        )
    headers: dict[str, str] = {}
    if proxy_parts.username is not None:
        credentials = f"{unquote(proxy_parts.username)}:{unquote(proxy_parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    netloc = proxy_parts.netloc.rpartition("@")[2]
    return f"{proxy_parts.scheme}://{netloc}", headers, proxy


def bypasses_proxy(host: str, port: int | None, no_proxy: str | None) -> bool:
    """Whether ``no_proxy`` (comma-separated names, ``.suffix``es, ``*``, IPs, CIDR networks, optional
    ``:port``) says to reach ``host`` directly."""
    if not no_proxy:
        return False
    host = host.lower().strip("[]")
    for entry in (item.strip().lower() for item in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and (not entry_port.isdigit() or port is None or int(entry_port) != port):
            continue
        name = name.strip("[]").lstrip(".").lstrip("*.")
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                return True
            continue
        except ValueError:
            pass
        if host == name or host.endswith("." + name):
            return True
    return False


def _ca_bundle(config: ClientConfig, environ: Mapping[str, str]) -> str:
    if isinstance(config.verify, str):
        return config.verify  # checked to exist when the connection was read
    for name in CA_BUNDLE_VARIABLES:
        path = environ.get(name, "").strip()
        if path:
            if not os.path.exists(path):
                raise PolytomicConfigError(
                    f"Connection '{config.conn_id}': environment variable {name} names a CA bundle that does not "
                    f"exist: {path!r:.200}."
                )
            return path
    import certifi

    bundle: str = certifi.where()
    return bundle


def ssl_context(route: Route) -> ssl.SSLContext | bool:
    """The ``ssl`` setting for ``aiohttp`` that trusts exactly what ``requests`` does with ``verify=route``."""
    if not route.verify or route.ca_bundle is None:
        return False
    return _context_for(route.ca_bundle)


_contexts: dict[str, ssl.SSLContext] = {}


def _context_for(bundle: str) -> ssl.SSLContext:
    # One context per bundle for the whole process: building one costs milliseconds of CPU.
    context = _contexts.get(bundle)
    if context is None:
        if os.path.isdir(bundle):
            context = ssl.create_default_context(capath=bundle)
        else:
            context = ssl.create_default_context(cafile=bundle)
        _contexts[bundle] = context
    return context


def requests_verify(route: Route) -> bool | str:
    return route.ca_bundle if route.verify and route.ca_bundle else False


# ---------------------------------------------------------------------------------------------------------
# Bodies
# ---------------------------------------------------------------------------------------------------------


def too_large(context: RequestContext, limit: int, declared: int | None = None) -> PolytomicBadResponseError:
    said = f" (it declared {declared:,} bytes)" if declared is not None else ""
    return PolytomicBadResponseError(
        f"Polytomic answered {context.describe()} with a body over {limit // 1024:,} KiB{said}; this provider reads "
        "no further. The endpoints it calls answer a few KiB: a proxy or a server fault is likely."
    )


def declared_length(headers: Mapping[str, str]) -> int | None:
    value = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class BodyReader:
    """Collects a response body chunk by chunk, refusing it once it passes the route's size limit."""

    def __init__(self, context: RequestContext, route: Route, headers: Mapping[str, str]) -> None:
        self.context = context
        self.limit = route.max_response_bytes
        declared = declared_length(headers)
        if declared is not None and declared > self.limit:
            raise too_large(context, self.limit, declared)
        self._chunks: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.limit:
            raise too_large(self.context, self.limit)
        self._chunks.append(chunk)

    def body(self) -> bytes:
        return b"".join(self._chunks)


# ---------------------------------------------------------------------------------------------------------
# Failed requests
# ---------------------------------------------------------------------------------------------------------


def request_failed(
    config: ClientConfig, context: RequestContext, error: BaseException, *, timed_out: bool, invalid: bool = False
) -> PolytomicError:
    """The one translation of a request that got no HTTP answer, for both transports.

    ``timed_out``: the transport's time limit passed. ``invalid``: the HTTP library refused the request as
    malformed (a URL or header it cannot send), which no retry can fix. Certificate verification failures and
    https spoken to a plain-http server are configuration errors; every other TLS or network failure (a
    handshake cut short, a reset, a refused connection) is temporary.
    """
    cert = _find(error, ssl.SSLCertVerificationError)
    if cert is not None:
        reason = getattr(cert, "verify_message", None) or getattr(cert, "reason", None) or "certificate rejected"
        return PolytomicConfigError(
            f"TLS certificate verification failed for {context.describe()}: {reason}. For an on-premises install "
            "with a private CA, set extra 'verify' of the connection (or REQUESTS_CA_BUNDLE) to the CA bundle's path."
        )
    tls = _find(error, ssl.SSLError)
    tls_reason = str(getattr(tls, "reason", None) or type(tls).__name__)
    if tls is not None and "WRONG_VERSION_NUMBER" in f"{tls_reason} {tls}":
        return PolytomicConfigError(
            f"Polytomic request {context.describe()} failed: the server at {config.base_url} does not speak TLS "
            "(it answered https with plain http). Use an http:// host if the server really is plain http, or check "
            "the port."
        )
    if invalid:
        return PolytomicConfigError(
            f"Polytomic request {context.describe()} cannot be sent: {type(error).__name__}: "
            f"{config.scrub_text(str(error))[:200]}. Check the connection's host and extras."
        )
    if timed_out:
        what = f"no answer within {config.timeout:g} s (extra 'timeout' of connection '{context.conn_id}')"
    elif tls is not None:
        what = f"the TLS handshake did not complete ({tls_reason})"
    else:
        what = f"the connection failed ({type(error).__name__})"
    return PolytomicUnavailableError(f"Polytomic request {context.describe()} failed: {what}.", context=context)


def _find(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first ``kind`` among ``error`` and what it wraps (causes, contexts, ``reason``, ``args``)."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen or len(seen) > 50:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return item
        pending.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
        pending.extend(getattr(item, name, None) for name in ("certificate_error", "os_error"))
    return None
