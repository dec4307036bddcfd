"""The ``polytomic`` connection form, declared once.

``get_provider_info`` turns it into ``conn-fields``/``ui-field-behaviour`` (Airflow >= 3.2 reads those
without importing the hook) and ``PolytomicHook`` into WTForms widgets (Airflow 2.x). Its defaults and bounds
are those the connection is read against (:mod:`airflow_provider_polytomic.core.defaults`), so the form never
states one the connection does not keep. Data only: importing this module costs nothing.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_polytomic.core.defaults import (
    API_VERSION_PATTERN,
    DEFAULT_API_VERSION,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_DELAY,
    DEFAULT_SYNC_URL_TEMPLATE,
    DEFAULT_TIMEOUT,
    MAX_BACKOFF,
    MAX_CONNECTIONS,
    MAX_RETRIES,
    MAX_RETRY_DELAY,
    MAX_TIMEOUT,
    MIN_TIMEOUT,
)

#: Connection fields that are stored in the extra JSON, with their JSON schema.
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "api_version": {
        "label": "API version",
        "description": f"Sent as X-Polytomic-Version. Leave empty for {DEFAULT_API_VERSION}.",
        "schema": {"type": ["string", "null"], "pattern": f"^{API_VERSION_PATTERN}$"},
    },
    "timeout": {
        "label": "Request timeout (seconds)",
        "description": "How long one API request may take as a whole. "
        f"Leave empty for {DEFAULT_TIMEOUT:g} ({MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}).",
        "schema": {"type": ["number", "null"], "minimum": MIN_TIMEOUT, "maximum": MAX_TIMEOUT},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries of a request that failed for a transient reason (5xx, 429, network). "
        f"Leave empty for {DEFAULT_MAX_RETRIES} (at most {MAX_RETRIES}).",
        "schema": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_RETRIES},
    },
    "retry_delay": {
        "label": "First retry delay (seconds)",
        "description": f"Backoff before the first retry; it doubles (with jitter) up to {MAX_BACKOFF:g}. "
        f"Leave empty for {DEFAULT_RETRY_DELAY:g}.",
        "schema": {"type": ["number", "null"], "minimum": 0, "maximum": MAX_RETRY_DELAY},
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
        f"the same way. Leave empty for {DEFAULT_MAX_CONNECTIONS}.",
        "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_CONNECTIONS},
    },
    "sync_url_template": {
        "label": "Sync page URL template",
        "description": f"Where the 'Polytomic sync' link points. Leave empty for {DEFAULT_SYNC_URL_TEMPLATE}.",
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
    "api_version": DEFAULT_API_VERSION,
    "timeout": f"{DEFAULT_TIMEOUT:g}",
    "max_retries": f"{DEFAULT_MAX_RETRIES}",
    "retry_delay": f"{DEFAULT_RETRY_DELAY:g}",
    "verify": "true",
    "max_connections": f"{DEFAULT_MAX_CONNECTIONS}",
    "sync_url_template": DEFAULT_SYNC_URL_TEMPLATE,
}
