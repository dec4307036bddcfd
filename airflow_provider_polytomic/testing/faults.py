"""Faults the emulator injects on purpose: which requests they hit and what they do to the answer."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_polytomic.testing.documents import error_document
from airflow_provider_polytomic.testing.scenario import ScenarioError

FAULT_KINDS = frozenset({"status", "delay", "drop", "malformed", "truncated", "body", "unknown_status"})
#: What ``unknown_status`` puts in place of every execution status when the fault has no ``body``.
UNKNOWN_STATUS = "rebalancing"


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

    @property
    def answers_itself(self) -> bool:
        """Whether the fault answers in the emulator's place (``delay`` and ``unknown_status`` let it answer)."""
        return self.kind not in ("delay", "unknown_status")

    def rewrite(self, document: Any) -> Any:
        """The emulator's answer as this fault changes it."""
        if self.kind == "unknown_status":
            return with_status(document, self.body if isinstance(self.body, str) else UNKNOWN_STATUS)
        return document

    def answer(self) -> tuple[int | None, bytes, dict[str, str]]:
        """Status (``None``: close the connection without one), body and extra headers of a fault that answers
        itself. A ``truncated`` body is the start of a document: the server promises more than it sends."""
        if self.kind == "status":
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
            return (
                self.status,
                json.dumps(error_document(self.status, f"injected HTTP {self.status}", "fault")).encode(),
                headers,
            )
        if self.kind == "body":
            return 200, json.dumps(self.body).encode(), {}
        if self.kind == "malformed":
            return 200, b"<html><body>502 Bad Gateway</body></html>", {}
        if self.kind == "truncated":
            return 200, b'{"data": {"current_execution": {"id": "', {}
        return None, b"", {}


def with_status(document: Any, status: str) -> Any:
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
