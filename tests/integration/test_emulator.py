"""The Polytomic API emulator itself, over real HTTP with ``requests``: shapes as FACTS.md gives them, auth,
scripted runs, every fault kind, the request log, the pytest plugin and the command line."""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_polytomic.testing import PolytomicEmulator, ScenarioError
from airflow_provider_polytomic.testing.scenario import schema as scenario_schema
from tests.conftest import API_KEY, DEPLOYMENT_KEY, ORG_ID

pytest_plugins = ["pytester"]

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
BULK = "7c1e9b2a-4d3f-4a8e-b6c5-2f1d0e9a8b7c"
EXEC = "11111111-1111-4111-8111-111111111111"
OLD = "22222222-2222-4222-8222-222222222222"
NEW = "33333333-3333-4333-8333-333333333333"
STATUS = f"/api/syncs/{SYNC}/status"
EXECUTIONS = f"/api/syncs/{SYNC}/executions"

ME_KEYS = {
    "id",
    "email",
    "organization_id",
    "organization_name",
    "role",
    "is_user",
    "is_organization",
    "is_partner",
    "is_system",
}
EXEC_KEYS = {"id", "status", "type", "created_at", "started_at", "completed_at", "counts", "errors"}
BULK_EXEC_KEYS = {
    "id",
    "status",
    "status_message",
    "type",
    "created_at",
    "started_at",
    "completed_at",
    "updated_at",
    "record_count",
    "error_count",
    "warning_count",
    "is_partial",
    "is_resync",
    "is_test",
    "fetch_mode",
    "output_disposition",
    "schemas",
}
ERROR_KEYS = {"status", "message", "key", "metadata"}


def call(
    emulator: PolytomicEmulator,
    method: str,
    path: str,
    *,
    key: str | None = API_KEY,
    headers: dict[str, str] | None = None,
    timeout: float = 5,
    **kwargs: Any,
) -> requests.Response:
    sent = {"Authorization": f"Bearer {key}"} if key else {}
    sent.update(headers or {})
    return requests.request(method, emulator.url + path, headers=sent, timeout=timeout, **kwargs)


def data(response: requests.Response) -> Any:
    """The ``data`` of a 200, checking the wrapper (``pagination`` only on lists)."""
    assert response.status_code == 200, response.text
    document = response.json()
    assert set(document) == ({"data", "pagination"} if isinstance(document["data"], list) else {"data"})
    return document["data"]


def assert_error(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == status and body["message"] and isinstance(body["key"], str)
    return body


def timestamp(value: str) -> datetime:
    assert value.endswith("Z"), value
    parsed = datetime.fromisoformat(value[:-1] + "+00:00")
    assert parsed.tzinfo is not None
    return parsed


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def running_sync(emulator: PolytomicEmulator, **spec: Any) -> None:
    """SYNC with EXEC running for a long time (100 polls)."""
    steps = [{"status": "running", "polls": 100, "counts": {"insert": 3, "total": 3}}]
    emulator.add_sync(id=SYNC, executions=[{"id": EXEC, "steps": steps}], **spec)


def current_status(emulator: PolytomicEmulator) -> str | None:
    execution = data(call(emulator, "GET", STATUS))["current_execution"]
    return None if execution is None else str(execution["status"])


# -- identity, version header, auth ------------------------------------------------------------------------


def test_me_names_the_organization(emulator: PolytomicEmulator) -> None:
    me = data(call(emulator, "GET", "/api/me"))
    assert set(me) == ME_KEYS
    assert me["organization_id"] == ORG_ID and me["organization_name"] == "Acme Data"
    assert me["is_organization"] is True and me["is_partner"] is False


@pytest.mark.parametrize(
    ("sent", "echoed"), [("2024-02-08", "2024-02-08"), ("2025-09-18", "2025-09-18"), (None, "2021-05-23")]
)
def test_version_header_is_echoed_on_answers_and_errors(
    emulator: PolytomicEmulator, sent: str | None, echoed: str
) -> None:
    headers = {"X-Polytomic-Version": sent} if sent else {}
    assert call(emulator, "GET", "/api/me", headers=headers).headers["X-Polytomic-Version"] == echoed
    refused = call(emulator, "GET", "/api/me", key="pk_wrong", headers=headers)
    assert refused.status_code == 401 and refused.headers["X-Polytomic-Version"] == echoed


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        pytest.param(f"Bearer {API_KEY}", 200, id="bearer-api-key"),
        pytest.param(basic(ORG_ID, DEPLOYMENT_KEY), 200, id="basic-org-deployment-key"),
        pytest.param("Bearer pk_wrong_SECRET_zzz", 401, id="wrong-key"),
        pytest.param(None, 401, id="no-header"),
        pytest.param(f"Token {API_KEY}", 401, id="wrong-scheme"),
        pytest.param(API_KEY, 401, id="bare-key"),
        pytest.param(f"Bearer {DEPLOYMENT_KEY}", 401, id="deployment-key-as-bearer"),
        pytest.param(basic(ORG_ID, API_KEY), 401, id="basic-with-api-key"),
        pytest.param(basic(str(uuid.uuid4()), DEPLOYMENT_KEY), 401, id="basic-other-org"),
        pytest.param("Basic %%%not-base64", 401, id="basic-garbage"),
    ],
)
def test_auth(emulator: PolytomicEmulator, authorization: str | None, expected: int) -> None:
    running_sync(emulator)
    headers = {"Authorization": authorization} if authorization else {}
    response = call(emulator, "GET", STATUS, key=None, headers=headers)
    if expected == 200:
        assert data(response)["current_execution"]["id"] == EXEC
    else:
        assert assert_error(response, 401)["key"] == "unauthorized"
    assert [item.status for item in emulator.requests] == [expected]


