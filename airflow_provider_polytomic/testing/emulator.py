"""A local Polytomic API emulator: a real HTTP server on 127.0.0.1 with scripted syncs and injected faults.

It speaks the sync endpoints as ``shared/polytomic-api/FACTS.md`` describes them, so DAGs and tests can run
offline. Standard library only.

A sync's executions are scripted as steps. With ``clock="polls"`` (default) each read of the sync (status,
one execution, or the execution list) moves it one tick: a step with ``polls=3`` is what the next three
reads see. With ``clock="seconds"`` steps last ``seconds`` of wall-clock time instead. An execution can
``appear_after`` some ticks, like a scheduled run that starts while a sensor waits.

The scenario format (and what ``add_sync`` / ``add_fault`` take) is the JSON Schema ``scenario.schema.json``
beside this file; a scenario that breaks it is refused with a :class:`ScenarioError` naming the key.
"""

from __future__ import annotations

import base64
import errno
import functools
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_polytomic.testing.scenario import ScenarioError, validate

#: What Polytomic assumes, and echoes in ``X-Polytomic-Version``, when a request does not say.
UNVERSIONED_API_VERSION = "2021-05-23"
CLOCKS = frozenset({"polls", "seconds"})
SYNC_KINDS = frozenset({"model", "bulk"})
FAULT_KINDS = frozenset({"status", "delay", "drop", "malformed", "truncated", "body", "unknown_status"})
UNKNOWN_STATUS = "rebalancing"
TERMINAL_MODEL_STATUSES = frozenset({"completed", "failed", "canceled", "interrupted"})
TERMINAL_BULK_STATUSES = TERMINAL_MODEL_STATUSES | {"errors"}
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
#: The keys of a scenario's sync that make up its definition.
DEFINITION_KEYS = (
    "model_ids",
    "target",
    "source_connection_id",
    "destination_connection_id",
    "source_configuration",
    "destination_configuration",
)
BULK_FETCH_MODES = frozenset({"none", "incremental", "full"})
BULK_RESYNC_MODES = frozenset({"refetch", "resync", "rebuild"})
_RUNNING_COUNTS = {"insert": 10, "update": 0, "delete": 0, "upserts": 0, "error": 0, "warnings": 0, "total": 10}
_DONE_COUNTS = {"insert": 20, "update": 5, "delete": 0, "upserts": 0, "error": 0, "warnings": 0, "total": 25}
#: A run started through the API, by kind: a new model run is queued, a new bulk run created (bulk runs are
#: never ``queued``).
DEFAULT_RUN_STEPS: dict[str, tuple[dict[str, Any], ...]] = {
    kind: (
        {"status": first, "polls": 1, "seconds": 1.0},
        {"status": "running", "polls": 2, "seconds": 2.0, "counts": _RUNNING_COUNTS},
        {"status": "completed", "counts": _DONE_COUNTS},
    )
    for kind, first in (("model", "queued"), ("bulk", "created"))
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _rfc3339(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass
class Step:
    """One stage of an execution: its status and what it reports, for ``polls`` reads or ``seconds``."""

    status: str
    polls: int = 1
    seconds: float = 1.0
    counts: dict[str, int] | None = None
    errors: list[str] | None = None
    #: Bulk syncs: the per-schema entries (``schema``, ``status``, ``record_count``, ``error_count``, ...).
    schemas: list[dict[str, Any]] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(
            status=str(data["status"]),
            polls=int(data.get("polls", 1)),
            seconds=float(data.get("seconds", 1.0)),
            counts=dict(data["counts"]) if data.get("counts") is not None else None,
            errors=list(data["errors"]) if data.get("errors") is not None else None,
            schemas=[dict(item) for item in data["schemas"]] if data.get("schemas") is not None else None,
        )


@dataclass
class EmulatedExecution:
    """An execution and its script. Timestamps are filled in as the script reaches each stage."""

    id: str
    steps: list[Step]
    type: str = "manual"
    appear_after: float = 0
    created_ago: float | None = None  # seconds; for runs that happened before the emulator started
    canceled_at_tick: float | None = None
    appeared_at_tick: float | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], kind: str = "model") -> EmulatedExecution:
        steps = [Step.from_dict(step) for step in data.get("steps") or DEFAULT_RUN_STEPS[kind]]
        return cls(
            id=str(data.get("id") or uuid.uuid4()),
            steps=steps,
            type=str(data.get("type", "manual")),
            appear_after=float(data.get("appear_after", 0)),
            created_ago=float(data["created_ago"]) if data.get("created_ago") is not None else None,
        )

    def step_at(self, age: float, clock: str) -> Step:
        """The step the script is at ``age`` ticks after it appeared (the last step sticks)."""
        elapsed = 0.0
        for step in self.steps:
            elapsed += step.polls if clock == "polls" else step.seconds
            if age < elapsed:
                return step
        return self.steps[-1]


