"""The emulator's request log: one line per request, for a person watching its terminal.

``12:00:03 GET /api/syncs/248df4b7-…/status -> 200  'Orders' execution 5f0c2a1e step 2/3 (running)``

A line is built from the method, the path, the answer's status, the fault that hit the request and the
scenario step the answer showed; never from the headers or the body, so it cannot carry a key. The command line
logs by default (``--quiet`` turns it off); :class:`~airflow_provider_polytomic.testing.PolytomicEmulator` logs
only when given ``log=`` (tests read ``emulator.requests`` instead).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_polytomic.testing.emulator import PolytomicEmulator
    from airflow_provider_polytomic.testing.faults import Fault
    from airflow_provider_polytomic.testing.script import EmulatedExecution, EmulatedSync

# /api[/bulk]/syncs/{id}[/status | /executions[/{id}]]
_READ = re.compile(r"^/api/(?:bulk/)?syncs/(?P<sync>[^/]+)(?:/(?P<what>status|executions)(?:/(?P<execution>[^/]+))?)?$")
_START = re.compile(r"^/api/(?:bulk/)?syncs/(?P<sync>[^/]+)/executions$")


def position(sync: EmulatedSync, execution: EmulatedExecution) -> str:
    """Where an execution's script is now: ``execution 5f0c2a1e step 2/3 (running)``."""
    step = sync.status_of(execution)
    number = next((index for index, item in enumerate(execution.steps, 1) if item is step), None)
    where = f"step {number}/{len(execution.steps)} " if number is not None else ""  # canceling, canceled
    return f"execution {execution.id[:8]} {where}({step.status})"


def served_before(emulator: PolytomicEmulator, method: str, path: str) -> str:
    """What a read is about to be shown, before it moves the script (call it under ``emulator.lock``)."""
    match = _READ.match(path)
    sync = emulator.syncs.get(match["sync"]) if match and method == "GET" else None
    if match is None or sync is None:
        return ""
    name = repr(sync.name)
    if match["what"] is None:
        return f"{name} definition"
    if match["execution"]:
        execution = sync.find(match["execution"])
        return f"{name} {position(sync, execution)}" if execution else f"{name} no such execution yet"
    shown = (sync.running() or sync.last_finished()) if match["what"] == "status" else None
    if shown is not None:
        return f"{name} {position(sync, shown)}"
    if match["what"] == "executions":
        return f"{name} {len(sync.visible())} execution(s)"
    return f"{name} no execution yet"


def served_after(emulator: PolytomicEmulator, method: str, path: str, status: int | None) -> str:
    """What a start did, once answered: the run it created and its script."""
    match = _START.match(path)
    sync = emulator.syncs.get(match["sync"]) if match and method == "POST" and status == 200 else None
    if sync is None or not sync.executions:
        return ""
    execution = sync.executions[-1]
    script = " -> ".join(step.status for step in execution.steps)
    return f"{sync.name!r} run execution {execution.id[:8]} ({script})"


def line(method: str, path: str, status: int | None, fault: Fault | None, served: str) -> str:
    """The log line of one answered (or dropped) request."""
    answer = str(status) if status is not None else "no answer"
    text = f"{time.strftime('%H:%M:%S')} {method} {path} -> {answer}"
    if fault is not None:
        detail = {"status": f" {fault.status}", "delay": f" {fault.seconds:g} s"}.get(fault.kind, "")
        text += f"  [fault: {fault.kind}{detail}]"
    if status == 401:
        served = "the key was not accepted (see api_keys / deployment_keys in the scenario)"
    return f"{text}  {served}".rstrip()