def test_header_names_are_case_insensitive(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC, run_steps=[{"status": "running", "polls": 100}])
    headers = {"authorization": f"Bearer {API_KEY}", "idempotency-key": "lower-case-key-0001"}
    first = data(call(emulator, "POST", EXECUTIONS, key=None, headers=headers, json={}))
    again = data(call(emulator, "POST", EXECUTIONS, key=None, headers=headers, json={}))  # not a 409
    assert again["id"] == first["id"]
    assert emulator.requests[0].headers["authorization"] == "Bearer ***"


def test_a_refused_request_does_not_move_the_script(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 1}, {"status": "failed"}]}])
    for _ in range(3):
        assert_error(call(emulator, "GET", STATUS, key="pk_wrong"), 401)
    assert current_status(emulator) == "running"
    assert current_status(emulator) is None


# -- model syncs ------------------------------------------------------------------------------------------


def test_sync_itself_and_reading_it_does_not_move_the_script(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC, name="Orders", executions=[{"steps": [{"status": "running"}, {"status": "failed"}]}])
    for _ in range(2):
        sync = data(call(emulator, "GET", f"/api/syncs/{SYNC}"))
        assert {"id", "name", "active", "mode", "schedule"} <= set(sync)
        assert sync["id"] == SYNC and sync["name"] == "Orders" and sync["active"] is True
    assert current_status(emulator) == "running"


def test_runs_three_polls_then_completes_with_two_record_errors(emulator: PolytomicEmulator) -> None:
    done = {"insert": 40, "update": 2, "delete": 0, "upserts": 0, "error": 2, "warnings": 1, "total": 44}
    errors = ["row 7: bad email", "row 9: null id"]
    steps = [
        {"status": "running", "polls": 3, "counts": {"insert": 10, "total": 10}},
        {"status": "completed", "counts": done, "errors": errors},
    ]
    emulator.add_sync(id=SYNC, executions=[{"id": EXEC, "type": "scheduled", "steps": steps}])
    for _ in range(3):
        status = data(call(emulator, "GET", STATUS))
        assert set(status) == {"current_execution", "last_execution", "next_execution_time"}
        assert status["last_execution"] is None
        current = status["current_execution"]
        assert set(current) == EXEC_KEYS
        assert (current["id"], current["status"], current["type"]) == (EXEC, "running", "scheduled")
        assert current["counts"] == {"insert": 10, "total": 10} and current["errors"] is None
        assert current["completed_at"] is None
    final = data(call(emulator, "GET", STATUS))
    assert final["current_execution"] is None
    last = final["last_execution"]
    assert (last["id"], last["status"], last["counts"], last["errors"]) == (EXEC, "completed", done, errors)
    created, started, completed = (timestamp(last[name]) for name in ("created_at", "started_at", "completed_at"))
    assert created <= started <= completed <= datetime.now(timezone.utc)
    assert timestamp(final["next_execution_time"]) > completed
    assert len(emulator.requests_to(STATUS)) == 4


def test_every_read_of_executions_moves_the_script(emulator: PolytomicEmulator) -> None:
    steps = [{"status": "queued", "polls": 1}, {"status": "running", "polls": 1}, {"status": "completed"}]
    emulator.add_sync(id=SYNC, executions=[{"id": EXEC, "steps": steps}])
    one = data(call(emulator, "GET", f"{EXECUTIONS}/{EXEC}"))
    assert set(one) == EXEC_KEYS and one["status"] == "queued" and one["started_at"] is None
    (listed,) = data(call(emulator, "GET", EXECUTIONS))
    assert listed["status"] == "running" and listed["started_at"] is not None
    assert data(call(emulator, "GET", STATUS))["last_execution"]["status"] == "completed"


def test_sync_that_never_ran(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC)
    status = data(call(emulator, "GET", STATUS))
    assert status["current_execution"] is None and status["last_execution"] is None
    assert data(call(emulator, "GET", EXECUTIONS)) == []


def test_execution_list_is_newest_first_and_paginates(emulator: PolytomicEmulator) -> None:
    ages = [600, 60, 86400, 3600]  # deliberately not in time order
    steps = [{"status": "completed"}]
    executions = [{"id": str(uuid.UUID(int=age)), "created_ago": age, "steps": steps} for age in ages]
    executions.insert(1, {"id": EXEC, "steps": [{"status": "running", "polls": 100}]})  # created now
    emulator.add_sync(id=SYNC, executions=executions)
    newest_first = [EXEC] + [str(uuid.UUID(int=age)) for age in sorted(ages)]

    seen: list[str] = []
    tokens: list[str | None] = []
    token: str | None = None
    while True:
        response = call(emulator, "GET", EXECUTIONS, params={"limit": 2, **({"page_token": token} if token else {})})
        page = data(response)
        assert len(page) <= 2 and all(set(item) == EXEC_KEYS for item in page)
        seen += [item["id"] for item in page]
        token = response.json()["pagination"]["next_page_token"]
        tokens.append(token)
        if token is None:
            break
        assert len(tokens) < 10
    assert seen == newest_first
    assert len(tokens) == 3 and tokens[-1] is None
    created = [timestamp(item["created_at"]) for item in data(call(emulator, "GET", EXECUTIONS))]
    assert created == sorted(created, reverse=True)

    ascending = data(call(emulator, "GET", EXECUTIONS, params={"ascending": "true"}))
    assert [item["id"] for item in ascending] == newest_first[::-1]
    completed = data(call(emulator, "GET", EXECUTIONS, params={"only_completed": "true"}))
    assert [item["id"] for item in completed] == newest_first[1:]


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "many"}, {"page_token": "not-a-token"}])
def test_bad_list_parameters_are_a_400(emulator: PolytomicEmulator, params: dict[str, str]) -> None:
    running_sync(emulator)
    assert assert_error(call(emulator, "GET", EXECUTIONS, params=params), 400)["key"] == "bad_request"


