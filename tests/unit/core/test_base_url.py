"""The host field read as a base URL: what is accepted, and what is refused naming the field."""

from __future__ import annotations

import pytest

from airflow_provider_polytomic.core.base_url import normalize_base_url
from airflow_provider_polytomic.core.errors import PolytomicConfigError


@pytest.mark.parametrize(
    ("host", "meant"),
    [
        # Before: each became https://http:/127.0.0.1 and the like, a request to a machine called "http".
        ("http:/127.0.0.1", "http://127.0.0.1"),
        ("http:/127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("https:polytomic.example.com", "https://polytomic.example.com"),
        ("http//polytomic.example.com", "http://polytomic.example.com"),
        ("HTTPS:/polytomic.example.com", "https://polytomic.example.com"),
        ("https:\\\\polytomic.example.com", "https://polytomic.example.com"),
        ("https:", "https://"),
    ],
)
def test_a_misspelt_scheme_is_refused_naming_the_host_and_what_was_meant(host: str, meant: str) -> None:
    with pytest.raises(PolytomicConfigError, match="my_conn") as raised:
        normalize_base_url("my_conn", host)
    message = str(raised.value)
    assert "the host (base URL)" in message and "malformed scheme" in message
    assert f"did you mean {meant!r}" in message


@pytest.mark.parametrize("host", ["ftp:/files.example.com", "file:/etc/passwd"])
def test_another_scheme_without_its_slashes_is_refused_too(host: str) -> None:
    with pytest.raises(PolytomicConfigError, match=r"malformed scheme.*only http and https"):
        normalize_base_url("my_conn", host)


@pytest.mark.parametrize("host", ["https://http://polytomic.example.com", "https://polytomic.example.com//api"])
def test_a_scheme_written_twice_is_refused(host: str) -> None:
    with pytest.raises(PolytomicConfigError, match=r"my_conn.*host \(base URL\).*'//' after the host"):
        normalize_base_url("my_conn", host)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("http.example.com", "https://http.example.com"),
        ("https-gateway.example.com:8443", "https://https-gateway.example.com:8443"),
        ("localhost:8080", "https://localhost:8080"),
        ("127.0.0.1:8765/polytomic", "https://127.0.0.1:8765/polytomic"),
        ("HTTP://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ],
)
def test_hosts_that_only_look_like_a_scheme_are_still_accepted(host: str, expected: str) -> None:
    assert normalize_base_url("my_conn", host) == expected
