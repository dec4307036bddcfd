"""What a sync reads and writes, as Polytomic defines it: the sync, bulk sync, model and connection definitions
(for lineage and for naming syncs in messages), and the calls that read them. No I/O.

Configurations may hold secrets: they are kept whole here only for :mod:`.dataset_names` to pick identifying keys
from, and never logged or put into a summary or facet.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.ids import validate_id
from airflow_provider_polytomic.core.protocol import ApiCall
from airflow_provider_polytomic.core.values import PayloadError, json_object, truncate

#: Longest name or identifier kept from a definition (sync, model, connection, object names).
MAX_NAME_CHARS = 300


def _text(payload: dict[str, Any], key: str, limit: int = MAX_NAME_CHARS) -> str | None:
    """A non-empty string member, cut to ``limit``; anything else (missing, null, a number) is None."""
    value = payload.get(key)
    return truncate(value, limit) if isinstance(value, str) and value.strip() else None


D = TypeVar("D")


def _read_fields(cls: type[D], payload: Any, what: str) -> D:
    """A definition whose fields are all plain: ``id`` and ``*_id`` are ids, ``*configuration`` objects, the
    rest names. Fields the payload lacks (or has in another type) are None, or ``{}`` for a configuration."""
    payload = json_object(payload, what)
    values: dict[str, Any] = {}
    for item in fields(cls):  # type: ignore[arg-type]
        if item.name.endswith("configuration"):
            values[item.name] = _configuration(payload, item.name)
        elif item.name == "id":
            values[item.name] = _text(payload, "id", 64) or ""
        else:
            values[item.name] = _text(payload, item.name, 64 if item.name.endswith("_id") else MAX_NAME_CHARS)
    return cls(**values)


def _configuration(payload: dict[str, Any], key: str) -> dict[str, Any]:
    """A configuration object (may hold secrets: never logged, never put into a summary or facet as a whole)."""
    value = payload.get(key)
    if value is None:
        return {}
    return dict(json_object(value, key))


@dataclass(frozen=True)
class SyncTarget:
    """Where a model sync writes: the SDK's ``ModelSyncV5Target``."""

    connection_id: str
    object: str | None = None
    new_name: str | None = None
    configuration: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, payload: Any) -> SyncTarget:
        target = _read_fields(cls, payload, "target")
        if not target.connection_id:
            raise PayloadError("the sync's target has no connection_id")
        return target


@dataclass(frozen=True)
class ModelSyncDefinition:
    """``GET /api/syncs/{id}``: the SDK's ``ModelSyncV5Response`` (the fields this provider reads)."""

    id: str
    name: str | None = None
    model_ids: tuple[str, ...] = ()
    target: SyncTarget | None = None

    @classmethod
    def from_api(cls, payload: Any) -> ModelSyncDefinition:
        payload = json_object(payload, "sync")
        model_ids = payload.get("model_ids") or []
        if not isinstance(model_ids, list):
            raise PayloadError("the sync's model_ids should be a list")
        target = payload.get("target")
        return cls(
            id=_text(payload, "id", 64) or "",
            name=_text(payload, "name"),
            model_ids=tuple(str(item) for item in model_ids if isinstance(item, str) and item),
            target=SyncTarget.from_api(target) if target else None,
        )


@dataclass(frozen=True)
class ModelDefinition:
    """``GET /api/models/{id}``: the SDK's ``ModelResponse``; ``configuration`` names a table or holds a query."""

    id: str
    name: str | None = None
    connection_id: str | None = None
    configuration: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, payload: Any) -> ModelDefinition:
        return _read_fields(cls, payload, "model")


@dataclass(frozen=True)
class ConnectionDefinition:
    """``GET /api/connections/{id}``: the SDK's ``ConnectionResponseSchema``.

    ``type`` is an object there (``{"id": "snowflake", "name": "Snowflake", ...}``); a bare string is read too.
    ``configuration`` may hold secrets: only :mod:`airflow_provider_polytomic.core.dataset_names` reads it, and only
    the keys it knows to be identifying.
    """

    id: str
    type_id: str
    name: str | None = None
    type_name: str | None = None
    configuration: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, payload: Any) -> ConnectionDefinition:
        payload = json_object(payload, "connection")
        kind = payload.get("type")
        if isinstance(kind, dict):
            type_id, type_name = _text(kind, "id", 64), _text(kind, "name")
        else:
            type_id, type_name = (truncate(kind, 64) if isinstance(kind, str) and kind.strip() else None), None
        return cls(
            id=_text(payload, "id", 64) or "",
            type_id=(type_id or "unknown").strip().lower(),
            name=_text(payload, "name"),
            type_name=type_name,
            configuration=_configuration(payload, "configuration"),
        )


@dataclass(frozen=True)
class BulkSyncDefinition:
    """``GET /api/bulk/syncs/{id}``: the SDK's ``BulkSyncResponse`` (the fields this provider reads)."""

    id: str
    name: str | None = None
    source_connection_id: str | None = None
    destination_connection_id: str | None = None
    source_configuration: dict[str, Any] = field(default_factory=dict, repr=False)
    destination_configuration: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, payload: Any) -> BulkSyncDefinition:
        return _read_fields(cls, payload, "bulk sync")


def get_sync_definition(sync_id: str) -> ApiCall[ModelSyncDefinition]:
    """``GET /api/syncs/{id}``: the model sync's name, models and target."""
    sync_id = validate_id(sync_id, "sync id")
    return ApiCall("GET", f"{SyncKind.MODEL.api_prefix}/{sync_id}", ModelSyncDefinition.from_api, sync_id=sync_id)


def get_bulk_sync_definition(sync_id: str) -> ApiCall[BulkSyncDefinition]:
    """``GET /api/bulk/syncs/{id}``: the bulk sync's name, source and destination."""
    sync_id = validate_id(sync_id, "sync id")
    return ApiCall("GET", f"{SyncKind.BULK.api_prefix}/{sync_id}", BulkSyncDefinition.from_api, sync_id=sync_id)


def get_model(model_id: str) -> ApiCall[ModelDefinition]:
    """``GET /api/models/{id}``: the model's connection and configuration (a table or a query)."""
    model_id = validate_id(model_id, "model id")
    return ApiCall("GET", f"/api/models/{model_id}", ModelDefinition.from_api)


def get_connection(connection_id: str) -> ApiCall[ConnectionDefinition]:
    """``GET /api/connections/{id}``: the connection's type and configuration."""
    connection_id = validate_id(connection_id, "connection id")
    return ApiCall("GET", f"/api/connections/{connection_id}", ConnectionDefinition.from_api)
