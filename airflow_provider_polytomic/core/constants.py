"""Names DAG files need at parse time, in a module that imports nothing heavy.

The sensor and operators import only this at module level; the rest of the core (and ``requests``,
``dateutil``, ``tenacity``) loads when a task runs, so the DAG processor does not pay for it.
"""

from __future__ import annotations

import enum

DEFAULT_CONN_ID = "polytomic_default"


class SyncKind(str, enum.Enum):
    """Model syncs (``/api/syncs``: reverse ETL) and bulk syncs (``/api/bulk/syncs``: ELT)."""

    MODEL = "model"
    BULK = "bulk"

    @property
    def api_prefix(self) -> str:
        return "/api/bulk/syncs" if self is SyncKind.BULK else "/api/syncs"
