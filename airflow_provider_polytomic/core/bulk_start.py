"""A bulk sync start's options (``POST /api/bulk/syncs/{id}/executions``), defined once. No I/O.

The protocol builds the start's body from them, the hook takes them as keywords, and the bulk start operator
checks the one rule across them when the DAG is parsed. Light: a DAG file's operator imports this.
"""

from __future__ import annotations

from typing import Any, TypedDict

from airflow_provider_polytomic.core.errors import PolytomicConfigError

FETCH_MODES = ("none", "incremental", "full")
RESYNC_MODES = ("refetch", "resync", "rebuild")
TEST_WITH_RESYNC = (
    "A bulk sync start cannot be both a test run and a resync: Polytomic refuses test=True with a resync_mode "
    "(HTTP 400, mutually exclusive). Drop one of them."
)


class BulkStartOptions(TypedDict, total=False):
    """Options left out or None (and ``test=False``) are not sent, so Polytomic's defaults apply."""

    #: ``"none"``, ``"incremental"`` or ``"full"``.
    fetch_mode: str | None
    #: ``"refetch"``, ``"resync"`` or ``"rebuild"``; not with ``test``.
    resync_mode: str | None
    #: Only these schemas.
    schemas: list[str] | None
    #: A test run.
    test: bool


def conflict(options: BulkStartOptions) -> str | None:
    """Why these options cannot go together, or None: a test run cannot be a resync (Polytomic answers 400)."""
    return TEST_WITH_RESYNC if options.get("test") and options.get("resync_mode") is not None else None


def start_body(options: BulkStartOptions) -> dict[str, Any]:
    """The start's JSON body; :class:`PolytomicConfigError` for a mode Polytomic does not have, or a conflict."""
    fetch_mode, resync_mode = options.get("fetch_mode"), options.get("resync_mode")
    for name, value, allowed in (("fetch_mode", fetch_mode, FETCH_MODES), ("resync_mode", resync_mode, RESYNC_MODES)):
        if value is not None and value not in allowed:
            raise PolytomicConfigError(f"Bulk sync {name} must be one of {', '.join(allowed)}; got {value!r:.40}.")
    refused = conflict(options)
    if refused is not None:
        raise PolytomicConfigError(refused)
    body: dict[str, Any] = {"test": True} if options.get("test") else {}
    if fetch_mode is not None:
        body["fetch_mode"] = fetch_mode
    if resync_mode is not None:
        body["resync_mode"] = resync_mode
    schemas = options.get("schemas")
    if schemas:
        body["schemas"] = list(schemas)
    return body
