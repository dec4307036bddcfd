"""The JSON documents the emulator answers with, shaped as Polytomic's SDK types. No HTTP here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow_provider_polytomic.testing.script import EmulatedExecution, EmulatedSync, now

#: Every key of a model execution's ``counts``; a run started through the API reports them all.
COUNT_KEYS = ("insert", "update", "delete", "upserts", "error", "warnings", "total")
#: Every key of a bulk execution's schema entry (the SDK's ``BulkSyncSchemaExecution``).
SCHEMA_EXECUTION_KEYS = (
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
)


def rfc3339(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def error_document(status: int, message: str, key: str) -> dict[str, Any]:
    """Polytomic's error body (``RestErrResponse``)."""
    return {"status": status, "message": message, "key": key, "metadata": {}}


def _defined(
    item_id: str, name: str, organization_id: str, created_days_ago: int, updated_days_ago: int
) -> dict[str, Any]:
    """The fields every definition (sync, connection, model) carries."""
    return {
        "id": item_id,
        "name": name,
        "organization_id": organization_id,
        "policies": [],
        "created_at": rfc3339(now() - timedelta(days=created_days_ago)),
        "created_by": None,
        "updated_at": rfc3339(now() - timedelta(days=updated_days_ago)),
        "updated_by": None,
    }


def identity_document(organization_id: str, organization_name: str) -> dict[str, Any]:
    """``GET /api/me`` for the emulator's organization key."""
    return {
        "id": "5b0e7f3c-1a2b-4c5d-8e9f-0a1b2c3d4e5f",
        "email": "airflow@example.com",
        "organization_id": organization_id,
        "organization_name": organization_name,
        "role": "admin",
        "is_user": False,
        "is_organization": True,
        "is_partner": False,
        "is_system": False,
    }


def execution_document(sync: EmulatedSync, execution: EmulatedExecution) -> dict[str, Any]:
    """An execution as Polytomic reports it (the SDK's ``V2ExecutionResponseSchema`` or ``BulkExecution``)."""
    step = sync.status_of(execution)
    body: dict[str, Any] = {
        "id": execution.id,
        "status": step.status,
        "type": execution.type,
        "created_at": rfc3339(execution.created_at),
        "started_at": rfc3339(execution.started_at),
        "completed_at": None if execution.omit_completed_at else rfc3339(execution.completed_at),
    }
    counts = step.counts or {}
    started_through_api = bool(execution.extra.get("started_through_api"))
    if sync.kind == "bulk":
        fields = {key: value for key, value in execution.extra.items() if key != "started_through_api"}
        body.update(
            {
                # A bulk execution has no error list; its status message says what went wrong.
                "status_message": "; ".join(step.errors) if step.errors else None,
                "updated_at": rfc3339(sync.now()),
                "record_count": counts.get("total", 0),
                "error_count": counts.get("error", 0),
                "warning_count": counts.get("warnings", 0),
                "is_partial": False,
                "is_resync": False,
                "is_test": False,
                "fetch_mode": "incremental",
                "output_disposition": None,
                "schemas": [{**dict.fromkeys(SCHEMA_EXECUTION_KEYS), **item} for item in step.schemas or []],
                **fields,
            }
        )
    else:
        # A run started through the API reports every count (zeros until there are some), as Polytomic does.
        body["counts"] = {**dict.fromkeys(COUNT_KEYS, 0), **counts} if started_through_api else counts
        body["errors"] = step.errors
    return body


def sync_definition_document(sync: EmulatedSync, organization_id: str) -> dict[str, Any]:
    """The sync as Polytomic defines it: the SDK's ``ModelSyncV5Response`` or ``BulkSyncResponse``."""
    common = {
        **_defined(sync.id, sync.name, organization_id, 30, 1),
        "active": sync.active,
        "updated_at": rfc3339(sync.updated_at),
    }
    spec = sync.definition
    if sync.kind == "bulk":
        return {
            **common,
            "mode": "replicate",
            "schedule": {"frequency": "manual"},
            "source_connection_id": spec.get("source_connection_id"),
            "destination_connection_id": spec.get("destination_connection_id"),
            "source_configuration": spec.get("source_configuration") or {},
            "destination_configuration": spec.get("destination_configuration") or {},
            "automatically_add_new_fields": "all",
            "automatically_add_new_objects": "all",
            "discover": False,
            "disable_record_timestamps": False,
            "normalize_names": "enabled",
            "data_cutoff_timestamp": None,
            "concurrency_limit": None,
            "resync_concurrency_limit": None,
        }
    target = spec.get("target")
    return {
        **common,
        "mode": "updateOrCreate",
        "schedule": {"frequency": "hourly"},
        "model_ids": list(spec.get("model_ids") or []),
        "target": (
            {
                "connection_id": target.get("connection_id"),
                "object": target.get("object"),
                "configuration": target.get("configuration") or {},
                "new_name": target.get("new_name"),
                "create": None,
                "filter_logic": None,
                "search_values": None,
            }
            if isinstance(target, dict)
            else None
        ),
        "fields": [],
        "filters": [],
        "filter_logic": None,
        "identity": None,
        "identities": None,
        "model_filters": None,
        "target_filters": None,
        "override_fields": [],
        "overrides": [],
        "only_enrich_updates": False,
        "skip_initial_backfill": False,
        "sync_all_records": False,
        "encryption_passphrase": None,
        "problems": [],
    }


def status_document(sync: EmulatedSync) -> dict[str, Any]:
    """``GET /api/syncs/{id}/status``: the running execution and the last finished one."""
    current = sync.running()
    last = sync.last_finished()
    body = {
        "current_execution": execution_document(sync, current) if current else None,
        "last_execution": execution_document(sync, last) if last else None,
        "next_execution_time": rfc3339(sync.now() + timedelta(hours=1)),
    }
    if sync.kind == "bulk":
        body["ingestion_status"] = None
    return body


def connection_document(connection_id: str, spec: dict[str, Any], organization_id: str) -> dict[str, Any]:
    """A connection as the SDK's ``ConnectionResponseSchema`` has it (``type`` is an object)."""
    type_id = str(spec.get("type", "api"))
    return {
        **_defined(connection_id, spec.get("name", "Emulated connection"), organization_id, 60, 2),
        "configuration": dict(spec.get("configuration") or {}),
        "type": {
            "id": type_id,
            "name": type_id.replace("_", " ").title(),
            "logo_url": None,
            "operations": ["source", "target"],
        },
        "status": "healthy",
        "status_error": None,
        "saved": True,
        "parent_connection_id": None,
        "api_calls_last_24_hours": None,
    }


def model_document(model_id: str, spec: dict[str, Any], organization_id: str) -> dict[str, Any]:
    """A model as the SDK's ``ModelResponse`` has it."""
    configuration = dict(spec.get("configuration") or {})
    return {
        **_defined(model_id, spec.get("name", "Emulated model"), organization_id, 60, 2),
        "configuration": configuration,
        "connection_id": spec.get("connection_id"),
        "type": "table" if "table" in configuration else "query",
        "fields": [],
        "relations": [],
        "labels": [],
        "identifier": None,
        "tracking_columns": [],
        "enricher": None,
        "version": 1,
    }
