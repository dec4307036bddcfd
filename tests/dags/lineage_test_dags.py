"""DAGs the lineage tests run with ``dag.test()``: each kind of task that reports OpenLineage, one task per DAG."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

from airflow_provider_polytomic.operators.polytomic import (
    PolytomicStartBulkSyncOperator,
    PolytomicStartSyncOperator,
)
from airflow_provider_polytomic.sensors.polytomic import (
    PolytomicBulkSyncStatusSensor,
    PolytomicSyncStatusSensor,
)

SENSOR: dict[str, Any] = {"sync_id": "{{ params.sync_id }}", "poke_interval": 0.2, "timeout": 60}
START: dict[str, Any] = {"sync_id": "{{ params.sync_id }}", "poll_interval": 0.2, "timeout": 60}
TASKS: dict[str, Any] = {
    "lineage_model_poke": lambda: PolytomicSyncStatusSensor(task_id="task", **SENSOR),
    "lineage_model_reschedule": lambda: PolytomicSyncStatusSensor(task_id="task", mode="reschedule", **SENSOR),
    "lineage_model_deferrable": lambda: PolytomicSyncStatusSensor(task_id="task", deferrable=True, **SENSOR),
    "lineage_model_start": lambda: PolytomicStartSyncOperator(task_id="task", **START),
    "lineage_bulk_poke": lambda: PolytomicBulkSyncStatusSensor(task_id="task", **SENSOR),
    "lineage_bulk_deferrable": lambda: PolytomicBulkSyncStatusSensor(task_id="task", deferrable=True, **SENSOR),
    "lineage_bulk_start": lambda: PolytomicStartBulkSyncOperator(task_id="task", **START),
}

for _dag_id, _make_task in TASKS.items():
    with DAG(
        _dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
        params={"sync_id": ""},
        catchup=False,
        default_args={"retries": 0, "retry_delay": timedelta(0)},
    ) as _dag:
        _make_task()
    globals()[_dag.dag_id] = _dag
