"""Bulk-sync DAGs for ``dag.test()``: the bulk sensor in two modes, and the bulk start operator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

from airflow_provider_polytomic.operators.polytomic import PolytomicStartBulkSyncOperator
from airflow_provider_polytomic.sensors.polytomic import PolytomicBulkSyncStatusSensor

COMMON: dict[str, Any] = {"retries": 1, "retry_delay": timedelta(0)}
TASKS: dict[str, Any] = {
    "bulk_sensor_poke": lambda: PolytomicBulkSyncStatusSensor(
        task_id="task", sync_id="{{ params.sync_id }}", poke_interval=0.2, timeout=60, **COMMON
    ),
    "bulk_sensor_deferrable": lambda: PolytomicBulkSyncStatusSensor(
        task_id="task", sync_id="{{ params.sync_id }}", poke_interval=0.2, timeout=60, deferrable=True, **COMMON
    ),
    "bulk_sensor_errors_ok": lambda: PolytomicBulkSyncStatusSensor(
        task_id="task", sync_id="{{ params.sync_id }}", poke_interval=0.2, timeout=60, fail_on_record_errors=False
    ),
    "bulk_start_poke": lambda: PolytomicStartBulkSyncOperator(
        task_id="task",
        sync_id="{{ params.sync_id }}",
        fetch_mode="incremental",
        schemas=["public.orders"],
        poll_interval=0.2,
        **COMMON,
    ),
    "bulk_start_short_deferrable": lambda: PolytomicStartBulkSyncOperator(
        task_id="task", sync_id="{{ params.sync_id }}", poll_interval=0.2, timeout=1.5, deferrable=True, **COMMON
    ),
}

for _dag_id, _make_task in TASKS.items():
    with DAG(
        _dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
        params={"sync_id": ""},
        catchup=False,
    ) as _dag:
        _make_task()
    globals()[_dag.dag_id] = _dag
