"""The connection's defaults and bounds, as plain data: what :mod:`.config` reads a connection against and what
the connection form (:mod:`airflow_provider_polytomic.connection_form`) tells the user, from one place.

Data only: provider discovery imports the form, so this module imports nothing.
"""

from __future__ import annotations

#: ``X-Polytomic-Version`` when the connection names none, and the shape a named one must have.
DEFAULT_API_VERSION = "2025-09-18"
API_VERSION_PATTERN = r"\d{4}-\d{2}-\d{2}"
#: A request may take 0.1 s to 10 minutes as a whole. Below 0.1 s every request would time out and be retried
#: as if Polytomic were down.
DEFAULT_TIMEOUT = 30.0
MIN_TIMEOUT = 0.1
MAX_TIMEOUT = 600.0
#: Retries of a transient failure, and the first pause (it doubles, with jitter, up to MAX_BACKOFF).
DEFAULT_MAX_RETRIES = 4
MAX_RETRIES = 10
DEFAULT_RETRY_DELAY = 1.0
MAX_RETRY_DELAY = 60.0
MAX_BACKOFF = 30.0
#: Connections one triggerer keeps to Polytomic per route (extra ``max_connections``), shared by its triggers.
DEFAULT_MAX_CONNECTIONS = 64
MAX_CONNECTIONS = 1000
#: Where a sync lives in the Polytomic web app. Unverified by Polytomic's docs, hence overridable per
#: connection (extra ``sync_url_template``).
DEFAULT_SYNC_URL_TEMPLATE = "{base_url}/syncs/{sync_id}"
DEFAULT_BULK_SYNC_URL_TEMPLATE = "{base_url}/bulk/syncs/{sync_id}"
