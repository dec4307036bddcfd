"""DAGs for the sync-by-name and console-log tests: each sensor and start operator with both ``sync_id`` and
``sync_name`` templated from params (one renders empty), in every mode and ``console_log`` setting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

from airflow_provider_polytomic.operators.polytomic import PolytomicStartBulkSyncOperator, PolytomicStartSyncOperator
from airflow_provider_polytomic.sensors.polytomic import PolytomicBulkSyncStatusSensor, PolytomicSyncStatusSensor

MODES = ("poke", "reschedule", "deferrable")
CONSOLE_LOG = ("on_failure", "always", "never")
COMMON: dict[str, Any] = {
    "sync_id": "{{ params.sync_id }}",
    "sync_name": "{{ params.sync_name }}",
    "retries": 1,
    "retry_delay": timedelta(0),
}
SENSOR: dict[str, Any] = {**COMMON, "poke_interval": 0.2, "timeout": 60}


def _mode(mode: str) -> dict[str, Any]:
    return {"mode": "reschedule" if mode == "reschedule" else "poke", "deferrable": mode == "deferrable"}


def dag_id(what: str, mode: str, console_log: str = "on_failure") -> str:
    return f"by_name_{what}_{mode}_{console_log}"


TASKS: dict[str, Any] = {}
for _mode_name in MODES:
    for _console in CONSOLE_LOG:
        TASKS[dag_id("sensor", _mode_name, _console)] = lambda m=_mode_name, c=_console: PolytomicSyncStatusSensor(
            task_id="task", console_log=c, **SENSOR, **_mode(m)
        )
        TASKS[dag_id("bulk_sensor", _mode_name, _console)] = lambda m=_mode_name, c=_console: (
            PolytomicBulkSyncStatusSensor(task_id="task", console_log=c, **SENSOR, **_mode(m))
        )
for _mode_name in ("poke", "deferrable"):
    for _console in CONSOLE_LOG:
        TASKS[dag_id("start", _mode_name, _console)] = lambda m=_mode_name, c=_console: PolytomicStartSyncOperator(
            task_id="task", console_log=c, poll_interval=0.2, deferrable=m == "deferrable", **COMMON
        )
        TASKS[dag_id("bulk_start", _mode_name, _console)] = lambda m=_mode_name, c=_console: (
            PolytomicStartBulkSyncOperator(
                task_id="task", console_log=c, poll_interval=0.2, deferrable=m == "deferrable", **COMMON
            )
        )

for _dag_id, _make_task in TASKS.items():
    with DAG(
        _dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
        params={"sync_id": "", "sync_name": ""},
        catchup=False,
    ) as _dag:
        _make_task()
    globals()[_dag.dag_id] = _dag
