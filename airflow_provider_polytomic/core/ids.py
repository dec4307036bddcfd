"""Sync and execution ids: UUIDs, checked strictly before they go into a URL path."""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_polytomic.core.errors import PolytomicInvalidIdError

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def validate_id(value: Any, what: str) -> str:
    """``value`` as a canonical UUID string, or :class:`PolytomicInvalidIdError` naming the bad value.

    Ids go into URL paths, so anything else (``../../api/me``, an empty string, an unrendered template)
    is refused before a request is sent.
    """
    text = value.strip() if isinstance(value, str) else value
    # Strict: uuid.UUID() also takes braces, "urn:" and a "+" or "_" inside (int() reads them), which would make
    # a typo silently address another execution.
    if not isinstance(text, str) or not _UUID.fullmatch(text):
        hint = " It looks like an unrendered template." if isinstance(value, str) and "{{" in value else ""
        raise PolytomicInvalidIdError(
            f"Polytomic {what} must be a UUID such as '248df4b7-aa70-47b8-a036-33ac447e668d', got {value!r:.120}.{hint}"
        )
    return text.lower()
