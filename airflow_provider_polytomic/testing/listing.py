"""The emulator's sync lists and console logs: ``GET /api/syncs``, ``GET /api/bulk/syncs`` and
``GET /api[/bulk]/syncs/{id}/executions/{id}/consolelog``, in the official SDK's shapes. No HTTP here.

``GET /api/syncs`` pages as Polytomic does: at most 50 items (a larger ``limit`` is cut to 50), newest
``updated_at`` first with ``id`` breaking ties, an opaque ``pagination.next_page_token``. ``GET /api/bulk/syncs``
answers one list. Names need not be unique. Reading a list or a console log does not move any script on.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from airflow_provider_polytomic.testing.documents import error_document, rfc3339, sync_definition_document

if TYPE_CHECKING:
    from airflow_provider_polytomic.testing.api import Account
    from airflow_provider_polytomic.testing.script import EmulatedSync

PAGE_LIMIT = 50
_LIST_PATH = re.compile(r"^/api/(?P<bulk>bulk/)?syncs/?$")
_CONSOLE_PATH = re.compile(r"^/api/(?P<bulk>bulk/)?syncs/(?P<sync>[^/]+)/executions/(?P<execution>[^/]+)/consolelog$")
_TOKEN_PREFIX = "emulated-page:"  # noqa: S105 - a page marker, not a credential


def route(emulator: Account, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
    """The answer when the request is for a list or a console log; None for any other request."""
    if method != "GET":
        return None
    listing = _LIST_PATH.match(path)
    if listing:
        return _list(emulator, "bulk" if listing["bulk"] else "model", query)
    console = _CONSOLE_PATH.match(path)
    if console:
        return _console(emulator, "bulk" if console["bulk"] else "model", console["sync"], console["execution"], query)
    return None


def list_item_document(sync: EmulatedSync, organization_id: str) -> dict[str, Any]:
    """A model sync as ``GET /api/syncs`` lists it: the SDK's ``ListSyncItem``."""
    target = sync.definition.get("target") or {}
    definition = sync_definition_document(sync, organization_id)
    return {
        "id": sync.id,
        "name": sync.name,
        "active": sync.active,
        "mode": definition["mode"],
        "model_ids": list(sync.definition.get("model_ids") or []),
        "target_connection_id": target.get("connection_id"),
        "target_object": target.get("object"),
        "schedule": definition["schedule"],
        "organization_id": organization_id,
        "created_at": definition["created_at"],
        "updated_at": rfc3339(sync.updated_at),
        "created_by": None,
        "updated_by": None,
        "policies": [],
    }


def _list(emulator: Account, kind: str, query: dict[str, list[str]]) -> tuple[int, Any]:
    with emulator.lock:
        syncs = [sync for sync in emulator.syncs.values() if sync.kind == kind]
    active = _one(query, "active")
    if active is not None:
        wanted = active.lower() in ("1", "true")
        syncs = [sync for sync in syncs if sync.active == wanted]
    syncs.sort(key=lambda sync: sync.id)
    syncs.sort(key=lambda sync: sync.updated_at, reverse=True)
    if kind == "bulk":
        return 200, {"data": [sync_definition_document(sync, emulator.organization_id) for sync in syncs]}
    for name in ("mode", "target_connection_id"):
        value = _one(query, name)
        if value is not None:
            syncs = [sync for sync in syncs if list_item_document(sync, emulator.organization_id)[name] == value]
    try:
        limit = min(int(_one(query, "limit") or PAGE_LIMIT), PAGE_LIMIT)
        offset = _offset(_one(query, "page_token"))
    except ValueError:
        limit = offset = -1
    if limit < 1 or offset < 0:
        return 400, error_document(
            400, "limit must be a positive number and page_token one this API returned", "bad_request"
        )
    page = syncs[offset : offset + limit]
    more = offset + limit < len(syncs)
    token = base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{offset + limit}".encode()).decode() if more else None
    data = [list_item_document(sync, emulator.organization_id) for sync in page]
    return 200, {"data": data, "pagination": {"next_page_token": token}}


def _offset(token: str | None) -> int:
    if not token:
        return 0
    text = base64.urlsafe_b64decode(token.encode()).decode()
    if not text.startswith(_TOKEN_PREFIX):
        raise ValueError(token)
    return int(text.removeprefix(_TOKEN_PREFIX))


def _console(
    emulator: Account, kind: str, sync_id: str, execution_id: str, query: dict[str, list[str]]
) -> tuple[int, Any]:
    sync = emulator.syncs.get(sync_id)
    if sync is None or sync.kind != kind:
        return 404, error_document(404, f"{kind} sync not found", "not_found")
    with emulator.lock:
        execution = sync.find(execution_id)
        if execution is None:
            return 404, error_document(404, "execution not found", "not_found")
        entries = list(execution.console)
    try:
        limit = min(int(_one(query, "limit") or PAGE_LIMIT), PAGE_LIMIT)
        after = _cursor(_one(query, "after"))
    except ValueError:
        return 400, error_document(400, "limit must be a number and after a cursor this API returned", "bad_request")
    if limit < 1:
        return 400, error_document(400, "limit must be positive", "bad_request")
    if after is not None:
        newer = [entry for entry in entries if _cursor(entry["id"]) > after]  # type: ignore[operator]
        chosen = newer[:limit]  # the oldest newer ones first, so that following next_cursor misses none
    else:
        chosen = entries[-limit:]  # the most recent
    cursor = chosen[-1]["id"] if chosen else _one(query, "after")
    documents = [{**entry, "timestamp": rfc3339(entry["timestamp"])} for entry in chosen]
    return 200, {"data": {"entries": documents, "next_cursor": cursor}}


def _cursor(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    milliseconds, _, sequence = text.partition("-")
    return int(milliseconds), int(sequence or 0)


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None
