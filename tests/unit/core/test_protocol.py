"""Building requests and reading answers: unreadable 2xx bodies, idempotency keys, start and cancel calls."""

from __future__ import annotations

import json
import re

import pytest

from airflow_provider_polytomic.core import definitions, protocol
from airflow_provider_polytomic.core.errors import (
    PolytomicBadResponseError,
    PolytomicConfigError,
    is_transient,
)
from airflow_provider_polytomic.core.identity import get_identity
from tests.unit.core.samples import SYNC
from tests.unit.core.samples import A as EXECUTION
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


#: What an edge (a proxy, a load balancer, a connection cut short) answers with status 200 in Polytomic's place.
FOREIGN_BODIES = [
    b"<html><body>502 Bad Gateway</body></html>",
    b'{"data": {"current_execution": {"id": "',  # JSON cut short (with a Content-Length that matches)
    b"",
    b'{"error": "upstream connect error"}',
    b"[1, 2]",
]
POLLS = [
    protocol.get_sync_status(SYNC),
    protocol.get_execution(SYNC, EXECUTION),
    protocol.list_executions(SYNC),
]
NOT_POLLS = [
    protocol.start_sync(SYNC, idempotency_key="airflow-0123456789"),
    protocol.start_bulk_sync(SYNC, idempotency_key="airflow-0123456789"),
    protocol.cancel_execution(SYNC, EXECUTION),
    get_identity(),
    definitions.get_connection(SYNC),
]


@pytest.mark.parametrize("body", FOREIGN_BODIES)
def test_a_poll_answered_with_no_polytomic_document_is_temporary_and_nothing_else_is(body: bytes) -> None:
    """A proxy's HTML page on a status poll failed the task (and every trigger sharing the read); a poll is safe to
    repeat, a start is not."""
    for call in POLLS:
        with pytest.raises(PolytomicBadResponseError) as raised:
            call.read(config(), 200, {}, body)
        assert is_transient(raised.value), call.path
    for call in NOT_POLLS:
        with pytest.raises(PolytomicBadResponseError) as raised:
            call.read(config(), 200, {}, body)
        assert not is_transient(raised.value), call.path
    # A Polytomic document this provider cannot read is an answer, not an edge fault: not temporary.
    with pytest.raises(PolytomicBadResponseError) as raised:
        protocol.get_sync_status(SYNC).read(config(), 200, {}, b'{"data": {"current_execution": 7}}')
    assert not is_transient(raised.value)


def test_given_up_polls_say_how_often_they_tried() -> None:
    with pytest.raises(PolytomicBadResponseError) as raised:
        protocol.get_sync_status(SYNC).read(config(), 200, {}, b"<html>")
    again = raised.value.after_attempts(5)
    assert str(again).endswith("Gave up after 5 attempts.") and is_transient(again)


def test_only_answers_that_carry_no_third_party_secret_are_quoted_and_then_redacted() -> None:
    secret = "hunter2-PLANTED-7f3a"
    body = json.dumps({"status": "weird", "password": secret}).encode()
    with pytest.raises(PolytomicBadResponseError) as raised:
        protocol.get_sync_status(SYNC).read(config(), 200, {}, body)
    assert '"status": "weird"' in str(raised.value) and secret not in str(raised.value)
    for call in (definitions.get_connection(SYNC), definitions.get_model(SYNC), definitions.get_sync_definition(SYNC)):
        assert not call.quotable
        with pytest.raises(PolytomicBadResponseError) as raised:
            call.read(config(), 200, {}, json.dumps({"status": "weird", "notes": secret}).encode())
        assert "weird" not in str(raised.value) and "not quoted" in str(raised.value)
    assert all(call.quotable for call in POLLS + NOT_POLLS[:-1])
