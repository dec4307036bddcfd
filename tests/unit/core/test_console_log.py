"""An execution's console log: the call, tolerant parsing, and the bounded, scrubbed block a task log shows."""

from __future__ import annotations

import json

import pytest

from airflow_provider_polytomic.core import console_log
from airflow_provider_polytomic.core.console_log import ConsoleEntry, ConsoleLog, console_block, entry_line
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import PolytomicBadResponseError, PolytomicInvalidIdError
from tests.unit.core.samples import KEY, SYNC, A
from tests.unit.core.samples import client_config as config


def test_the_call_names_both_ids_and_bounds_the_limit() -> None:
    call = console_log.get_console_log(SYNC, A, SyncKind.BULK, after="1744311099250-0", limit=500)
    assert call.path == f"/api/bulk/syncs/{SYNC}/executions/{A}/consolelog"
    assert call.params == {"limit": "50", "after": "1744311099250-0"}
    assert console_log.get_console_log(SYNC, A).params == {"limit": "50"}
    with pytest.raises(PolytomicInvalidIdError):
        console_log.get_console_log(SYNC, "../../api/me")


def test_entries_are_read_oldest_first_and_the_key_never_survives() -> None:
    document = {
        "data": {
            "entries": [
                {
                    "id": "2-0",
                    "level": "error",
                    "message": f"auth failed for {KEY}",
                    "timestamp": "2026-01-01T00:00:02Z",
                },
                {"id": "1-0", "message": "started", "timestamp": "2026-01-01T00:00:01Z", "payload": {"rows": 3}},
                {"message": "no time", "timestamp": "not a time", "payload": "not an object"},
            ],
            "next_cursor": "2-0",
        }
    }
    log = console_log.get_console_log(SYNC, A).read(config(), 200, {}, json.dumps(document).encode())
    assert [entry.message for entry in log.entries][1:] == ["started", "auth failed for ***"]
    assert log.entries[0] == ConsoleEntry(message="no time", level="info")
    assert log.next_cursor == "2-0"
    with pytest.raises(PolytomicBadResponseError):
        console_log.get_console_log(SYNC, A).read(config(), 200, {}, b'{"data": {"entries": {}}}')


def test_a_line_is_one_bounded_line_without_secret_payload_values() -> None:
    entry = ConsoleEntry(
        message="line one\nline two\x1b[31m" + "x" * 500,
        level="warn",
        payload={"table": "orders", "password": "hunter2", "nested": {"api_key": "k", "private_key": "p"}, "key": "z"},
    )
    line = entry_line(entry)
    assert "\n" not in line and "\x1b" not in line and len(line) <= console_log.MAX_LINE_CHARS
    short = entry_line(ConsoleEntry(message="m", payload=entry.payload))
    assert '"table": "orders"' in short and "hunter2" not in short and '"k"' not in short and '"z"' not in short
    assert short.startswith("- INFO  m ")


def test_the_block_keeps_the_newest_entries_within_its_bounds() -> None:
    entries = tuple(ConsoleEntry(message=f"entry {number} " + "é" * 300) for number in range(120))
    block = console_block(ConsoleLog(entries), about=f"Polytomic sync {SYNC} execution {A}")
    assert block is not None
    assert len(block.encode()) <= console_log.MAX_BLOCK_BYTES
    lines = block.splitlines()
    assert lines[0].startswith(f"Polytomic's console log for Polytomic sync {SYNC} execution {A} (50 entries")
    assert "entry 119 " in lines[-2] and "earlier entries left out" in lines[1]
    assert all(len(line) <= console_log.MAX_LINE_CHARS + 2 for line in lines[1:-1])
    assert console_block(ConsoleLog(), about="x") is None


def test_the_block_scrubs_what_the_caller_says_is_secret() -> None:
    block = console_block(ConsoleLog((ConsoleEntry(message=f"token {KEY}"),)), about="sync", scrub=config().scrub_text)
    assert block is not None and KEY not in block and "token ***" in block
