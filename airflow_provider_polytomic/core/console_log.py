"""An execution's console log (the lines Polytomic's UI shows for a run), and the bounded block a task log shows
of it. No I/O.

``GET {prefix}/{sync}/executions/{execution}/consolelog?limit=&after=`` answers the most recent entries (at most
50) and a ``next_cursor``; ``after`` a cursor asks only for newer entries. What a task log gets is decided here
once: the last :data:`MAX_ENTRIES` entries, one line each (time, level, message, payload), each line at most
:data:`MAX_LINE_CHARS` and the whole block at most :data:`MAX_BLOCK_BYTES`, with the connection's credentials and
the values of secret-looking payload keys replaced by ``***``, under a heading that says where it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.ids import validate_id
from airflow_provider_polytomic.core.protocol import ApiCall
from airflow_provider_polytomic.core.values import json_list, json_object, parse_timestamp, truncate

#: Entries one request asks for (Polytomic's maximum), and entries a block shows at most.
PAGE_LIMIT = 50
MAX_ENTRIES = 50
#: One line per entry, at most this long; the whole block (heading included) at most this many UTF-8 bytes.
MAX_LINE_CHARS = 200
MAX_BLOCK_BYTES = 16 * 1024
#: Longest message or level kept from an entry as parsed (the block cuts lines shorter still).
MAX_MESSAGE_CHARS = 2000
#: Payload keys whose values are never shown: anything that looks like a credential.
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|private|credential|auth|signature|cookie|session|(^|[_-])key$",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MAX_DEPTH = 4


@dataclass(frozen=True)
class ConsoleEntry:
    """One console line of an execution: the SDK's ``ExecutionConsoleLogEntry``."""

    message: str
    level: str = "info"
    timestamp: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict, repr=False)
    id: str | None = None

    @classmethod
    def from_api(cls, payload: Any) -> ConsoleEntry:
        entry = json_object(payload, "console log entry")
        message, level, extra, entry_id = (entry.get(key) for key in ("message", "level", "payload", "id"))
        try:
            timestamp = parse_timestamp(entry.get("timestamp"))
        except (ValueError, OverflowError):
            timestamp = None  # a line without a readable time is still worth showing
        return cls(
            message=truncate(message, MAX_MESSAGE_CHARS) if isinstance(message, str) else "",
            level=truncate(level, 16) if isinstance(level, str) and level else "info",
            timestamp=timestamp,
            payload=extra if isinstance(extra, dict) else {},
            id=truncate(entry_id, 64) if isinstance(entry_id, str) else None,
        )


@dataclass(frozen=True)
class ConsoleLog:
    """``entries`` (oldest first) and the cursor to ask for newer ones with ``after``."""

    entries: tuple[ConsoleEntry, ...] = ()
    next_cursor: str | None = None

    @classmethod
    def from_api(cls, payload: Any) -> ConsoleLog:
        payload = json_object(payload, "console log")
        entries = json_list(payload.get("entries"), "console log entries")
        cursor = payload.get("next_cursor")
        parsed = [ConsoleEntry.from_api(item) for item in entries]
        # Oldest first, whatever order they came in (entries without a time keep their place among themselves).
        parsed.sort(key=lambda item: item.timestamp.timestamp() if item.timestamp else float("-inf"))
        return cls(tuple(parsed), truncate(cursor, 200) if isinstance(cursor, str) and cursor else None)


def get_console_log(
    sync_id: str,
    execution_id: str,
    kind: SyncKind = SyncKind.MODEL,
    *,
    after: str | None = None,
    limit: int = PAGE_LIMIT,
) -> ApiCall[ConsoleLog]:
    """``GET .../executions/{execution_id}/consolelog``: the most recent entries, or those newer than ``after``."""
    sync_id = validate_id(sync_id, "sync id")
    execution_id = validate_id(execution_id, "execution id")
    params = {"limit": str(max(1, min(int(limit), PAGE_LIMIT)))}
    if after:
        params["after"] = after
    return ApiCall(
        "GET",
        f"{SyncKind(kind).api_prefix}/{sync_id}/executions/{execution_id}/consolelog",
        ConsoleLog.from_api,
        sync_id=sync_id,
        execution_id=execution_id,
        params=params,
    )


def scrubbed_payload(value: Any, depth: int = 0) -> Any:
    """``value`` with the value of every secret-looking key replaced by ``***`` (nested objects too)."""
    if depth > _MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {
            str(key): "***" if SECRET_KEY.search(str(key)) else scrubbed_payload(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrubbed_payload(item, depth + 1) for item in value[:20]]
    return value


def entry_line(entry: ConsoleEntry, scrub: Callable[[str], str] = str) -> str:
    """One line: ``time level message payload``, control characters folded, at most :data:`MAX_LINE_CHARS`."""
    when = entry.timestamp.isoformat(timespec="seconds").replace("+00:00", "Z") if entry.timestamp else "-"
    text = f"{when} {entry.level.upper():<5} {entry.message}"
    if entry.payload:
        text += " " + json.dumps(scrubbed_payload(entry.payload), sort_keys=True, default=str, ensure_ascii=False)
    return truncate(_CONTROL.sub(" ", scrub(text)).strip(), MAX_LINE_CHARS)


def console_block(
    log: ConsoleLog, *, about: str, scrub: Callable[[str], str] = str, new_only: bool = False
) -> str | None:
    """The block a task log shows for ``log`` (the last :data:`MAX_ENTRIES` entries), None when it has none.

    ``about`` names the execution (``Polytomic sync 'Orders' (<id>) execution <id>``); ``scrub`` removes the
    connection's credentials; ``new_only``: the entries are those since the last block (a poke's news).
    """
    entries = log.entries[-MAX_ENTRIES:]
    if not entries:
        return None
    lines = [entry_line(entry, scrub) for entry in entries]
    left_out = len(log.entries) - len(entries)
    what = "new entries" if new_only else "entries"
    heading = f"Polytomic's console log for {scrub(about)} ({len(entries)} {what}, oldest first):"
    footer = "(end of Polytomic's console log)"
    size = len(heading.encode()) + len(footer.encode()) + 2
    kept: list[str] = []
    for line in reversed(lines):  # the newest lines matter most: drop from the oldest end
        cost = len(line.encode()) + 1 + 2
        if size + cost > MAX_BLOCK_BYTES - 80:  # room for the "left out" note
            break
        kept.append(line)
        size += cost
    left_out += len(lines) - len(kept)
    body = [f"  {line}" for line in reversed(kept)]
    if left_out:
        body.insert(0, f"  ({left_out} earlier entries left out)")
    return "\n".join([heading, *body, footer])
