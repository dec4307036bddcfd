"""The connection's host field read as a base URL, validated when the connection is read. No network I/O.

A host that can never work (a blank, port 99999, a query, a scheme written ``http:/`` or ``http//``) is a
:class:`PolytomicConfigError` naming the host field, never a "temporary" failure retried until the sensor times
out.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from airflow_provider_polytomic.core.errors import PolytomicConfigError

DEFAULT_BASE_URL = "https://app.polytomic.com"

_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?")
#: A host written without ``://`` that still starts like a scheme: ``http:/h``, ``https:h``, ``http//h``,
#: ``ftp:/h``. A colon followed by a digit is a port (``http:8080`` is a host called http), not a scheme.
_MISSPELT_SCHEME = re.compile(r"(?P<web>https?)(?::(?!\d)|[/\\])|(?P<other>[A-Za-z][A-Za-z0-9+.-]*):[/\\]", re.I)


def normalize_base_url(conn_id: str, host: str | None, port: int | None = None) -> str:
    """``host`` as a base URL: default when empty, ``https://`` added to a bare host, no trailing ``/``."""
    host = (host or "").strip()
    if not host:
        return DEFAULT_BASE_URL
    where = f"Connection '{conn_id}': the host (base URL) {host!r:.120}"
    if any(char.isspace() or not char.isprintable() for char in host):
        raise PolytomicConfigError(f"{where} contains a blank or a control character.")
    if "://" not in host:
        _refuse_misspelt_scheme(where, host)
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
    if parts.query or parts.fragment:
        raise PolytomicConfigError(f"{where} has a query or fragment; give only scheme, host, port and path.")
    if parts.path.startswith("//"):  # "https://http://h": a scheme written twice
        raise PolytomicConfigError(f"{where} has '//' after the host; write it as 'https://host[:port][/path]'.")
    if not (_HOST_NAME.fullmatch(parts.hostname) or is_ip(parts.hostname)):
        raise PolytomicConfigError(f"{where} does not name a valid host.")
    try:
        host_port = parts.port
    except ValueError:
        raise PolytomicConfigError(f"{where} has a port outside 1-65535.") from None
    netloc = parts.netloc
    if port:  # Airflow's UI sends 0 for "no port"
        if host_port is not None:
            raise PolytomicConfigError(
                f"Connection '{conn_id}' has a port both in the host ({host_port}) and in the port field ({port}); "
                "set it in one place."
            )
        if not isinstance(port, int) or not 0 < port < 65536:
            raise PolytomicConfigError(f"Connection '{conn_id}': the port field must be 1-65535, got {port!r:.20}.")
        netloc = f"{netloc}:{port}"
    elif host_port == 0:
        raise PolytomicConfigError(f"{where} has a port outside 1-65535.")
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")


def _refuse_misspelt_scheme(where: str, host: str) -> None:
    """A host without ``://`` that starts like a scheme would become ``https://http:/127.0.0.1``: a request to a
    machine called ``http``. Refused, with the spelling meant when it is plain which one that is."""
    found = _MISSPELT_SCHEME.match(host)
    if found is None:
        return
    if found["web"]:
        scheme = found["web"].lower()
        rest = host[found.end() :].lstrip(":/\\")
        meant = f"; did you mean {scheme + '://' + rest!r:.120}?"
    else:
        meant = "; write it as 'https://host[:port]' (only http and https are supported)."
    raise PolytomicConfigError(f"{where} starts with a malformed scheme ({host[: found.end()]!r}){meant}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
