"""An HTTP error answer becomes the right exception, with a message that names what to fix and never the key."""

from __future__ import annotations

import json

import pytest

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.errors import (
    PolytomicAuthError,
    PolytomicConflictError,
    PolytomicNotFoundError,
    PolytomicRateLimitError,
    PolytomicRequestError,
    PolytomicUnavailableError,
)
from tests.unit.core.samples import KEY, SYNC
from tests.unit.core.samples import client_config as config


@pytest.mark.parametrize(
    ("status", "kind", "transient"),
    [
        (400, PolytomicRequestError, False),
        (401, PolytomicAuthError, False),
        (403, PolytomicAuthError, False),
        (404, PolytomicNotFoundError, False),
        (409, PolytomicConflictError, False),
        (408, PolytomicUnavailableError, True),
        (429, PolytomicRateLimitError, True),
        (500, PolytomicUnavailableError, True),
        (503, PolytomicUnavailableError, True),
    ],
)
def test_http_errors_map_to_exceptions(status: int, kind: type[Exception], transient: bool) -> None:
    call = protocol.get_sync_status(SYNC)
    body = json.dumps({"status": status, "message": "sync not found", "key": "x"}).encode()
    with pytest.raises(kind) as raised:
        call.read(config(), status, {}, body)
    error = raised.value
    assert error.transient is transient
    text = str(error)
    assert f"HTTP {status}" in text and "my_conn" in text and SYNC in text and "sync not found" in text
    assert KEY not in text


def test_error_message_falls_back_to_error_then_to_the_body() -> None:
    call = protocol.get_sync_status(SYNC)
    with pytest.raises(PolytomicAuthError, match="bad key, old style"):
        call.read(config(), 401, {}, b'{"error": "bad key, old style"}')
    with pytest.raises(PolytomicUnavailableError, match="upstream connect error"):
        call.read(config(), 502, {}, b"upstream connect error or disconnect")
