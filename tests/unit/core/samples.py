"""Sample inputs the core's tests share: a client configuration, executions and connection definitions as
Polytomic's API returns them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.definitions import ConnectionDefinition
from airflow_provider_polytomic.core.models import Execution

#: A secret placed in configurations: it must never reach a name, a facet or a repr.
SECRET = "SECRET-do-not-leak-42"
#: The API key of :func:`client_config`, and a sync id.
KEY = "pk_SECRET_core_0123456789"
SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"
#: Two execution ids, and the instant the sample executions are created at.
A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
T0 = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def execution(execution_id: str, status: str, created: datetime = T0, **more: Any) -> Execution:
    """An execution as the API reports it, created at ``created``; ``more`` adds or replaces members."""
    return Execution.from_api({"id": execution_id, "status": status, "created_at": created.isoformat(), **more})


def client_config(**kwargs: object) -> ClientConfig:
    """Connection ``my_conn`` with the key :data:`KEY`; keyword arguments replace its fields."""
    fields: dict[str, object] = {"host": None, "login": None, "password": KEY, "extra": {}}
    fields.update(kwargs)
    return ClientConfig.from_connection("my_conn", **fields)  # type: ignore[arg-type]


def connection(
    type_id: str, connection_id: str = "c0ffee00-0000-4000-8000-000000000001", **configuration: Any
) -> ConnectionDefinition:
    return ConnectionDefinition.from_api(
        {
            "id": connection_id,
            "name": type_id.title(),
            "type": {"id": type_id, "name": type_id.title()},
            "configuration": configuration,
        }
    )
