"""Polytomic's console log in the Airflow task log (``console_log=``): whole DAG runs against the emulator.

On a bad ending the worker reads the execution's console log and logs one bounded, scrubbed block before the task
fails; on success nothing is read (``"on_failure"``); ``"always"`` logs new entries at each poll; ``"never"``
reads nothing. The console log never changes the outcome.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_polytomic.console_output import SHOWN_ABOVE
from airflow_provider_polytomic.core.console_log import MAX_BLOCK_BYTES, MAX_LINE_CHARS
from airflow_provider_polytomic.testing import EmulatedSync, PolytomicEmulator
from tests.conftest import API_KEY
from tests.dag_runs import Run, without_airflow_echoes
from tests.dags.by_name_test_dags import MODES, dag_id
from tests.integration.test_by_name_dag_runs import kept_in_the_task_state_store

HEADING = "Polytomic's console log for "
CONSOLE = r"/api/(bulk/)?syncs/.*/consolelog"
RUNNING = {
    "status": "running",
    "polls": 2,
    "console": [{"message": "Fetching orders from Snowflake", "payload": {"rows": 120, "password": "hunter2"}}],
}
FAILED = {
    "status": "failed",
    "errors": ["Snowflake: warehouse suspended"],
    "console": [
        {"message": f"Authentication with {API_KEY} refused", "level": "warn"},
        {"message": "Warehouse ORDERS_WH is suspended", "level": "error", "payload": {"warehouse": "ORDERS_WH"}},
    ],
}
COMPLETED = {"status": "completed", "counts": {"insert": 4, "total": 4}, "console": [{"message": "Sync finished"}]}


@pytest.fixture
def run(run_test_dag: Callable[..., Run]) -> Callable[..., Run]:
    def run_one(what: str, mode: str, sync: EmulatedSync, console_log: str = "on_failure") -> Run:
        return run_test_dag(dag_id(what, mode, console_log), {"sync_id": sync.id, "sync_name": ""}, "task")

    return run_one


def scripted(emulator: PolytomicEmulator, *steps: dict[str, Any], kind: str = "model") -> EmulatedSync:
    return emulator.add_sync(kind=kind, executions=[{"steps": list(steps)}], run_steps=list(steps))


def blocks(log: str) -> list[str]:
    """Each console-log block in the log (heading to footer), once: Airflow 2's captured log holds each record
    twice (pytest's capture and the console handler)."""
    found = re.findall(rf"{re.escape(HEADING)}.*?\(end of Polytomic's console log\)", log, re.S)
    unique: dict[str, str] = {}
    for block in found:
        unique.setdefault("\n".join(line.strip() for line in block.splitlines()), block)
    return list(unique.values())


def lines_with(log: str, text: str) -> set[str]:
    """The distinct lines of the log that hold ``text``, from ``text`` on (whatever the handler's prefix)."""
    return {line[line.index(text) :].strip() for line in log.splitlines() if text in line}


@pytest.mark.parametrize("mode", MODES)
def test_a_failure_shows_the_console_log_above_a_short_message(
    mode: str, run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = scripted(emulator, RUNNING, FAILED)
    result = run("sensor", mode, sync)
    assert (result.task_state, result.tries) == ("failed", 1)  # the verdict is unchanged: no retry used
    (block,) = blocks(result.log)
    execution = sync.executions[0].id
    heading = block.splitlines()[0]
    assert heading.startswith(f"{HEADING}Polytomic sync ") and sync.id in heading  # named where the name is known
    assert heading.endswith(f"execution {execution} (3 entries, oldest first):")
    assert "ERROR Warehouse ORDERS_WH is suspended" in block and "WARN  Authentication with *** refused" in block
    assert '"password": "***"' in block and "hunter2" not in result.log
    assert all(len(line) <= MAX_LINE_CHARS + 2 for line in block.splitlines())
    failure = "ended with status 'failed'. Polytomic reports: Snowflake: warehouse suspended."
    assert failure in result.log and SHOWN_ABOVE.strip() in result.log
    assert len(emulator.requests_to(CONSOLE)) == 1
    assert API_KEY not in without_airflow_echoes(result.log)


@pytest.mark.parametrize("mode", MODES)
def test_success_shows_no_console_log_and_reads_none(
    mode: str, run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = scripted(emulator, RUNNING, COMPLETED)
    result = run("sensor", mode, sync)
    assert result.task_state == "success"
    assert blocks(result.log) == [] and emulator.requests_to(CONSOLE) == []


@pytest.mark.parametrize(("what", "kind"), [("start", "model"), ("bulk_start", "bulk"), ("bulk_sensor", "bulk")])
def test_start_operators_and_the_bulk_sensor_show_it_too(
    what: str, kind: str, run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = scripted(emulator, RUNNING, FAILED, kind=kind)
    result = run(what, "poke", sync)
    assert result.task_state == "failed"
    (block,) = blocks(result.log)
    prefix = "bulk/" if kind == "bulk" else ""
    assert emulator.requests_to(CONSOLE)[0].path.startswith(f"/api/{prefix}syncs/{sync.id}/executions/")
    assert "Warehouse ORDERS_WH is suspended" in block


def test_never_reads_no_console_log(run: Callable[..., Run], emulator: PolytomicEmulator) -> None:
    result = run("sensor", "poke", scripted(emulator, RUNNING, FAILED), console_log="never")
    assert result.task_state == "failed"
    assert blocks(result.log) == [] and emulator.requests_to(CONSOLE) == []
    assert SHOWN_ABOVE.strip() not in result.log


@pytest.mark.parametrize("mode", MODES)
def test_a_console_log_endpoint_that_answers_500_changes_nothing_else(
    mode: str, run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    emulator.add_fault("status", path=CONSOLE, status=500)
    result = run("sensor", mode, scripted(emulator, RUNNING, FAILED))
    assert (result.task_state, result.tries) == ("failed", 1)
    assert "ended with status 'failed'. Polytomic reports: Snowflake: warehouse suspended." in result.log
    assert len(lines_with(result.log, "Could not read Polytomic's console log for Polytomic sync")) == 1
    assert "the task's outcome is unchanged" in result.log and SHOWN_ABOVE.strip() not in result.log


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_always_logs_each_entry_once_as_it_appears(
    mode: str, run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = scripted(
        emulator, {**RUNNING, "polls": 3}, {"status": "running", "console": [{"message": "Half way"}]}, COMPLETED
    )
    result = run("sensor", mode, sync, console_log="always")
    assert result.task_state == "success"
    pokes = len(emulator.requests_to(f"/api/syncs/{sync.id}/.*")) - len(emulator.requests_to(CONSOLE))
    assert len(emulator.requests_to(CONSOLE)) == pokes  # one console request per poke, no more
    for message in ("Fetching orders from Snowflake", "Half way", "Sync finished"):
        assert any(message in block for block in blocks(result.log)), message
    cursors = [request.query.get("after", [None])[0] for request in emulator.requests_to(CONSOLE)]
    if mode == "poke" or HAS_CURSOR_STORE:
        # Each poll after the first asks only for entries after the newest one it has shown: none twice.
        assert cursors[0] is None and all(cursors[1:])
        assert cursors[1:] == sorted(cursors[1:], key=lambda cursor: tuple(map(int, cursor.split("-"))))
    else:  # older Airflow keeps no cursor between reschedule pokes: each poke shows the latest entries again
        assert "Sync finished" in blocks(result.log)[-1]
    if HAS_CURSOR_STORE:
        assert kept_in_the_task_state_store(dag_id("sensor", mode, "always")) == []


def test_always_in_deferrable_mode_logs_the_last_entries_on_success(
    run: Callable[..., Run], emulator: PolytomicEmulator
) -> None:
    sync = scripted(emulator, RUNNING, COMPLETED)
    result = run("sensor", "deferrable", sync, console_log="always")
    assert result.task_state == "success"
    assert "Sync finished" in blocks(result.log)[-1]


def test_the_largest_block_stays_within_16_kib(
    run: Callable[..., Run], emulator: PolytomicEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two bytes a character: 50 lines of 200 characters pass the 16 KiB bound, so the oldest are left out.
    noisy = [{"message": f"entry {number}: " + "é" * 400, "payload": {"n": number}} for number in range(120)]
    sync = scripted(emulator, {"status": "running", "console": noisy}, FAILED)
    result = run("sensor", "poke", sync)
    (block,) = blocks(result.log)
    size = len(block.encode())
    assert size <= MAX_BLOCK_BYTES
    assert "entry 119: " in block and "earlier entries left out" in block
    with capsys.disabled():
        print(f"\nlargest console-log block written to a task log: {size:,} bytes, {len(block.splitlines())} lines")


from tests.airflow_features import _has  # noqa: E402

#: Airflow 3.3+: the task state store keeps the console cursor across reschedule pokes.
HAS_CURSOR_STORE = _has("airflow.sdk.execution_time.context", "TaskStateStoreAccessor")