@dataclass
class EmulatedSync:
    """A model (``kind="model"``) or bulk (``kind="bulk"``) sync and its scripted executions."""

    id: str
    name: str = "Emulated sync"
    kind: str = "model"
    clock: str = "polls"
    executions: list[EmulatedExecution] = field(default_factory=list)
    run_steps: list[Step] = field(default_factory=list)
    reads: int = 0
    started: float = field(default_factory=time.monotonic)
    idempotency: dict[str, str] = field(default_factory=dict)
    #: The definition (``GET /api/syncs/{id}``, ``GET /api/bulk/syncs/{id}``): model syncs read ``model_ids``
    #: and ``target``; bulk syncs the source and destination connections and configurations.
    definition: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "sync") -> EmulatedSync:
        validate(dict(data), "sync", where)
        kind = str(data.get("kind", "model"))
        sync = cls(
            id=str(data.get("id") or uuid.uuid4()),
            name=str(data.get("name", "Emulated sync")),
            kind=kind,
            clock=str(data.get("clock", "polls")),
            executions=[EmulatedExecution.from_dict(item, kind) for item in data.get("executions", [])],
            definition={key: data[key] for key in DEFINITION_KEYS if key in data},
        )
        sync.run_steps = [Step.from_dict(step) for step in data.get("run_steps") or DEFAULT_RUN_STEPS[kind]]
        if sync.kind not in SYNC_KINDS or sync.clock not in CLOCKS:
            raise ScenarioError(
                f"sync {sync.id}: kind must be one of {sorted(SYNC_KINDS)}, clock one of {sorted(CLOCKS)}"
            )
        return sync

    @property
    def terminal(self) -> frozenset[str]:
        return TERMINAL_BULK_STATUSES if self.kind == "bulk" else TERMINAL_MODEL_STATUSES

    def tick(self) -> float:
        return float(self.reads) if self.clock == "polls" else time.monotonic() - self.started

    def visible(self) -> list[EmulatedExecution]:
        """Executions that exist by now, oldest ``created_at`` first, their stage timestamps brought up to date."""
        now_tick = self.tick()
        seen = []
        for execution in self.executions:
            if execution.appeared_at_tick is None:
                if now_tick < execution.appear_after:
                    continue
                execution.appeared_at_tick = execution.appear_after
                if execution.created_ago is not None:
                    execution.created_at = _now() - timedelta(seconds=execution.created_ago)
                else:
                    execution.created_at = _now()
            self._update(execution, now_tick)
            seen.append(execution)
        # Scenario order is not time order once ``created_ago`` or ``appear_after`` is used.
        seen.sort(key=lambda item: item.created_at or _now())
        return seen

    def status_of(self, execution: EmulatedExecution) -> Step:
        appeared = execution.appeared_at_tick or 0
        if execution.canceled_at_tick is not None:
            done = self.tick() > execution.canceled_at_tick
            reached = execution.step_at(execution.canceled_at_tick - appeared, self.clock)  # keeps its counts
            return Step(status="canceled" if done else "canceling", counts=reached.counts, errors=reached.errors)
        if execution.created_ago is not None:
            return execution.steps[-1]  # a run from the past has finished its script
        return execution.step_at(self.tick() - appeared, self.clock)

    def _update(self, execution: EmulatedExecution, now_tick: float) -> None:
        step = self.status_of(execution)
        if step.status not in ("created", "scheduled", "queued", "waiting") and execution.started_at is None:
            execution.started_at = execution.created_at
        if step.status in self.terminal and execution.completed_at is None:
            execution.completed_at = _now() if execution.created_ago is None else execution.created_at

    def running(self) -> EmulatedExecution | None:
        active = [item for item in self.visible() if self.status_of(item).status not in self.terminal]
        return active[-1] if active else None

    def last_finished(self) -> EmulatedExecution | None:
        finished = [item for item in self.visible() if self.status_of(item).status in self.terminal]
        return max(finished, key=lambda item: item.completed_at or _now(), default=None)

    def find(self, execution_id: str) -> EmulatedExecution | None:
        return next((item for item in self.visible() if item.id == execution_id), None)

    def start(
        self, idempotency_key: str | None, extra: Mapping[str, Any] | None = None
    ) -> tuple[EmulatedExecution, bool]:
        """A new execution (or the one this key already started); ``False`` when one is already running.

        ``extra``: bulk execution fields the start body decides (``is_test``, ``fetch_mode``, ``is_resync``).
        """
        if idempotency_key and idempotency_key in self.idempotency:
            existing = self.find(self.idempotency[idempotency_key])
            if existing is not None:
                return existing, True
        if self.running() is not None:
            return self.running(), False  # type: ignore[return-value]
        execution = EmulatedExecution(id=str(uuid.uuid4()), steps=list(self.run_steps), appear_after=self.tick())
        execution.extra.update(extra or {})
        execution.extra["started_through_api"] = True
        self.executions.append(execution)
        self.visible()
        if idempotency_key:
            self.idempotency[idempotency_key] = execution.id
        return execution, True

    # -- JSON ---------------------------------------------------------------------------------------------

    def execution_json(self, execution: EmulatedExecution) -> dict[str, Any]:
        step = self.status_of(execution)
        body: dict[str, Any] = {
            "id": execution.id,
            "status": step.status,
            "type": execution.type,
            "created_at": _rfc3339(execution.created_at),
            "started_at": _rfc3339(execution.started_at),
            "completed_at": _rfc3339(execution.completed_at),
        }
        counts = step.counts or {}
        started_through_api = bool(execution.extra.get("started_through_api"))
        if self.kind == "bulk":
            fields = {key: value for key, value in execution.extra.items() if key != "started_through_api"}
            body.update(
                {
                    # A bulk execution has no error list; its status message says what went wrong.
                    "status_message": "; ".join(step.errors) if step.errors else None,
                    "updated_at": _rfc3339(_now()),
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

    def definition_json(self, organization_id: str) -> dict[str, Any]:
        """The sync as Polytomic defines it: the SDK's ``ModelSyncV5Response`` or ``BulkSyncResponse``."""
        common = {
            "id": self.id,
            "name": self.name,
            "active": True,
            "organization_id": organization_id,
            "policies": [],
            "created_at": _rfc3339(_now() - timedelta(days=30)),
            "created_by": None,
            "updated_at": _rfc3339(_now() - timedelta(days=1)),
            "updated_by": None,
        }
        spec = self.definition
        if self.kind == "bulk":
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

    def status_json(self) -> dict[str, Any]:
        current = self.running()
        last = self.last_finished()
        body = {
            "current_execution": self.execution_json(current) if current else None,
            "last_execution": self.execution_json(last) if last else None,
            "next_execution_time": _rfc3339(_now() + timedelta(hours=1)),
        }
        if self.kind == "bulk":
            body["ingestion_status"] = None
        return body


@dataclass
class Fault:
    """Something going wrong on purpose, for requests whose method and path (a regex, whole path) match.

    ``requests`` lists which matching requests (1 = the first) are hit; empty means all of them. Each fault
    counts the requests it matches on its own; when several hit one request, the first one listed wins.
    Kinds: ``status`` (answer ``status`` with Polytomic's error body, ``Retry-After`` if
    ``retry_after``), ``delay`` (sleep ``seconds`` then answer normally), ``drop`` (close the connection
    without an answer), ``malformed`` (200 with a body that is not JSON), ``truncated`` (a 200 whose body
    stops short of its Content-Length), ``body`` (200 with ``body`` as the JSON document),
    ``unknown_status`` (answer normally, but every execution ``status`` in the document becomes ``body`` if
    it is a string, else ``"rebalancing"``: a status Polytomic does not document).
    """

    kind: str
    path: str = ".*"
    method: str = "GET"
    requests: list[int] = field(default_factory=list)
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    body: Any = None
    seen: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ScenarioError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        return cls(
            kind=str(data["kind"]),
            path=str(data.get("path", ".*")),
            method=str(data.get("method", "GET")).upper(),
            requests=[int(item) for item in data.get("requests", [])],
            status=int(data.get("status", 500)),
            retry_after=str(data["retry_after"]) if data.get("retry_after") is not None else None,
            seconds=float(data.get("seconds", 0.0)),
            body=data.get("body"),
        )

    def hits(self, method: str, path: str) -> bool:
        if method != self.method or not re.fullmatch(self.path, path):
            return False
        self.seen += 1
        return not self.requests or self.seen in self.requests


@dataclass(frozen=True)
class RecordedRequest:
    """A request the emulator received; ``headers`` has the credentials redacted.

    Requests are logged as they arrive. ``status`` is what the emulator answered: ``None`` while the answer is
    still pending (a ``delay`` fault) or when the connection was dropped without one.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int | None
    #: ``time.monotonic()`` when the request arrived: the pause between two requests shows a client's backoff.
    at: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops connections when many clients start at once
    emulator: PolytomicEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away (it timed out on a delay fault): nothing to report
        super().handle_error(request, client_address)


# /api[/bulk]/syncs/{id}, .../status, .../cancel, .../executions, .../executions/{id}, .../executions/{id}/cancel
_SYNC_PATH = re.compile(
    r"^/api/(?P<bulk>bulk/)?syncs/(?P<sync>[^/]+)"
    r"(?:/(?P<what>status|cancel)|/(?P<executions>executions)(?:/(?P<execution>[^/]+)(?:/(?P<cancel>cancel))?)?)?$"
)


# /api/connections/{id}, /api/models/{id}
_DEFINITION_PATH = re.compile(r"^/api/(?P<what>connections|models)/(?P<id>[^/]+)$")


class PolytomicEmulator:
    """The emulator. Use it as a context manager, or ``start()``/``stop()`` it; it serves in a thread.

    >>> with PolytomicEmulator() as emulator:
    ...     sync = emulator.add_sync(executions=[{"steps": [{"status": "running", "polls": 2},
    ...                                                     {"status": "completed"}]}])
    ...     # point a connection at emulator.url with password emulator.api_key
    """

    def __init__(
        self,
        scenario: Mapping[str, Any] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "emulator-api-key",
    ) -> None:
        scenario = scenario or {}
        self.host = host
        self.port = port
        self.api_keys = set(scenario.get("api_keys") or [api_key])
        self.api_key = next(iter(sorted(self.api_keys)))
        organization = scenario.get("organization") or {}
        self.organization_id = str(organization.get("id", "0a7d1b52-7d43-4c3b-9d8e-3f0f4c1e2a10"))
        self.organization_name = str(organization.get("name", "Emulated Organization"))
        self.deployment_keys: dict[str, str] = dict(scenario.get("deployment_keys") or {})
        self.syncs: dict[str, EmulatedSync] = {}
        #: ``GET /api/connections/{id}`` and ``GET /api/models/{id}``, by id, as the scenario gives them.
        self.connections: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        validate(scenario)
        self.faults: list[Fault] = [Fault.from_dict(item) for item in scenario.get("faults", [])]
        self.requests: list[RecordedRequest] = []
        self.lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        for index, item in enumerate(scenario.get("syncs", [])):
            self._add(EmulatedSync.from_dict(item, f"scenario.syncs[{index}]"))
        for item in scenario.get("connections", []):
            self.connections[str(item.get("id") or uuid.uuid4())] = {**item}
        for item in scenario.get("models", []):
            self.models[str(item.get("id") or uuid.uuid4())] = {**item}

    # -- set-up -------------------------------------------------------------------------------------------

    def add_sync(self, **spec: Any) -> EmulatedSync:
        """Add a sync from the same keys a scenario file uses (``id``, ``name``, ``kind``, ``clock``, ...)."""
        return self._add(EmulatedSync.from_dict(spec))

    def _add(self, sync: EmulatedSync) -> EmulatedSync:
        with self.lock:
            self.syncs[sync.id] = sync
        return sync

    def add_connection(self, **spec: Any) -> str:
        """Add a connection (``id``, ``name``, ``type``, ``configuration``) that ``GET /api/connections/{id}``
        serves; returns its id."""
        validate(spec, "connection", "connection")
        connection_id = str(spec.get("id") or uuid.uuid4())
        with self.lock:
            self.connections[connection_id] = {**spec, "id": connection_id}
        return connection_id

    def add_model(self, **spec: Any) -> str:
        """Add a model (``id``, ``name``, ``connection_id``, ``configuration``) that ``GET /api/models/{id}``
        serves; returns its id."""
        validate(spec, "model", "model")
        model_id = str(spec.get("id") or uuid.uuid4())
        with self.lock:
            self.models[model_id] = {**spec, "id": model_id}
        return model_id

    def add_fault(self, kind: str, **spec: Any) -> Fault:
        """Add a fault from the same keys a scenario file uses (``path``, ``method``, ``requests``, ...)."""
        document = {"kind": kind, **spec}
        validate(document, "fault", "fault")
        fault = Fault.from_dict(document)
        with self.lock:
            self.faults.append(fault)
        return fault

    def requests_to(self, path_pattern: str, method: str = "GET") -> list[RecordedRequest]:
        with self.lock:
            return [item for item in self.requests if item.method == method and re.fullmatch(path_pattern, item.path)]

    # -- life ---------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def describe(self) -> list[str]:
        """One line per sync it serves: kind, id, name, and what its executions will do."""
        lines = []
        with self.lock:
            for sync in self.syncs.values():
                scripted = ", ".join(
                    f"{execution.id} ({' -> '.join(step.status for step in execution.steps)})"
                    for execution in sync.executions
                )
                lines.append(
                    f"{sync.kind} sync {sync.id} {sync.name!r}: "
                    + (f"executions {scripted}" if scripted else "no executions yet")
                    + f"; a run started through the API goes {' -> '.join(step.status for step in sync.run_steps)}"
                )
        return lines

    def start(self) -> PolytomicEmulator:
        try:
            server = _Server((self.host, self.port), _Handler)
        except OSError as error:
            why = "another process is using that port (pick another one, or 0 for a free one)"
            if error.errno != errno.EADDRINUSE:
                why = error.strerror or str(error)
            raise OSError(
                error.errno, f"The Polytomic emulator cannot listen on {self.host}:{self.port}: {why}."
            ) from error
        server.emulator = self
        self._server = server
        # A short poll interval: stop() waits for the serving loop to notice, once per test.
        serve = functools.partial(server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name="polytomic-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> PolytomicEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def connection_uri(self) -> str:
        """An Airflow connection (JSON form) pointing at this emulator."""
        return json.dumps({"conn_type": "polytomic", "host": self.url, "password": self.api_key})

    # -- serving ------------------------------------------------------------------------------------------

    def authenticated(self, authorization: str) -> bool:
        scheme, _, credentials = authorization.partition(" ")
        if scheme == "Bearer":
            return credentials in self.api_keys
        if scheme == "Basic":
            try:
                organization, _, key = base64.b64decode(credentials).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return self.deployment_keys.get(organization) == key
        return False

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str], body: Any
    ) -> tuple[int, Any]:
        headers = {name.lower(): value for name, value in headers.items()}  # header names are case-insensitive
        if not self.authenticated(headers.get("authorization", "")):
            return 401, _error(401, "unauthorized: the API key is missing or not valid", "unauthorized")
        if path == "/api/me" and method == "GET":
            return 200, {
                "data": {
                    "id": "5b0e7f3c-1a2b-4c5d-8e9f-0a1b2c3d4e5f",
                    "email": "airflow@example.com",
                    "organization_id": self.organization_id,
                    "organization_name": self.organization_name,
                    "role": "admin",
                    "is_user": False,
                    "is_organization": True,
                    "is_partner": False,
                    "is_system": False,
                }
            }
        definition = _DEFINITION_PATH.match(path)
        if definition and method == "GET":
            return self._definition(definition["what"], definition["id"])
        match = _SYNC_PATH.match(path)
        if not match:
            return 404, _error(404, f"no route for {method} {path}", "not_found")
        sync = self.syncs.get(match["sync"])
        kind = "bulk" if match["bulk"] else "model"
        if sync is None or sync.kind != kind:
            return 404, _error(404, f"{kind} sync not found", "not_found")
        what, execution_id = match["what"] or match["executions"], match["execution"]
        if method == "GET" and what is None:
            return 200, {"data": sync.definition_json(self.organization_id)}
        if method == "GET" and what in ("status", "executions") and match["cancel"] is None:
            try:
                return self._read(sync, what, execution_id, query)
            finally:
                sync.reads += 1  # a read sees the state, then moves the script one tick on
        if method == "POST":
            if what == "executions" and execution_id is None:
                extra: dict[str, Any] = {}
                if kind == "bulk":
                    refused = _bulk_start_problem(body)
                    if refused:
                        return 400, _error(400, refused, "bad_request")
                    extra = _bulk_start_fields(body)
                key = headers.get("idempotency-key")
                execution, started = sync.start(key, extra)
                if not started:
                    return 409, _error(409, f"sync is already running (execution {execution.id})", "conflict")
                data = sync.execution_json(execution)
                return 200, {
                    "data": data if kind == "bulk" else {key: data[key] for key in ("id", "status", "created_at")}
                }
            if what == "cancel" or match["cancel"] is not None:
                target = sync.find(str(execution_id)) if execution_id else sync.running()
                if target is None:
                    return 404, _error(404, "execution not found", "not_found")
                if sync.status_of(target).status not in sync.terminal and target.canceled_at_tick is None:
                    target.canceled_at_tick = sync.tick()
                return 200, {"data": {"message": "cancellation requested"}}
        return 404, _error(404, f"no route for {method} {path}", "not_found")

    def _definition(self, what: str, item_id: str) -> tuple[int, Any]:
        """A connection (the SDK's ``ConnectionResponseSchema``, ``type`` an object) or a model (``ModelResponse``)."""
        spec = (self.connections if what == "connections" else self.models).get(item_id)
        if spec is None:
            return 404, _error(404, f"{what[:-1]} not found", "not_found")
        common = {
            "id": item_id,
            "name": spec.get("name", f"Emulated {what[:-1]}"),
            "organization_id": self.organization_id,
            "configuration": dict(spec.get("configuration") or {}),
            "policies": [],
            "created_at": _rfc3339(_now() - timedelta(days=60)),
            "created_by": None,
            "updated_at": _rfc3339(_now() - timedelta(days=2)),
            "updated_by": None,
        }
        if what == "connections":
            type_id = str(spec.get("type", "api"))
            return 200, {
                "data": {
                    **common,
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
            }
        return 200, {
            "data": {
                **common,
                "connection_id": spec.get("connection_id"),
                "type": "table" if "table" in common["configuration"] else "query",
                "fields": [],
                "relations": [],
                "labels": [],
                "identifier": None,
                "tracking_columns": [],
                "enricher": None,
                "version": 1,
            }
        }

    def _read(
        self, sync: EmulatedSync, what: str, execution_id: str | None, query: dict[str, list[str]]
    ) -> tuple[int, Any]:
        if what == "status":
            return 200, {"data": sync.status_json()}
        if execution_id is None:
            return self._list(sync, query)
        execution = sync.find(execution_id)
        if execution is None:
            return 404, _error(404, "execution not found", "not_found")
        return 200, {"data": sync.execution_json(execution)}

    def _list(self, sync: EmulatedSync, query: dict[str, list[str]]) -> tuple[int, Any]:
        try:
            limit = min(int(query.get("limit", ["50"])[0]), 100)
            offset = int(query.get("page_token", ["0"])[0])
        except ValueError:
            limit = offset = -1
        if limit < 1 or offset < 0:
            return 400, _error(400, "limit must be 1 to 100 and page_token one this API returned", "bad_request")
        items = list(reversed(sync.visible()))
        if _flag(query, "ascending"):
            items.reverse()
        if _flag(query, "only_completed") or _flag(query, "only_terminal"):
            items = [item for item in items if sync.status_of(item).status in sync.terminal]
        page = items[offset : offset + limit]
        next_token = str(offset + limit) if offset + limit < len(items) else None
        data = [sync.execution_json(item) for item in page]
        return 200, {"data": data, "pagination": {"next_page_token": next_token}}


def _bulk_start_problem(body: Any) -> str | None:
    """Why Polytomic would answer 400 to this bulk start body (as its SDK documents), or None."""
    if body is None:
        return None
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    if "resync" in body:
        return "resync is no longer accepted: use resync_mode (refetch, resync or rebuild)"
    if body.get("test") and body.get("resync_mode") is not None:
        return "test and resync_mode are mutually exclusive"
    for name, allowed in (("fetch_mode", BULK_FETCH_MODES), ("resync_mode", BULK_RESYNC_MODES)):
        value = body.get(name)
        if value is not None and value not in allowed:
            return f"{name} must be one of {', '.join(sorted(allowed))}"
    return None


def _bulk_start_fields(body: Any) -> dict[str, Any]:
    """What a new bulk run reports about how it was started."""
    body = body or {}
    return {
        "is_test": bool(body.get("test")),
        "fetch_mode": body.get("fetch_mode") or "incremental",
        "is_resync": body.get("resync_mode") is not None,
    }


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[0].lower() in ("1", "true")


def _error(status: int, message: str, key: str) -> dict[str, Any]:
    return {"status": status, "message": message, "key": key, "metadata": {}}


def _redact(headers: Mapping[str, str]) -> dict[str, str]:
    redacted = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme, space, _ = value.partition(" ")
            value = f"{scheme} ***" if space else "***"  # a value without a scheme may be the key itself
        redacted[name] = value
    return redacted


def _with_status(document: Any, status: str) -> Any:
    """``document`` with the ``status`` of every execution (an object with an ``id``) under ``data`` replaced."""

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(item) for item in value]
        if not isinstance(value, dict):
            return value
        execution = "id" in value and isinstance(value.get("status"), str)
        return {key: status if execution and key == "status" else walk(item) for key, item in value.items()}

    if isinstance(document, dict) and "data" in document:
        return {**document, "data": walk(document["data"])}
    return document


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm each keep-alive answer waited 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is the record; stderr noise helps nobody

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {name: value for name, value in self.headers.items()}
        record = RecordedRequest(method, parts.path, query, _redact(headers), body, None)
        with emulator.lock:
            emulator.requests.append(record)  # on arrival, so the log keeps arrival order even with delays
            hit = [item for item in emulator.faults if item.hits(method, parts.path)]  # every fault counts
        fault = hit[0] if hit else None
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        status: int | None = 200
        payload = b""
        extra: dict[str, str] = {}
        if fault is None or fault.kind in ("delay", "unknown_status"):
            with emulator.lock:
                status, document = emulator.handle(method, parts.path, query, headers, body)
            if fault is not None and fault.kind == "unknown_status":
                document = _with_status(document, fault.body if isinstance(fault.body, str) else UNKNOWN_STATUS)
            payload = json.dumps(document).encode()
        elif fault.kind == "status":
            status = fault.status
            payload = json.dumps(_error(status, f"injected HTTP {status}", "fault")).encode()
            if fault.retry_after is not None:
                extra["Retry-After"] = fault.retry_after
        elif fault.kind == "body":
            payload = json.dumps(fault.body).encode()
        elif fault.kind == "malformed":
            payload = b"<html><body>502 Bad Gateway</body></html>"
        elif fault.kind == "drop":
            status = None
        # Record the answer before giving it, so a client that reads the log right after its answer finds it.
        with emulator.lock:
            for index in range(len(emulator.requests) - 1, -1, -1):
                if emulator.requests[index] is record:
                    emulator.requests[index] = replace(record, status=status)
                    break
        if fault is not None and fault.kind == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(b'{"data": {"current_execution": {"id": "')
            self.close_connection = True
        elif status is None:
            self.close_connection = True
        else:
            self._answer(status, payload, extra)

    def _answer(self, status: int, payload: bytes, extra_headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Polytomic-Version", self.headers.get("X-Polytomic-Version") or UNVERSIONED_API_VERSION)
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
