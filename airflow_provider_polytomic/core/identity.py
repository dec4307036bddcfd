"""Who an API key belongs to: ``GET /api/me``, which the connection's Test button calls. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_polytomic.core.protocol import ApiCall
from airflow_provider_polytomic.core.values import json_object


@dataclass(frozen=True)
class Identity:
    """Who an API key belongs to (``GET /api/me``)."""

    id: str | None
    email: str | None
    organization_id: str | None
    organization_name: str | None
    role: str | None

    @classmethod
    def from_api(cls, payload: Any) -> Identity:
        payload = json_object(payload, "identity")

        def text(key: str) -> str | None:
            value = payload.get(key)
            return value if isinstance(value, str) else None

        return cls(
            id=text("id"),
            email=text("email"),
            organization_id=text("organization_id"),
            organization_name=text("organization_name"),
            role=text("role"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "organization_id": self.organization_id,
            "organization_name": self.organization_name,
            "role": self.role,
        }


def get_identity() -> ApiCall[Identity]:
    """``GET /api/me``: the key's own user and organization, no third party's secrets (its answers may be quoted)."""
    return ApiCall("GET", "/api/me", Identity.from_api, quotable=True)