def test_one_execution_and_what_is_not_found(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    one = data(call(emulator, "GET", f"{EXECUTIONS}/{EXEC}"))
    assert set(one) == EXEC_KEYS and one["id"] == EXEC and one["status"] == "running"
    assert one["counts"] == {"insert": 3, "total": 3}
    for method, path in [
        ("GET", f"{EXECUTIONS}/{OLD}"),
        ("GET", f"/api/syncs/{OLD}/status"),
        ("GET", f"/api/bulk/syncs/{SYNC}/status"),  # a model sync is not a bulk sync
        ("GET", f"{STATUS}/extra"),
        ("GET", f"/api/syncs/{SYNC}/cancel"),
        ("GET", f"{EXECUTIONS}/{EXEC}/cancel"),
        ("POST", STATUS),
        ("POST", f"{STATUS}/{EXEC}/cancel"),
        ("POST", f"{EXECUTIONS}/{EXEC}"),
        ("POST", "/api/syncs"),  # listing is served (test_emulator_listing.py); creating is not
        ("GET", "/api/nothing"),
    ]:
        assert assert_error(call(emulator, method, path), 404)["key"] == "not_found", (method, path)
    assert current_status(emulator) == "running"  # nothing above canceled it


def test_start_with_idempotency_key_and_409_while_running(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC, run_steps=[{"status": "running", "polls": 2}, {"status": "completed"}])
    body = {"identities": None, "resync": False, "test": False}
    key = {"Idempotency-Key": "airflow-run-0001"}
    started = data(call(emulator, "POST", EXECUTIONS, headers=key, json=body))
    assert set(started) == {"id", "status", "created_at"}
    assert started["status"] == "running" and str(uuid.UUID(started["id"])) == started["id"]
    timestamp(started["created_at"])
    assert data(call(emulator, "POST", EXECUTIONS, headers=key, json=body)) == started
    conflict = call(emulator, "POST", EXECUTIONS, headers={"Idempotency-Key": "airflow-run-0002"}, json=body)
    assert started["id"] in assert_error(conflict, 409)["message"]
    assert_error(call(emulator, "POST", EXECUTIONS, json=body), 409)
    posts = emulator.requests_to(EXECUTIONS, "POST")
    assert [item.status for item in posts] == [200, 200, 409, 409] and posts[0].body == body

    assert data(call(emulator, "GET", STATUS))["current_execution"]["id"] == started["id"]
    assert data(call(emulator, "GET", STATUS))["current_execution"]["status"] == "running"
    assert data(call(emulator, "GET", STATUS))["last_execution"]["id"] == started["id"]
    assert data(call(emulator, "POST", EXECUTIONS, headers=key, json=body))["id"] == started["id"]  # still that
    second = data(call(emulator, "POST", EXECUTIONS, json=body))
    assert second["id"] != started["id"]
    assert [item["id"] for item in data(call(emulator, "GET", EXECUTIONS))] == [second["id"], started["id"]]


def test_cancel_an_execution(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    answer = data(call(emulator, "POST", f"{EXECUTIONS}/{EXEC}/cancel"))
    assert set(answer) == {"message"} and answer["message"]
    canceling = data(call(emulator, "GET", f"{EXECUTIONS}/{EXEC}"))
    assert canceling["status"] == "canceling" and canceling["completed_at"] is None
    canceled = data(call(emulator, "GET", f"{EXECUTIONS}/{EXEC}"))
    assert canceled["status"] == "canceled" and canceled["completed_at"] is not None
    assert canceled["counts"] == {"insert": 3, "total": 3}  # what it did before it stopped
    status = data(call(emulator, "GET", STATUS))
    assert status["current_execution"] is None and status["last_execution"]["status"] == "canceled"
    assert_error(call(emulator, "POST", f"{EXECUTIONS}/{OLD}/cancel"), 404)


def test_cancel_whatever_runs_through_the_sync(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    assert data(call(emulator, "POST", f"/api/syncs/{SYNC}/cancel"))["message"]
    assert [current_status(emulator), current_status(emulator)] == ["canceling", None]
    assert_error(call(emulator, "POST", f"/api/syncs/{SYNC}/cancel"), 404)  # nothing runs now


def test_a_newer_run_appears_while_polling(emulator: PolytomicEmulator) -> None:
    steps = [{"status": "running", "polls": 2}, {"status": "completed", "counts": {"insert": 3}}]
    emulator.add_sync(
        id=SYNC,
        executions=[
            {"id": OLD, "created_ago": 86400, "steps": [{"status": "completed"}]},
            {"id": NEW, "type": "scheduled", "appear_after": 2, "steps": steps},
        ],
    )
    currents, lasts = [], []
    for _ in range(6):
        status = data(call(emulator, "GET", STATUS))
        currents.append(status["current_execution"] and status["current_execution"]["id"])
        lasts.append(status["last_execution"]["id"])
    assert currents == [None, None, NEW, NEW, None, None]
    assert lasts == [OLD, OLD, OLD, OLD, NEW, NEW]
    assert [item["id"] for item in data(call(emulator, "GET", EXECUTIONS))] == [NEW, OLD]


def test_a_run_is_not_found_before_it_appears(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC, executions=[{"id": NEW, "appear_after": 1, "steps": [{"status": "running"}]}])
    assert_error(call(emulator, "GET", f"{EXECUTIONS}/{NEW}"), 404)
    assert data(call(emulator, "GET", f"{EXECUTIONS}/{NEW}"))["status"] == "running"


def test_created_ago_dates_a_finished_run_in_the_past(emulator: PolytomicEmulator) -> None:
    steps = [{"status": "running", "polls": 5}, {"status": "failed", "errors": ["boom"]}]
    emulator.add_sync(id=SYNC, executions=[{"id": OLD, "created_ago": 3600, "steps": steps}])
    status = data(call(emulator, "GET", STATUS))
    assert status["current_execution"] is None
    last = status["last_execution"]
    assert (last["id"], last["status"], last["errors"]) == (OLD, "failed", ["boom"])  # the script's end at once
    age = (datetime.now(timezone.utc) - timestamp(last["created_at"])).total_seconds()
    assert 3600 <= age < 3660
    assert last["started_at"] == last["created_at"] == last["completed_at"]


def test_seconds_clock_moves_with_time_not_polls(emulator: PolytomicEmulator) -> None:
    started = time.monotonic()
    steps = [{"status": "running", "seconds": 1.0}, {"status": "completed"}]
    emulator.add_sync(id=SYNC, clock="seconds", executions=[{"id": EXEC, "steps": steps}])
    statuses = [current_status(emulator) for _ in range(5)]
    assert time.monotonic() - started < 1.0, "the machine is too slow for this test's timing"
    assert statuses == ["running"] * 5
    time.sleep(max(0.0, started + 1.1 - time.monotonic()))
    last = data(call(emulator, "GET", STATUS))["last_execution"]
    assert last["id"] == EXEC and last["status"] == "completed"


def test_bulk_sync_status_execution_start_and_cancel(emulator: PolytomicEmulator) -> None:
    steps = [
        {"status": "exporting", "polls": 1, "counts": {"total": 5}},
        {"status": "errors", "counts": {"total": 9, "error": 3, "warnings": 1}},
    ]
    emulator.add_sync(id=BULK, kind="bulk", executions=[{"id": EXEC, "steps": steps}])
    base = f"/api/bulk/syncs/{BULK}"
    status = data(call(emulator, "GET", f"{base}/status"))
    assert set(status) == {"current_execution", "last_execution", "next_execution_time", "ingestion_status"}
    current = status["current_execution"]
    assert set(current) == BULK_EXEC_KEYS and (current["status"], current["record_count"]) == ("exporting", 5)
    status = data(call(emulator, "GET", f"{base}/status"))
    assert status["current_execution"] is None  # "errors" is terminal for bulk syncs
    last = status["last_execution"]
    assert (last["status"], last["record_count"], last["error_count"], last["warning_count"]) == ("errors", 9, 3, 1)
    assert data(call(emulator, "GET", f"{base}/executions/{EXEC}"))["status"] == "errors"
    listed = data(call(emulator, "GET", f"{base}/executions", params={"only_terminal": "true", "limit": 100}))
    assert [item["id"] for item in listed] == [EXEC]
    assert_error(call(emulator, "GET", f"/api/syncs/{BULK}/status"), 404)  # a bulk sync is not a model sync

    body = {"fetch_mode": "incremental", "resync_mode": "refetch", "schemas": ["public.users"], "test": False}
    started = data(call(emulator, "POST", f"{base}/executions", json=body))
    # The bulk API has no "queued" (the SDK's BulkExecutionStatus): a new bulk run is created (or scheduled).
    assert set(started) == BULK_EXEC_KEYS and started["status"] == "created"
    assert_error(call(emulator, "POST", f"{base}/executions", json=body), 409)
    assert data(call(emulator, "POST", f"{base}/executions/{started['id']}/cancel"))["message"]
    statuses = [data(call(emulator, "GET", f"{base}/executions/{started['id']}"))["status"] for _ in range(2)]
    assert statuses == ["canceling", "canceled"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"resync": True}, "resync is no longer accepted"),
        ({"resync": False, "fetch_mode": "full"}, "resync is no longer accepted"),
        ({"test": True, "resync_mode": "rebuild"}, "mutually exclusive"),
        ({"fetch_mode": "everything"}, "fetch_mode must be one of"),
        ({"resync_mode": "again"}, "resync_mode must be one of"),
    ],
)
def test_a_bulk_start_body_polytomic_refuses_is_a_400(
    emulator: PolytomicEmulator, body: dict[str, Any], message: str
) -> None:
    emulator.add_sync(id=BULK, kind="bulk")
    refused = assert_error(call(emulator, "POST", f"/api/bulk/syncs/{BULK}/executions", json=body), 400)
    assert message in refused["message"]
    assert data(call(emulator, "GET", f"/api/bulk/syncs/{BULK}/status"))["current_execution"] is None  # not started


