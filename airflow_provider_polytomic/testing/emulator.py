"""A local Polytomic API emulator: a real HTTP server on 127.0.0.1 with scripted syncs and injected faults.

It speaks the sync endpoints as ``shared/polytomic-api/FACTS.md`` describes them, so DAGs and tests can run
offline. Standard library only. The parts: ``script`` (scripted syncs and executions), ``api`` (routing and
answers), ``documents`` (the JSON Polytomic's SDK types describe), ``faults`` and ``http_server``.

The scenario format (and what ``add_sync`` / ``add_fault`` take) is the JSON Schema ``scenario.schema.json``
beside this file; a scenario that breaks it is refused with a :class:`ScenarioError` naming the key.
"""

from __future__ import annotations

import errno
import functools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from airflow_provider_polytomic.testing import request_log
from airflow_provider_polytomic.testing.api import answer
from airflow_provider_polytomic.testing.faults import Fault
from airflow_provider_polytomic.testing.http_server import (
    Answer,
    EmulatorRequestHandler,
    EmulatorServer,
    RecordedRequest,
)
from airflow_provider_polytomic.testing.scenario import validate
from airflow_provider_polytomic.testing.script import EmulatedSync


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
        log: Callable[[str], None] | None = None,
    ) -> None:
        # Checked before anything is read from it: a list, a string or an "organization" that is not an object is
        # refused naming the key, never a raw AttributeError.
        scenario = {} if scenario is None else scenario
        validate(scenario)
        #: Called with one line per request (``print`` to watch them; see ``request_log``). None: quiet,
        #: the default here, since tests read :attr:`requests`; the command line logs unless ``--quiet``.
        self.log = log
        self.host = host
        self.port = port
        self.api_keys = set(scenario.get("api_keys") or [api_key])
        self.api_key = next(iter(sorted(self.api_keys)))
        organization = scenario.get("organization") or {}
        self.organization_id = str(organization.get("id", "0a7d1b52-7d43-4c3b-9d8e-3f0f4c1e2a10"))
        self.organization_name = str(organization.get("name", "Emulated Organization"))
        self.deployment_keys: dict[str, str] = dict(scenario.get("deployment_keys") or {})
        self.syncs: dict[str, EmulatedSync] = {}
        self._clock_offset = float(scenario.get("clock_offset") or 0.0)
        #: ``GET /api/connections/{id}`` and ``GET /api/models/{id}``, by id, as the scenario gives them.
        self.connections: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = [Fault.from_dict(item) for item in scenario.get("faults", [])]
        self.requests: list[RecordedRequest] = []
        self.lock = threading.RLock()
        self._server: EmulatorServer | None = None
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
            sync.clock_offset = self._clock_offset
            self.syncs[sync.id] = sync
        return sync

    @property
    def clock_offset(self) -> float:
        """Seconds the emulated Polytomic's clock is ahead of this machine's (negative: behind): in every time
        it reports and in its ``Date`` header. Settable while it runs, e.g. to put it 2 minutes behind."""
        return self._clock_offset

    @clock_offset.setter
    def clock_offset(self, seconds: float) -> None:
        validate({"clock_offset": seconds})
        with self.lock:
            self._clock_offset = float(seconds)
            for sync in self.syncs.values():
                sync.clock_offset = self._clock_offset

    def add_connection(self, **spec: Any) -> str:
        """Add a connection (``id``, ``name``, ``type``, ``configuration``) that ``GET /api/connections/{id}``
        serves; returns its id."""
        return self._define("connection", self.connections, spec)

    def add_model(self, **spec: Any) -> str:
        """Add a model (``id``, ``name``, ``connection_id``, ``configuration``) that ``GET /api/models/{id}``
        serves; returns its id."""
        return self._define("model", self.models, spec)

    def _define(self, what: str, table: dict[str, dict[str, Any]], spec: dict[str, Any]) -> str:
        validate(spec, what, what)
        item_id = str(spec.get("id") or uuid.uuid4())
        with self.lock:
            table[item_id] = {**spec, "id": item_id}
        return item_id

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
            server = EmulatorServer((self.host, self.port), EmulatorRequestHandler)
        except OSError as error:
            why = "another process is using that port (pick another one, or 0 for a free one)"
            if error.errno != errno.EADDRINUSE:
                why = error.strerror or str(error)
            raise OSError(
                error.errno, f"The Polytomic emulator cannot listen on {self.host}:{self.port}: {why}."
            ) from error
        server.backend = self
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

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str], body: Any
    ) -> tuple[int, Any]:
        """What this emulator answers a request with (status, JSON document), before any fault."""
        return answer(self, method, path, query, headers, body)

    def serve(self, request: RecordedRequest, headers: Mapping[str, str]) -> Answer:
        """Record ``request``, apply the first fault that hits it (every fault that does counts the hit) and
        answer; the answer is recorded before it is given, so a client reading the log right after finds it."""
        with self.lock:
            self.requests.append(request)  # on arrival, so the log keeps arrival order even with delays
            hit = [item for item in self.faults if item.hits(request.method, request.path)]
        fault = hit[0] if hit else None
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        status: int | None
        extra: dict[str, str] = {}
        served = ""
        if fault is None or not fault.answers_itself:
            with self.lock:
                if self.log is not None:  # what the read shows, before it moves the script
                    served = request_log.served_before(self, request.method, request.path)
                status, document = self.handle(request.method, request.path, request.query, headers, request.body)
                if self.log is not None and not served:
                    served = request_log.served_after(self, request.method, request.path, status)
            payload = json.dumps(fault.rewrite(document) if fault else document).encode()
        else:
            status, payload, extra = fault.answer()
        with self.lock:
            for index in range(len(self.requests) - 1, -1, -1):
                if self.requests[index] is request:
                    self.requests[index] = replace(request, status=status)
                    break
        if self.log is not None:
            self.log(request_log.line(request.method, request.path, status, fault, served))
        if status is not None and fault is not None and fault.kind == "truncated":
            return Answer(status, payload, {"Content-Length": "4096"}, close=True)
        return Answer(status, payload, extra)

    def record(self, request: RecordedRequest, note: str = "") -> None:
        """Record a request the HTTP layer answered itself (``note``: why, for the request log)."""
        with self.lock:
            self.requests.append(request)
        if self.log is not None:
            self.log(request_log.line(request.method, request.path, request.status, None, note))
