"""DAGs the sensor tests run with ``dag.test()``: one per mode and option set; ids come from params.

``short`` DAGs time out after 2 s; the others after 60 s (a test that reaches that has failed anyway).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor

MODES = ("poke", "reschedule", "deferrable")


def dag_id(mode: str, *, soft_fail: bool = False, record_errors_ok: bool = False, short: bool = False) -> str:
    parts = ["sensor", mode]
    if soft_fail:
        parts.append("soft")
    if record_errors_ok:
        parts.append("errors_ok")
    if short:
        parts.append("short")
    return "_".join(parts)


for _mode in MODES:
    for _soft in (False, True):
        for _errors_ok in (False, True):
            for _short in (False, True):
                with DAG(
                    dag_id(_mode, soft_fail=_soft, record_errors_ok=_errors_ok, short=_short),
                    schedule=None,
                    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
                    params={"sync_id": "", "execution_id": "", "completed_after": ""},
                    catchup=False,
                ) as _dag:
                    PolytomicSyncStatusSensor(
                        task_id="wait_for_sync",
                        sync_id="{{ params.sync_id }}",
                        execution_id="{{ params.execution_id }}",
                        completed_after="{{ params.completed_after }}",
                        fail_on_record_errors=not _errors_ok,
                        mode="reschedule" if _mode == "reschedule" else "poke",
                        deferrable=_mode == "deferrable",
                        poke_interval=0.2,
                        timeout=2 if _short else 60,
                        soft_fail=_soft,
                        # One retry: a sync failure or a timeout must not use it; an API error may.
                        retries=1,
                        retry_delay=timedelta(0),
                    )
                globals()[_dag.dag_id] = _dag

try:
    from airflow.sdk import Asset
except ImportError:  # Airflow 2
    from airflow.datasets import Dataset as Asset  # type: ignore[assignment,no-redef]

OUTLET_URI = "polytomic://syncs/test-outlet"

with DAG(
    "sensor_with_outlet",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    params={"sync_id": "", "execution_id": "", "completed_after": ""},
    catchup=False,
) as sensor_with_outlet:
    PolytomicSyncStatusSensor(
        task_id="wait_for_sync", sync_id="{{ params.sync_id }}", poke_interval=0.2, outlets=[Asset(OUTLET_URI)]
    )
