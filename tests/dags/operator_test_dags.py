"""DAGs the start-operator tests run with ``dag.test()``; the sync id comes from params."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

from airflow_provider_polytomic.operators.polytomic import PolytomicStartSyncOperator

VARIANTS: dict[str, dict[str, Any]] = {
    "start_poke": {},
    "start_deferrable": {"deferrable": True},
    "start_nowait": {"wait_for_completion": False},
    "start_fail_if_running": {"if_running": "fail"},
    "start_short_poke": {"timeout": 1.5},
    "start_short_deferrable": {"timeout": 1.5, "deferrable": True},
}

for _dag_id, _options in VARIANTS.items():
    with DAG(
        _dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
        params={"sync_id": ""},
        catchup=False,
    ) as _dag:
        PolytomicStartSyncOperator(
            task_id="run_sync",
            sync_id="{{ params.sync_id }}",
            poll_interval=0.2,
            retries=1,
            retry_delay=timedelta(0),
            **_options,
        )
    globals()[_dag.dag_id] = _dag
