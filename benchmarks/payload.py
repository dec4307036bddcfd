"""Bounded payloads: an execution with 100,000 record errors and 10,000 error messages.

How big are the sensor's XCom value, the trigger's event and the log line, when Polytomic's answer is
megabytes? Measured twice: on the I/O-free core (``SyncWatch`` and the trigger's event, ``Outcome.to_event``), and
end to end against the emulator (``PolytomicSyncStatusSensor.poke()`` and ``PolytomicSyncStatusTrigger``),
with ``fail_on_record_errors`` on (the task fails; its exception message is what is logged) and off (the
gate opens; the summary is the XCom value). Sizes are of the JSON encoding, in bytes (UTF-8).

``python -m benchmarks.payload --url URL --sync-id ID --out FILE`` (the emulator must serve
:func:`scenario`); ``--core-only`` skips the emulator part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from benchmarks._common import API_KEY, bare_headers, write_json

RECORD_ERRORS = 100_000
MESSAGES = 10_000


def error_messages(count: int = MESSAGES) -> list[str]:
    """Realistic messages; every fifth is 2,000 characters long (a row dump), the first ones included."""
    messages = []
    for number in range(count):
        if number % 5 == 0:
            messages.append(f"Record {number}: rejected by the destination: " + "payload=" + "x" * 1950)
        else:
            messages.append(f"Record {number}: field 'email' is not a valid email address: 'user{number}@@example'")
    return messages


def execution_document(execution_id: str) -> dict[str, Any]:
    return {
        "id": execution_id,
        "status": "completed",
        "type": "scheduled",
        "created_at": "2026-01-01T00:00:00Z",
        "started_at": "2026-01-01T00:00:05Z",
        "completed_at": "2026-01-01T01:00:00Z",
        "counts": {"insert": 900_000, "update": 0, "delete": 0, "error": RECORD_ERRORS, "total": 1_000_000},
        "errors": error_messages(),
    }


def scenario() -> dict[str, Any]:
    counts = execution_document("unused")["counts"]
    steps = [{"status": "completed", "counts": counts, "errors": error_messages()}]
    return {
        "api_keys": [API_KEY],
        "syncs": [{"id": str(uuid.uuid4()), "executions": [{"id": str(uuid.uuid4()), "steps": steps}]}],
    }


def size(value: Any) -> int:
    return len(json.dumps(value, default=str).encode())


def core_sizes() -> dict[str, Any]:
    from airflow_provider_polytomic.core.models import Execution
    from airflow_provider_polytomic.core.status import Outcome
    from airflow_provider_polytomic.core.watch import SyncWatch

    sync_id, execution_id = str(uuid.uuid4()), str(uuid.uuid4())
    document = execution_document(execution_id)
    result: dict[str, Any] = {"input_bytes": size(document)}
    for fail in (True, False):
        watch = SyncWatch(sync_id=sync_id, execution_id=execution_id, fail_on_record_errors=fail)
        judgement = watch.observe(Execution.from_api(document))
        summary = judgement.summary()
        event = Outcome.of(judgement).to_event()  # what the trigger yields
        result["fail" if fail else "pass"] = {
            "verdict": judgement.verdict.value,
            "xcom_bytes": size(summary),
            "event_bytes": size(event),
            "log_line_bytes": len(judgement.message.encode()),
            "errors_kept": len((summary or {}).get("errors") or []),
            "errors_total": (summary or {}).get("errors_total"),
        }
    return result


class StandInTaskInstance:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def end_to_end_sizes(url: str, sync_id: str) -> dict[str, Any]:
    from airflow.providers.common.compat.sdk import PokeReturnValue

    from airflow_provider_polytomic.core.errors import PolytomicSyncFailedError
    from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor
    from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger

    request = urllib.request.Request(f"{url}/api/syncs/{sync_id}/status", headers=bare_headers())  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - http://127.0.0.1 only
        answer = response.read()
    result: dict[str, Any] = {"api_answer_bytes": len(answer)}
    context: Any = {"ti": StandInTaskInstance()}
    for fail in (True, False):
        sensor = PolytomicSyncStatusSensor(
            task_id=f"wait_{fail}", sync_id=sync_id, fail_on_record_errors=fail, mode="poke"
        )
        row: dict[str, Any] = {}
        try:
            outcome = sensor.poke(context)
        except PolytomicSyncFailedError as error:
            row.update(raised=type(error).__name__, exception_bytes=len(str(error).encode()))
            row["xcom_bytes"] = size(error.summary)
        else:
            value = outcome.xcom_value if isinstance(outcome, PokeReturnValue) else outcome
            row.update(raised=None, xcom_bytes=size(value))
        trigger = PolytomicSyncStatusTrigger(sync_id=sync_id, poll_interval=1.0, fail_on_record_errors=fail)
        event = asyncio.run(trigger.wait())
        row.update(event_verdict=event.get("verdict"), event_bytes=size(event))
        result["fail" if fail else "pass"] = row
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.payload", description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("--sync-id")
    parser.add_argument("--core-only", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"core": core_sizes()}
    if not args.core_only:
        result["end_to_end"] = end_to_end_sizes(args.url, args.sync_id)
    write_json(Path(args.out), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
