"""The emulator's API: which endpoint a request reaches and what it answers (status and JSON document),
before any fault. No HTTP here, and no emulator: ``PolytomicEmulator.handle`` calls :func:`answer` with itself as the
:class:`Account`."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, Protocol

from airflow_provider_polytomic.testing.documents import (
    connection_document,
    error_document,
    execution_document,
    identity_document,
    model_document,
    status_document,
    sync_definition_document,
)
from airflow_provider_polytomic.testing.listing import route as list_or_console_log
from airflow_provider_polytomic.testing.script import EmulatedSync


class Account(Protocol):
    """What the API answers from: the emulated organization, its keys and what it holds (the emulator)."""

    organization_id: str
    organization_name: str
    api_keys: set[str]
    deployment_keys: dict[str, str]
    syncs: dict[str, EmulatedSync]
    connections: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]
    #: Held while the scripts are read or moved (the server answers from several threads).
    lock: Any  # a threading.RLock


BULK_FETCH_MODES = frozenset({"none", "incremental", "full"})
BULK_RESYNC_MODES = frozenset({"refetch", "resync", "rebuild"})

# /api[/bulk]/syncs/{id}, .../status, .../cancel, .../executions, .../executions/{id}, .../executions/{id}/cancel
_SYNC_PATH = re.compile(
    r"^/api/(?P<bulk>bulk/)?syncs/(?P<sync>[^/]+)"
    r"(?:/(?P<what>status|cancel)|/(?P<executions>executions)(?:/(?P<execution>[^/]+)(?:/(?P<cancel>cancel))?)?)?$"
)


# /api/connections/{id}, /api/models/{id}
_DEFINITION_PATH = re.compile(r"^/api/(?P<what>connections|models)/(?P<id>[^/]+)$")


def answer(
    emulator: Account,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: Mapping[str, str],
    body: Any,
) -> tuple[int, Any]:
    """The status and JSON document Polytomic would answer this request with."""
    headers = {name.lower(): value for name, value in headers.items()}  # header names are case-insensitive
    if not _authenticated(emulator, headers.get("authorization", "")):
        return 401, error_document(401, "unauthorized: the API key is missing or not valid", "unauthorized")
    if path == "/api/me" and method == "GET":
        return 200, {"data": identity_document(emulator.organization_id, emulator.organization_name)}
    listed = list_or_console_log(emulator, method, path, query)
    if listed is not None:
        return listed
    definition = _DEFINITION_PATH.match(path)
    if definition and method == "GET":
        return _definition(emulator, definition["what"], definition["id"])
    match = _SYNC_PATH.match(path)
    if not match:
        return 404, error_document(404, f"no route for {method} {path}", "not_found")
    sync = emulator.syncs.get(match["sync"])
    kind = "bulk" if match["bulk"] else "model"
    if sync is None or sync.kind != kind:
        return 404, error_document(404, f"{kind} sync not found", "not_found")
    what, execution_id = match["what"] or match["executions"], match["execution"]
    if method == "GET" and what is None:
        return 200, {"data": sync_definition_document(sync, emulator.organization_id)}
    if method == "GET" and what in ("status", "executions") and match["cancel"] is None:
        try:
            return _read(sync, what, execution_id, query)
        finally:
            sync.reads += 1  # a read sees the state, then moves the script one tick on
    if method == "POST" and what == "executions" and execution_id is None:
        return _start(sync, headers.get("idempotency-key"), body)
    if method == "POST" and (what == "cancel" or match["cancel"] is not None):
        return _cancel(sync, execution_id)
    return 404, error_document(404, f"no route for {method} {path}", "not_found")


def _start(sync: EmulatedSync, idempotency_key: str | None, body: Any) -> tuple[int, Any]:
    extra: dict[str, Any] = {}
    if sync.kind == "bulk":
        refused = _bulk_start_problem(body)
        if refused:
            return 400, error_document(400, refused, "bad_request")
        extra = _bulk_start_fields(body)
    execution, started = sync.start(idempotency_key, extra)
    if not started:
        return 409, error_document(409, f"sync is already running (execution {execution.id})", "conflict")
    data = execution_document(sync, execution)
    # A model start answers with the run's id, status and creation time; a bulk start with the whole run.
    return 200, {"data": data if sync.kind == "bulk" else {key: data[key] for key in ("id", "status", "created_at")}}


def _cancel(sync: EmulatedSync, execution_id: str | None) -> tuple[int, Any]:
    target = sync.find(execution_id) if execution_id else sync.running()
    if target is None:
        return 404, error_document(404, "execution not found", "not_found")
    if sync.status_of(target).status not in sync.terminal and target.canceled_at_tick is None:
        target.canceled_at_tick = sync.tick()
    return 200, {"data": {"message": "cancellation requested"}}


def _authenticated(emulator: Account, authorization: str) -> bool:
    scheme, _, credentials = authorization.partition(" ")
    if scheme == "Bearer":
        return credentials in emulator.api_keys
    if scheme == "Basic":
        try:
            organization, _, key = base64.b64decode(credentials).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return emulator.deployment_keys.get(organization) == key
    return False


def _definition(emulator: Account, what: str, item_id: str) -> tuple[int, Any]:
    if what == "connections":
        connection = emulator.connections.get(item_id)
        if connection is None:
            return 404, error_document(404, "connection not found", "not_found")
        return 200, {"data": connection_document(item_id, connection, emulator.organization_id)}
    model = emulator.models.get(item_id)
    if model is None:
        return 404, error_document(404, "model not found", "not_found")
    return 200, {"data": model_document(item_id, model, emulator.organization_id)}


def _read(sync: EmulatedSync, what: str, execution_id: str | None, query: dict[str, list[str]]) -> tuple[int, Any]:
    if what == "status":
        return 200, {"data": status_document(sync)}
    if execution_id is None:
        return _list(sync, query)
    execution = sync.find(execution_id)
    if execution is None:
        return 404, error_document(404, "execution not found", "not_found")
    return 200, {"data": execution_document(sync, execution)}


def _list(sync: EmulatedSync, query: dict[str, list[str]]) -> tuple[int, Any]:
    try:
        limit = min(int(query.get("limit", ["50"])[0]), 100)
        offset = int(query.get("page_token", ["0"])[0])
    except ValueError:
        limit = offset = -1
    if limit < 1 or offset < 0:
        return 400, error_document(400, "limit must be 1 to 100 and page_token one this API returned", "bad_request")
    items = list(reversed(sync.visible()))
    if _flag(query, "ascending"):
        items.reverse()
    if _flag(query, "only_completed") or _flag(query, "only_terminal"):
        items = [item for item in items if sync.status_of(item).status in sync.terminal]
    page = items[offset : offset + limit]
    next_token = str(offset + limit) if offset + limit < len(items) else None
    data = [execution_document(sync, item) for item in page]
    return 200, {"data": data, "pagination": {"next_page_token": next_token}}


def _bulk_start_problem(body: Any) -> str | None:
    """Why Polytomic would answer 400 to this bulk start body (as its SDK documents), or None."""
    if body is None:
        return None
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    if "resync" in body:
        return "resync is no longer accepted: use resync_mode (refetch, resync or rebuild)"
    if body.get("test") and body.get("resync_mode") is not None:
        return "test and resync_mode are mutually exclusive"
    for name, allowed in (("fetch_mode", BULK_FETCH_MODES), ("resync_mode", BULK_RESYNC_MODES)):
        value = body.get(name)
        if value is not None and value not in allowed:
            return f"{name} must be one of {', '.join(sorted(allowed))}"
    return None


def _bulk_start_fields(body: Any) -> dict[str, Any]:
    """What a new bulk run reports about how it was started."""
    body = body or {}
    return {
        "is_test": bool(body.get("test")),
        "fetch_mode": body.get("fetch_mode") or "incremental",
        "is_resync": body.get("resync_mode") is not None,
    }


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[0].lower() in ("1", "true")
