"""Sync lists and console logs: the emulator serves them in the official SDK's shapes (polytomic 25.9.10), and the
hook reads them (``list_syncs``, ``find_sync``, ``get_console_log``) over real HTTP."""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import (
    PolytomicConfigError,
    PolytomicNotFoundError,
    PolytomicUnavailableError,
)
from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
from airflow_provider_polytomic.testing import PolytomicEmulator, ScenarioError
from tests.conftest import API_KEY

#: The SDK's ``ListSyncItem`` fields the emulator sends (a subset of the SDK's optional fields).
LIST_SYNC_ITEM = {
    "id", "name", "active", "mode", "model_ids", "target_connection_id", "target_object", "schedule",
    "organization_id", "created_at", "updated_at", "created_by", "updated_by", "policies",
}  # fmt: skip
CONSOLE_ENTRY = {"id", "level", "message", "payload", "timestamp"}


def get(emulator: PolytomicEmulator, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(emulator.url + path, headers={"Authorization": f"Bearer {API_KEY}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request) as answer:  # noqa: S310 - the emulator on 127.0.0.1
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def hook(make_connection: Callable[..., str]) -> PolytomicHook:
    return PolytomicHook(polytomic_conn_id=make_connection())


def test_the_model_list_pages_by_50_newest_update_first_with_opaque_tokens(emulator: PolytomicEmulator) -> None:
    for number in range(120):
        emulator.add_sync(name=f"sync {number:03d}", updated_ago=number)
    status, first = get(emulator, "/api/syncs?limit=500")
    assert status == 200 and len(first["data"]) == 50  # a larger limit is cut to 50
    assert set(first["data"][0]) == LIST_SYNC_ITEM
    assert [item["name"] for item in first["data"][:2]] == ["sync 000", "sync 001"]
    token = first["pagination"]["next_page_token"]
    assert not token.isdigit() and "50" not in token  # opaque
    _, second = get(emulator, f"/api/syncs?page_token={token}")
    _, third = get(emulator, f"/api/syncs?page_token={second['pagination']['next_page_token']}")
    assert (second["data"][0]["name"], len(third["data"]), third["pagination"]["next_page_token"]) == (
        "sync 050",
        20,
        None,
    )
    bad = base64.urlsafe_b64encode(b"something else").decode()
    assert get(emulator, f"/api/syncs?page_token={bad}")[0] == 400
    assert get(emulator, "/api/syncs?limit=0")[0] == 400


def test_filters_ties_and_the_bulk_list(emulator: PolytomicEmulator) -> None:
    ids = ["bbbbbbbb-0000-4000-8000-000000000000", "aaaaaaaa-0000-4000-8000-000000000000"]
    for sync_id in ids:
        emulator.add_sync(id=sync_id, name="Same name", updated_ago=5)
    emulator.add_sync(name="Paused", active=False)
    emulator.add_sync(name="Bulk", kind="bulk")
    _, listed = get(emulator, "/api/syncs")
    assert [item["id"] for item in listed["data"][:2]] == sorted(ids)  # the id breaks ties
    _, paused = get(emulator, "/api/syncs?active=false")
    assert [item["name"] for item in paused["data"]] == ["Paused"]
    _, bulk = get(emulator, "/api/bulk/syncs")
    assert [item["name"] for item in bulk["data"]] == ["Bulk"] and "pagination" not in bulk
    assert bulk["data"][0]["active"] is True


def test_the_hook_lists_lazily_and_finds_a_name_on_the_third_page(
    emulator: PolytomicEmulator, hook: PolytomicHook
) -> None:
    for number in range(120):
        emulator.add_sync(name=f"sync {number:03d}", updated_ago=number)
    listed = hook.list_syncs()
    next(listed)
    assert len(emulator.requests) == 1  # one page read: the rest waits until it is needed
    found = hook.find_sync("sync 110")
    assert found.name == "sync 110" and found.active is True
    pages = emulator.requests_to("/api/syncs")
    assert [request.query.get("limit") for request in pages[1:]] == [["50"]] * 3


def test_the_hook_says_what_a_name_matched(emulator: PolytomicEmulator, hook: PolytomicHook) -> None:
    twice = [emulator.add_sync(name="Orders").id for _ in range(2)]
    emulator.add_sync(name="Contacts to HubSpot")
    emulator.add_sync(name="Orders", kind="bulk", active=False)
    with pytest.raises(PolytomicNotFoundError, match=r"'Contacts to Hubspot'.*Close names: 'Contacts to HubSpot'"):
        hook.find_sync("Contacts to Hubspot")
    with pytest.raises(PolytomicConfigError) as raised:
        hook.find_sync("Orders")
    assert all(sync_id in str(raised.value) for sync_id in twice)
    paused = hook.find_sync("Orders", kind=SyncKind.BULK)
    assert paused.active is False
    assert [item.name for item in hook.list_syncs(SyncKind.BULK, active=True)] == []


def test_console_log_entries_appear_as_the_script_reaches_their_step(
    emulator: PolytomicEmulator, hook: PolytomicHook
) -> None:
    sync = emulator.add_sync(
        executions=[
            {
                "steps": [
                    {"status": "running", "console": [{"message": "Fetching orders", "payload": {"rows": 10}}]},
                    {"status": "failed", "console": [{"message": "Warehouse suspended", "level": "error"}]},
                ]
            }
        ]
    )
    execution = sync.executions[0].id
    status, document = get(emulator, f"/api/syncs/{sync.id}/executions/{execution}/consolelog")
    assert status == 200 and set(document["data"]) == {"entries", "next_cursor"}
    (entry,) = document["data"]["entries"]
    assert set(entry) == CONSOLE_ENTRY and entry["payload"] == {"rows": 10}
    log = hook.get_console_log(sync.id, execution)
    assert [item.message for item in log.entries] == ["Fetching orders"]
    hook.get_sync_status(sync.id)  # the script moves on to the failure
    newer = hook.get_console_log(sync.id, execution, after=log.next_cursor)
    assert [(item.level, item.message) for item in newer.entries] == [("error", "Warehouse suspended")]
    assert newer.next_cursor != log.next_cursor
    assert hook.get_console_log(sync.id, execution, after=newer.next_cursor).entries == ()
    assert len(emulator.requests_to(f"/api/syncs/{sync.id}/status")) == 1  # console reads move no script


def test_console_log_of_a_bulk_execution_and_what_is_not_found(
    emulator: PolytomicEmulator, hook: PolytomicHook
) -> None:
    sync = emulator.add_sync(
        kind="bulk",
        executions=[{"created_ago": 60, "steps": [{"status": "completed", "console": [{"message": "done"}]}]}],
    )
    log = hook.get_console_log(sync.id, sync.executions[0].id, SyncKind.BULK)
    assert [item.message for item in log.entries] == ["done"]
    with pytest.raises(PolytomicNotFoundError):
        hook.get_console_log(sync.id, "22222222-2222-4222-8222-222222222222", SyncKind.BULK)
    emulator.add_fault("status", path=".*/consolelog", status=500)
    with pytest.raises(PolytomicUnavailableError):
        hook.get_console_log(sync.id, sync.executions[0].id, SyncKind.BULK)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"steps": [{"status": "running", "console": [{"level": "info"}]}]},
            "console[0]: missing required key 'message'",
        ),
        ({"steps": [{"status": "running", "console": [{"message": "m", "payload": []}]}]}, "payload: expected object"),
        ({"steps": [{"status": "running", "console": [{"message": "m", "lvl": "x"}]}]}, "unknown key 'lvl'"),
    ],
)
def test_console_entries_in_a_scenario_are_checked(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(message)):
        PolytomicEmulator({"syncs": [{"executions": [spec]}]})
    with pytest.raises(ScenarioError, match="active: expected boolean"):
        PolytomicEmulator({"syncs": [{"active": "no"}]})