@pytest.mark.parametrize(
    ("body", "is_test", "fetch_mode", "is_resync"),
    [
        ({}, False, "incremental", False),
        ({"test": True, "fetch_mode": "none"}, True, "none", False),
        ({"test": False, "fetch_mode": "full", "resync_mode": "rebuild"}, False, "full", True),
        ({"resync_mode": "refetch"}, False, "incremental", True),
    ],
)
def test_a_new_bulk_run_reports_how_it_was_started(
    emulator: PolytomicEmulator, body: dict[str, Any], is_test: bool, fetch_mode: str, is_resync: bool
) -> None:
    emulator.add_sync(id=BULK, kind="bulk")
    base = f"/api/bulk/syncs/{BULK}"
    started = data(call(emulator, "POST", f"{base}/executions", json=body))
    for seen in (started, data(call(emulator, "GET", f"{base}/executions/{started['id']}"))):
        assert (seen["is_test"], seen["fetch_mode"], seen["is_resync"]) == (is_test, fetch_mode, is_resync)


def test_a_run_started_through_the_api_reports_every_count(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC, run_steps=[{"status": "running", "counts": {"insert": 3}}])
    started = data(call(emulator, "POST", EXECUTIONS, json={}))
    counts = data(call(emulator, "GET", f"{EXECUTIONS}/{started['id']}"))["counts"]
    assert counts == {"insert": 3, "update": 0, "delete": 0, "upserts": 0, "error": 0, "warnings": 0, "total": 0}
    emulator.add_sync(id=BULK, kind="bulk")  # the default script
    base = f"/api/bulk/syncs/{BULK}"
    started = data(call(emulator, "POST", f"{base}/executions", json={}))
    assert {key: started[key] for key in ("record_count", "error_count", "warning_count")} == dict.fromkeys(
        ("record_count", "error_count", "warning_count"), 0
    )


