"""Building requests and reading answers: unreadable 2xx bodies, idempotency keys, start and cancel calls."""

from __future__ import annotations

import re

import pytest

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.errors import (
    PolytomicBadResponseError,
    PolytomicConfigError,
)
from tests.unit.core.samples import SYNC
from tests.unit.core.samples import client_config as config


@pytest.mark.parametrize(
    "body", [b"<html>oops</html>", b'{"no_data": 1}', b'{"data": {"current_execution": 7}}', b"[1, 2]", b""]
)
def test_malformed_2xx_bodies_are_bad_response_errors(body: bytes) -> None:
    with pytest.raises(PolytomicBadResponseError, match="my_conn"):
        protocol.get_sync_status(SYNC).read(config(), 200, {}, body)


def test_idempotency_key_is_stable_valid_and_distinct_per_task_instance() -> None:
    key = protocol.idempotency_key("dag", "manual__2026-01-01T00:00:00+00:00", "start", -1)
    assert key == protocol.idempotency_key("dag", "manual__2026-01-01T00:00:00+00:00", "start", -1)
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,255}", key)
    assert key != protocol.idempotency_key("dag", "manual__2026-01-01T00:00:00+00:00", "start", 0)
    assert key != protocol.idempotency_key("dag", "manual__2026-01-02T00:00:00+00:00", "start", -1)


def test_start_and_cancel_calls() -> None:
    start = protocol.start_sync(SYNC, idempotency_key="airflow-0123456789", resync=True, identities=["a@b.c"])
    assert (start.method, start.path) == ("POST", f"/api/syncs/{SYNC}/executions")
    assert start.body == {"identities": ["a@b.c"], "resync": True, "test": False}
    assert start.idempotency_key == "airflow-0123456789"
    with pytest.raises(PolytomicConfigError, match="Idempotency-Key"):
        protocol.start_sync(SYNC, idempotency_key="bad key!")
    cancel = protocol.cancel_execution(SYNC, SYNC)
    assert (cancel.method, cancel.path) == ("POST", f"/api/syncs/{SYNC}/executions/{SYNC}/cancel")
