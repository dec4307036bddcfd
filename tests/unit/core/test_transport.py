"""How a process reaches Polytomic, decided once for both transports: proxy from the environment (lower case
first, ``no_proxy``, credentials as a header), the CA bundle's order, and which failed requests are TLS
configuration errors rather than temporary ones. No server needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_polytomic.core import transport
from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.errors import (
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicUnavailableError,
    RequestContext,
    is_transient,
)

KEY = "pk_SECRET_transport_0123456789"
SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"


def config(**fields: Any) -> ClientConfig:
    values: dict[str, Any] = {"host": None, "login": None, "password": KEY, "extra": {}}
    values.update(fields)
    return ClientConfig.from_connection("my_conn", **values)


def context() -> RequestContext:
    return RequestContext("my_conn", "GET", f"/api/syncs/{SYNC}/status", SYNC)


def test_the_proxy_comes_from_the_environment_lower_case_first() -> None:
    route = transport.route_for(
        config(host="https://polytomic.example.com"),
        {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128", "REQUESTS_CA_BUNDLE": __file__},
    )
    assert route.proxy == "http://lower:3128" and route.ca_bundle == __file__
    assert transport.route_for(config(host="http://polytomic.local"), {"ALL_PROXY": "proxy:8080"}).proxy == (
        "http://proxy:8080"
    )


def test_proxy_credentials_become_a_header_and_stay_out_of_repr() -> None:
    route = transport.route_for(config(), {"https_proxy": "http://ops:p%40ss@proxy.corp:3128"})
    assert route.proxy == "http://proxy.corp:3128"
    assert route.proxy_headers == {"Proxy-Authorization": "Basic b3BzOnBAc3M="}
    assert "p%40ss" not in repr(route) and "b3BzOnBAc3M" not in repr(route)


@pytest.mark.parametrize(
    ("no_proxy", "host", "bypass"),
    [
        ("*", "app.polytomic.com", True),
        ("polytomic.com", "app.polytomic.com", True),
        (".polytomic.com", "app.polytomic.com", True),
        ("app.polytomic.com:443", "app.polytomic.com", True),
        ("app.polytomic.com:8443", "app.polytomic.com", False),
        ("notpolytomic.com", "app.polytomic.com", False),
        ("10.0.0.0/8, 127.0.0.1", "10.1.2.3", True),
        ("10.0.0.0/8", "11.1.2.3", False),
        ("", "app.polytomic.com", False),
    ],
)
def test_no_proxy(no_proxy: str, host: str, bypass: bool) -> None:
    assert transport.bypasses_proxy(host, 443, no_proxy) is bypass


def test_a_socks_proxy_is_refused_clearly() -> None:
    with pytest.raises(PolytomicConfigError, match="http:// or https:// URL"):
        transport.route_for(config(), {"ALL_PROXY": "socks5://proxy:1080"})


def test_the_ca_bundle_order_and_a_missing_bundle(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text("x")
    second.write_text("x")
    env = {"CURL_CA_BUNDLE": str(second), "REQUESTS_CA_BUNDLE": str(first)}
    assert transport.route_for(config(), env).ca_bundle == str(first)
    assert transport.route_for(config(extra={"verify": str(second)}), env).ca_bundle == str(second)
    assert transport.route_for(config(extra={"verify": "false"}), env).verify is False
    import certifi

    assert transport.route_for(config(), {}).ca_bundle == certifi.where()
    with pytest.raises(PolytomicConfigError, match="REQUESTS_CA_BUNDLE"):
        transport.route_for(config(), {"REQUESTS_CA_BUNDLE": str(tmp_path / "missing.pem")})


def test_only_certificate_verification_and_plain_http_are_tls_configuration_errors() -> None:
    import ssl

    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    wrapped = ConnectionError("outer")
    wrapped.__cause__ = cert
    assert isinstance(transport.request_failed(config(), context(), wrapped, timed_out=False), PolytomicConfigError)
    plain = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error = transport.request_failed(config(), context(), OSError("x", plain), timed_out=False)
    assert isinstance(error, PolytomicConfigError) and "does not speak TLS" in str(error)
    dropped = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    error = transport.request_failed(config(), context(), dropped, timed_out=False)
    assert isinstance(error, PolytomicUnavailableError) and is_transient(error)


def test_a_body_over_the_routes_cap_is_refused_declared_or_not() -> None:
    route = transport.Route(max_response_bytes=10)
    with pytest.raises(PolytomicBadResponseError, match="over"):
        transport.BodyReader(context(), route, {"Content-Length": "11"})
    reader = transport.BodyReader(context(), route, {})
    reader.add(b"12345")
    reader.add(b"67890")
    assert reader.body() == b"1234567890"
    with pytest.raises(PolytomicBadResponseError, match="over"):
        reader.add(b"!")


def test_a_pool_depends_on_every_route_field_but_the_per_request_ones() -> None:
    base = transport.Route(proxy="http://proxy:3128", proxy_headers={"b": "2", "a": "1"})
    assert base.connection_settings() == ("http://proxy:3128", (("a", "1"), ("b", "2")), None, True)
    assert transport.Route(timeout=1.0, max_response_bytes=1).connection_settings() == (
        transport.Route().connection_settings()
    )