def test_bulk_schema_entries_carry_the_sdks_keys(emulator: PolytomicEmulator) -> None:
    steps = [{"status": "completed", "schemas": [{"schema": "public.orders", "status": "completed"}]}]
    emulator.add_sync(id=BULK, kind="bulk", executions=[{"id": EXEC, "steps": steps}])
    (entry,) = data(call(emulator, "GET", f"/api/bulk/syncs/{BULK}/executions/{EXEC}"))["schemas"]
    assert set(entry) == {
        "schema",
        "output_name",
        "status",
        "status_message",
        "record_count",
        "error_count",
        "warning_count",
        "created_at",
        "started_at",
        "completed_at",
        "updated_at",
        "version",
    }
    assert "name" not in entry and (entry["schema"], entry["status"]) == ("public.orders", "completed")


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"syncs": [{"id": SYNC, "clock": "minutes"}]}, "scenario.syncs[0].clock: 'minutes' is not one of"),
        ({"syncs": [{"id": SYNC, "kind": "Bulk"}]}, "scenario.syncs[0].kind: 'Bulk' is not one of 'model', 'bulk'"),
        ({"faults": [{"kind": "stauts"}]}, "scenario.faults[0].kind: 'stauts' is not one of 'status'"),
        ({"sync": []}, "scenario: unknown key 'sync' (did you mean 'syncs'?)"),
        ({"syncs": [{"execution": []}]}, "scenario.syncs[0]: unknown key 'execution' (did you mean 'executions'?)"),
        (
            {"syncs": [{"executions": [{"steps": [{"polls": 2}]}]}]},
            "scenario.syncs[0].executions[0].steps[0]: missing required key 'status'",
        ),
        (
            {"syncs": [{"run_steps": [{"status": "running", "counts": {"inserts": 1}}]}]},
            "scenario.syncs[0].run_steps[0].counts: unknown key 'inserts' (did you mean 'insert'?)",
        ),
        (
            {
                "syncs": [
                    {"kind": "bulk", "executions": [{"steps": [{"status": "completed", "schemas": [{"name": "a"}]}]}]}
                ]
            },
            "schemas[0]: unknown key 'name' (did you mean 'schema'?)",
        ),
        ({"faults": [{"path": ".*"}]}, "scenario.faults[0]: missing required key 'kind'"),
        ({"faults": [{"kind": "status", "status": "503"}]}, "scenario.faults[0].status: expected integer, got string"),
        ({"api_keys": "emulator-api-key"}, "scenario.api_keys: expected array, got string"),
        ({"syncs": [{"appear_after": 3}]}, "scenario.syncs[0]: unknown key 'appear_after'"),
    ],
)
def test_scenario_mistakes_are_refused_naming_the_key(scenario: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        PolytomicEmulator(scenario)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_add_sync_and_add_fault_check_their_keys_too(emulator: PolytomicEmulator) -> None:
    with pytest.raises(ScenarioError, match=r"sync: unknown key 'execution' \(did you mean 'executions'\?\)"):
        emulator.add_sync(id=SYNC, execution=[])
    with pytest.raises(ScenarioError, match=r"fault: unknown key 'request' \(did you mean 'requests'\?\)"):
        emulator.add_fault("status", request=[1])
    assert emulator.syncs == {} and emulator.faults == []


def test_the_shipped_json_schema_is_a_valid_schema_that_accepts_what_the_emulator_accepts() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = scenario_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    good = {
        "api_keys": [API_KEY],
        "deployment_keys": {ORG_ID: DEPLOYMENT_KEY},
        "organization": {"id": ORG_ID, "name": "Acme Data"},
        "syncs": [
            {
                "id": SYNC,
                "name": "Orders",
                "clock": "polls",
                "executions": [
                    {"id": OLD, "created_ago": 600, "steps": [{"status": "completed", "counts": {"insert": 4}}]},
                    {"id": EXEC, "type": "scheduled", "appear_after": 2, "steps": [{"status": "running", "polls": 3}]},
                ],
                "run_steps": [{"status": "failed", "errors": ["boom"]}],
            },
            {
                "id": BULK,
                "kind": "bulk",
                "executions": [{"steps": [{"status": "completed", "schemas": [{"schema": "a"}]}]}],
            },
        ],
        "faults": [
            {"kind": "status", "path": STATUS, "method": "get", "status": 429, "retry_after": "7", "requests": [2]}
        ],
    }
    jsonschema.validate(good, document)
    PolytomicEmulator(good)  # no error
    bad = {"syncs": [{"execution": []}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, document)
    with pytest.raises(ScenarioError):
        PolytomicEmulator(bad)


def test_a_busy_port_is_a_clear_error() -> None:
    with PolytomicEmulator() as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match=rf"cannot listen on 127\.0\.0\.1:{port}: another process is using"):
            PolytomicEmulator(port=port).start()


# -- faults -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [500, 502, 503])
def test_status_fault_answers_polytomics_error_body(emulator: PolytomicEmulator, code: int) -> None:
    running_sync(emulator)
    emulator.add_fault("status", path=STATUS, status=code)
    for _ in range(2):
        response = call(emulator, "GET", STATUS)
        assert assert_error(response, code)["key"] == "fault"
        assert "Retry-After" not in response.headers and response.headers["X-Polytomic-Version"] == "2021-05-23"
    assert data(call(emulator, "GET", f"{EXECUTIONS}/{EXEC}"))["status"] == "running"  # other paths are fine
    assert data(call(emulator, "POST", f"{EXECUTIONS}/{EXEC}/cancel"))  # so are other methods
    assert [item.status for item in emulator.requests] == [code, code, 200, 200]


def test_429_fault_sends_retry_after(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    emulator.add_fault("status", path=STATUS, status=429, retry_after="7")
    response = call(emulator, "GET", STATUS)
    assert_error(response, 429)
    assert response.headers["Retry-After"] == "7"


def test_post_fault_hits_posts_only(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC)
    emulator.add_fault("status", method="post", path=EXECUTIONS, status=500)
    assert data(call(emulator, "GET", EXECUTIONS)) == []
    assert_error(call(emulator, "POST", EXECUTIONS, json={}), 500)
    assert data(call(emulator, "GET", STATUS))["current_execution"] is None  # the faulted start did not start


def test_delay_longer_than_the_client_timeout(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    emulator.add_fault("delay", path=STATUS, seconds=1.0, requests=[1])
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(emulator, "GET", STATUS, timeout=0.2)
    assert time.monotonic() - started < 0.9
    assert [item.status for item in emulator.requests] == [None]  # logged on arrival, answer pending
    assert current_status(emulator) == "running"  # the second request is not delayed
    assert [item.status for item in emulator.requests] == [None, 200]
    while emulator.requests[0].status is None and time.monotonic() - started < 5:
        time.sleep(0.05)
    assert [item.status for item in emulator.requests] == [200, 200]  # answered, to nobody


def test_delay_shorter_than_the_client_timeout_answers_late(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    emulator.add_fault("delay", path=STATUS, seconds=0.3)
    started = time.monotonic()
    assert current_status(emulator) == "running"
    assert time.monotonic() - started >= 0.3


def test_drop_closes_the_connection_without_an_answer(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    emulator.add_fault("drop", path=STATUS, requests=[1])
    with pytest.raises(requests.exceptions.ConnectionError):
        call(emulator, "GET", STATUS)
    assert current_status(emulator) == "running"
    assert [item.status for item in emulator.requests] == [None, 200]


def test_malformed_is_a_200_that_is_not_json(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    emulator.add_fault("malformed", path=STATUS)
    response = call(emulator, "GET", STATUS)
    assert response.status_code == 200 and response.text.startswith("<html>")
    with pytest.raises(ValueError):
        response.json()


def test_truncated_stops_short_of_its_content_length(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    emulator.add_fault("truncated", path=STATUS, requests=[1])
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        call(emulator, "GET", STATUS)
    assert current_status(emulator) == "running"


def test_body_fault_answers_that_document(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    document = {"data": {"current_execution": {"status": 7}}, "extra": [1, None]}
    emulator.add_fault("body", path=STATUS, body=document)
    response = call(emulator, "GET", STATUS)
    assert response.status_code == 200 and response.json() == document


def test_unknown_status_fault_rewrites_every_execution_status(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(
        id=SYNC,
        executions=[
            {"id": OLD, "created_ago": 600, "steps": [{"status": "completed", "counts": {"insert": 4}}]},
            {"id": EXEC, "steps": [{"status": "running", "polls": 100}]},
        ],
    )
    emulator.add_fault("unknown_status", path=rf"{EXECUTIONS}|{STATUS}", requests=[1, 2])
    status = data(call(emulator, "GET", STATUS))
    assert status["current_execution"]["status"] == status["last_execution"]["status"] == "rebalancing"
    assert status["current_execution"]["id"] == EXEC and status["last_execution"]["counts"] == {"insert": 4}
    assert [item["status"] for item in data(call(emulator, "GET", EXECUTIONS))] == ["rebalancing"] * 2
    status = data(call(emulator, "GET", STATUS))  # the third request is not hit
    assert (status["current_execution"]["status"], status["last_execution"]["status"]) == ("running", "completed")

    emulator.add_fault("unknown_status", path=rf"{EXECUTIONS}/.*", body="paused_by_polytomic")
    assert data(call(emulator, "GET", f"{EXECUTIONS}/{EXEC}"))["status"] == "paused_by_polytomic"
    assert assert_error(call(emulator, "GET", f"{EXECUTIONS}/{NEW}"), 404)["status"] == 404  # errors untouched

    emulator.add_sync(id=BULK, kind="bulk")
    emulator.add_fault("unknown_status", method="POST", path=f"/api/bulk/syncs/{BULK}/executions", body={"x": 1})
    started = data(call(emulator, "POST", f"/api/bulk/syncs/{BULK}/executions", json={}))
    assert started["status"] == "rebalancing"
    bulk_status = data(call(emulator, "GET", f"/api/bulk/syncs/{BULK}/status"))
    assert bulk_status["current_execution"]["id"] == started["id"]  # it was answered normally: the run started
    assert bulk_status["current_execution"]["status"] == "created"


def test_fault_requests_selects_the_nth_matching_request_only(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    emulator.add_fault("status", path=STATUS, status=503, requests=[2])
    codes = [call(emulator, "GET", path).status_code for path in (STATUS, f"/api/syncs/{SYNC}", STATUS, STATUS)]
    assert codes == [200, 200, 503, 200]  # the sync read in between does not match, so does not count


def test_each_fault_counts_its_matching_requests_on_its_own(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    emulator.add_fault("status", path=STATUS, status=500, requests=[1])
    emulator.add_fault("status", path=STATUS, status=502, requests=[2])
    emulator.add_fault("status", path=".*", status=503, requests=[3])
    assert [call(emulator, "GET", STATUS).status_code for _ in range(4)] == [500, 502, 503, 200]


# -- the request log --------------------------------------------------------------------------------------


def test_request_log_records_the_request_and_answer_but_never_the_key(emulator: PolytomicEmulator) -> None:
    running_sync(emulator)
    call(emulator, "GET", EXECUTIONS, params={"ascending": "true", "limit": "5"})
    call(emulator, "POST", f"{EXECUTIONS}/{EXEC}/cancel", json={"reason": "test"})
    call(emulator, "GET", "/api/me", key=None, headers={"Authorization": basic(ORG_ID, DEPLOYMENT_KEY)})
    call(emulator, "GET", "/api/me", key="pk_wrong_SECRET_zzz")
    call(emulator, "GET", "/api/me", key=None, headers={"Authorization": API_KEY})  # no scheme: the key itself
    log = emulator.requests
    assert [(item.method, item.path, item.status) for item in log] == [
        ("GET", EXECUTIONS, 200),
        ("POST", f"{EXECUTIONS}/{EXEC}/cancel", 200),
        ("GET", "/api/me", 200),
        ("GET", "/api/me", 401),
        ("GET", "/api/me", 401),
    ]
    assert log[0].query == {"ascending": ["true"], "limit": ["5"]} and log[0].body is None
    assert log[1].body == {"reason": "test"} and log[1].query == {}
    authorizations = [item.headers["Authorization"] for item in log]
    assert authorizations == ["Bearer ***", "Bearer ***", "Basic ***", "Bearer ***", "***"]
    for secret in (API_KEY, DEPLOYMENT_KEY, basic(ORG_ID, DEPLOYMENT_KEY).split()[1], "pk_wrong_SECRET_zzz"):
        assert secret not in repr(log)

    assert emulator.requests_to(rf"/api/syncs/{SYNC}/.*") == [log[0]]
    assert emulator.requests_to(rf"/api/syncs/{SYNC}/.*", "POST") == [log[1]]
    assert emulator.requests_to("/api/me") == log[2:]
    assert emulator.requests_to("/api/m") == []  # the whole path must match


# -- the pytest plugin ------------------------------------------------------------------------------------

PLUGIN_USER_TESTS = """
import json
import os

import pytest
import requests

from airflow_provider_polytomic.hooks.polytomic import PolytomicHook

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
URLS = []
CONNECTION_BEFORE = os.environ.get("AIRFLOW_CONN_POLYTOMIC_DEFAULT")


def test_a_hook_reaches_the_emulator(polytomic_emulator, polytomic_connection):
    assert polytomic_connection == "polytomic_default"
    document = json.loads(os.environ["AIRFLOW_CONN_POLYTOMIC_DEFAULT"])
    assert document["host"] == polytomic_emulator.url and document["password"] == polytomic_emulator.api_key
    assert document["extra"]["timeout"] <= 5
    polytomic_emulator.add_sync(id=SYNC, executions=[{"steps": [{"status": "running", "polls": 5}]}])
    status = PolytomicHook(polytomic_connection).get_sync_status(SYNC)
    assert status.current_execution.status == "running"
    assert polytomic_emulator.requests[0].headers["Authorization"] == "Bearer ***"
    URLS.append(polytomic_emulator.url)


def test_the_emulator_was_stopped_and_a_new_one_is_fresh(polytomic_emulator):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(URLS[0] + "/api/me", timeout=2)
    assert polytomic_emulator.syncs == {} and polytomic_emulator.requests == []
    assert os.environ.get("AIRFLOW_CONN_POLYTOMIC_DEFAULT") == CONNECTION_BEFORE
"""


def test_pytest_plugin_gives_an_emulator_and_a_connection(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["airflow_provider_polytomic.testing.pytest_plugin"]\n')
    pytester.makepyfile(test_user_dag=PLUGIN_USER_TESTS)
    # In a subprocess: an in-process run would unload the Airflow modules it imported, under later tests' feet.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=2)


# -- the command line -------------------------------------------------------------------------------------


def test_command_line_serves_a_scenario_and_stops_on_sigterm(tmp_path: Path) -> None:
    steps = [{"status": "running", "polls": 1}, {"status": "completed"}]
    scenario = {
        "api_keys": [API_KEY],
        "syncs": [{"id": SYNC, "executions": [{"id": EXEC, "steps": steps}]}],
        "faults": [{"kind": "status", "path": STATUS, "status": 503, "requests": [1]}],
    }
    (tmp_path / "scenario.json").write_text(json.dumps(scenario), encoding="utf-8")
    url_file = tmp_path / "url"
    command = [sys.executable, "-m", "airflow_provider_polytomic.testing", "--port", "0"]
    command += ["--scenario", str(tmp_path / "scenario.json"), "--url-file", str(url_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (url_file.exists() and url_file.read_text(encoding="utf-8")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the emulator did not write its URL"
            time.sleep(0.05)
        url = url_file.read_text(encoding="utf-8")
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", url), url
        auth = {"Authorization": f"Bearer {API_KEY}"}
        answers = [requests.get(url + STATUS, headers=auth, timeout=5) for _ in range(3)]
        assert [item.status_code for item in answers] == [503, 200, 200]
        assert answers[1].json()["data"]["current_execution"]["id"] == EXEC
        assert answers[2].json()["data"]["last_execution"]["status"] == "completed"

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        lines = out.splitlines()
        assert lines[0] == url
        assert any(SYNC in line and "model sync" in line and "running -> completed" in line for line in lines[1:]), out
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(url + "/api/me", headers=auth, timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def run_command_line(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow_provider_polytomic.testing", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_command_line_refuses_a_scenario_with_a_typo_naming_the_key(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"syncs": [{"id": SYNC, "execution": []}]}), encoding="utf-8")
    result = run_command_line("--scenario", str(scenario))
    assert result.returncode == 2 and result.stdout == ""
    assert "scenario.syncs[0]: unknown key 'execution' (did you mean 'executions'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_command_line_says_the_port_is_busy(tmp_path: Path) -> None:
    with PolytomicEmulator() as first:
        port = first.url.rsplit(":", 1)[1]
        result = run_command_line("--port", port)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: another process is using that port" in result.stderr
    assert "Traceback" not in result.stderr


def test_command_line_prints_the_schema() -> None:
    result = run_command_line("--print-schema")
    assert result.returncode == 0 and json.loads(result.stdout) == scenario_schema()


@pytest.mark.parametrize("offset", [120, -120.5])
def test_clock_offset_skews_every_time_and_the_date_header(offset: float) -> None:
    """A scenario's ``clock_offset`` puts the emulated Polytomic's clock ahead of or behind this machine's."""
    from email.utils import parsedate_to_datetime

    scenario = {"api_keys": [API_KEY], "clock_offset": offset, "syncs": [{"id": SYNC, "executions": [{}]}]}
    with PolytomicEmulator(scenario) as skewed:
        response = call(skewed, "GET", STATUS)
        ours = datetime.now(timezone.utc)
        current = data(response)["current_execution"]
        theirs = parsedate_to_datetime(response.headers["Date"])
        assert abs((theirs - ours).total_seconds() - offset) < 2
        assert abs((timestamp(current["created_at"]) - ours).total_seconds() - offset) < 2
        skewed.clock_offset = 0  # settable while it runs
        assert abs((parsedate_to_datetime(call(skewed, "GET", STATUS).headers["Date"]) - ours).total_seconds()) < 2


@pytest.mark.parametrize("offset", ["120", 1e300, True, None])
def test_a_clock_offset_that_is_not_a_sane_number_of_seconds_is_refused(offset: Any) -> None:
    with pytest.raises(ScenarioError, match=r"scenario\.clock_offset"):
        PolytomicEmulator({"clock_offset": offset})
    with pytest.raises(ScenarioError, match=r"scenario\.clock_offset"):
        PolytomicEmulator().clock_offset = offset


def test_omit_completed_at_reports_an_ended_run_without_its_end(emulator: PolytomicEmulator) -> None:
    steps = [{"status": "running"}, {"status": "completed"}]
    emulator.add_sync(id=SYNC, executions=[{"id": EXEC, "omit_completed_at": True, "steps": steps}])
    call(emulator, "GET", STATUS)
    last = data(call(emulator, "GET", STATUS))["last_execution"]
    assert (last["id"], last["status"], last["completed_at"]) == (EXEC, "completed", None)
    assert last["started_at"] is not None
