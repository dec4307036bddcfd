"""Sample inputs the core's tests share: a client configuration, and connection definitions as Polytomic's API
returns them."""

from __future__ import annotations

from typing import Any

from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.definitions import ConnectionDefinition

#: A secret placed in configurations: it must never reach a name, a facet or a repr.
SECRET = "SECRET-do-not-leak-42"
#: The API key of :func:`client_config`, and a sync id.
KEY = "pk_SECRET_core_0123456789"
SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"


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
