"""The Airflow connection read and validated whole: auth, base URL, extras, the sync URL."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from airflow_provider_polytomic.core.config import USER_AGENT
from airflow_provider_polytomic.core.defaults import (
    MIN_TIMEOUT,
)
from airflow_provider_polytomic.core.errors import (
    PolytomicConfigError,
)
from tests.unit.core.samples import KEY, SYNC
from tests.unit.core.samples import client_config as config


def test_api_key_is_sent_as_bearer() -> None:
    headers = config().headers()
    assert headers == {
        "Authorization": f"Bearer {KEY}",
        "X-Polytomic-Version": "2025-09-18",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    assert USER_AGENT.startswith("airflow-provider-polytomic/")


def test_organization_id_makes_a_deployment_key_basic_auth() -> None:
    headers = config(login="org-1").headers()
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"org-1:{KEY}".encode()).decode()


def test_credentials_stay_out_of_repr() -> None:
    assert KEY not in repr(config())


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://app.polytomic.com"),
        ("", None, "https://app.polytomic.com"),
        ("polytomic.example.com", None, "https://polytomic.example.com"),
        ("polytomic.example.com/", None, "https://polytomic.example.com"),
        ("https://polytomic.example.com/", None, "https://polytomic.example.com"),
        ("http://127.0.0.1:8765", None, "http://127.0.0.1:8765"),
        ("127.0.0.1", 8765, "https://127.0.0.1:8765"),
        ("https://example.com/polytomic/", None, "https://example.com/polytomic"),
    ],
)
def test_base_url_normalization(host: str | None, port: int | None, expected: str) -> None:
    assert config(host=host, port=port).base_url == expected


@pytest.mark.parametrize("host", ["ftp://example.com", "file:///etc/passwd", "https://user:pw@example.com"])
def test_bad_base_urls_are_clear_errors(host: str) -> None:
    with pytest.raises(PolytomicConfigError, match="my_conn"):
        config(host=host)


@pytest.mark.parametrize("password", [None, ""])
def test_missing_api_key_names_the_connection(password: str | None) -> None:
    with pytest.raises(PolytomicConfigError, match="Connection 'my_conn' has no Polytomic API key"):
        config(password=password)


def test_extras_are_read_with_types_and_defaults(tmp_path: Path) -> None:
    cfg = config(
        extra={
            "api_version": "2024-02-08",
            "timeout": "12.5",
            "max_retries": "0",
            "verify": "false",
            "retry_delay": "0",
        }
    )
    assert cfg.api_version == "2024-02-08"
    assert cfg.timeout == 12.5
    assert cfg.retry.max_retries == 0
    assert cfg.retry.initial_delay == 0
    assert cfg.verify is False
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert config(extra={"verify": str(bundle)}).verify == str(bundle)
    assert config(extra={"extra__polytomic__timeout": "7", "api_version": ""}).timeout == 7
    defaults = config()
    assert (defaults.timeout, defaults.retry.max_retries, defaults.verify) == (30.0, 4, True)


@pytest.mark.parametrize("extra", [{"timeout": "soon"}, {"timeout": 0}, {"max_retries": -1}, {"api_version": "latest"}])
def test_bad_extras_are_clear_errors(extra: dict[str, object]) -> None:
    with pytest.raises(PolytomicConfigError, match="my_conn"):
        config(extra=extra)


def test_sync_url_uses_the_host_and_can_be_overridden() -> None:
    assert config(host="polytomic.example.com").sync_url(SYNC) == f"https://polytomic.example.com/syncs/{SYNC}"
    custom = config(extra={"sync_url_template": "{base_url}/connections/syncs/{sync_id}/edit"})
    assert custom.sync_url(SYNC) == f"https://app.polytomic.com/connections/syncs/{SYNC}/edit"


@pytest.mark.parametrize("timeout", [1e-9, 0.05, "0.09", -1])
def test_a_timeout_too_short_for_any_answer_is_refused_naming_the_field(timeout: object) -> None:
    # Before: 1e-9 was accepted; every request then timed out and was retried as if Polytomic were down.
    with pytest.raises(PolytomicConfigError, match=r"my_conn': extra 'timeout' \(seconds\) must be a number from 0.1"):
        config(extra={"timeout": timeout})


def test_the_shortest_timeout_allowed_is_accepted() -> None:
    assert config(extra={"timeout": 0.1}).timeout == MIN_TIMEOUT == 0.1
