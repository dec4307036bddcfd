"""The ``polytomic`` connection form, declared once.

``get_provider_info`` turns it into ``conn-fields``/``ui-field-behaviour`` (Airflow >= 3.2 reads those
without importing the hook) and ``PolytomicHook`` into WTForms widgets (Airflow 2.x). Data only: importing
this module costs nothing.
"""

from __future__ import annotations

from typing import Any

#: Connection fields that are stored in the extra JSON, with their JSON schema.
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "api_version": {
        "label": "API version",
        "description": "Sent as X-Polytomic-Version. Leave empty for 2025-09-18.",
        "schema": {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"},
    },
    "timeout": {
        "label": "Request timeout (seconds)",
        "description": "How long one API request may take as a whole. Leave empty for 30 (0.1 to 600).",
        "schema": {"type": ["number", "null"], "minimum": 0.1, "maximum": 600},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries of a request that failed for a transient reason (5xx, 429, network). "
        "Leave empty for 4 (at most 10).",
        "schema": {"type": ["integer", "null"], "minimum": 0, "maximum": 10},
    },
    "retry_delay": {
        "label": "First retry delay (seconds)",
        "description": "Backoff before the first retry; it doubles (with jitter) up to 30. Leave empty for 1.",
        "schema": {"type": ["number", "null"], "minimum": 0, "maximum": 60},
    },
    "verify": {
        "label": "Verify TLS",
        "description": "true (default), false (not recommended), or the path of a CA bundle for an "
        "on-premises install.",
        "schema": {"type": ["string", "null"]},
    },
    "max_connections": {
        "label": "Triggerer connections",
        "description": "Connections one triggerer keeps to Polytomic, shared by all deferred tasks that reach it "
        "the same way. Leave empty for 64.",
        "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 1000},
    },
    "sync_url_template": {
        "label": "Sync page URL template",
        "description": "Where the 'Polytomic sync' link points. Leave empty for {base_url}/syncs/{sync_id}.",
        "schema": {"type": ["string", "null"]},
    },
}

HIDDEN_FIELDS = ("schema", "port", "extra")

RELABELING = {
    "password": "API key",
    "login": "Organization ID (deployment keys only)",
    "host": "Base URL",
}

PLACEHOLDERS = {
    "password": "Polytomic API key, or a deployment key with an organization ID",
    "login": "Leave empty for an API key",
    "host": "https://app.polytomic.com",
    "api_version": "2025-09-18",
    "timeout": "30",
    "max_retries": "4",
    "retry_delay": "1",
    "verify": "true",
    "max_connections": "64",
    "sync_url_template": "{base_url}/syncs/{sync_id}",
}
