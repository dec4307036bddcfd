"""Wait for today's Polytomic sync in the triggerer, then load downstream (deferrable sensor).

A daily DAG whose upstream data arrives through an hourly Polytomic sync. ``completed_after`` makes the sensor
ignore executions created before this DAG run's data interval ended, so yesterday's good run cannot open
today's gate. While it waits, the sensor holds no worker slot: ``PolytomicSyncStatusTrigger`` polls from
Airflow's triggerer, and only the API key's connection id travels with it.

Needs a running triggerer (``airflow triggerer``, included in ``airflow standalone``).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor

POKE_INTERVAL = float(os.environ.get("POLYTOMIC_EXAMPLE_POKE_INTERVAL", "60"))

with DAG(
    dag_id="example_polytomic_deferrable",
    description="Wait for the day's Polytomic sync without holding a worker slot",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    doc_md=__doc__,
    tags=["example", "polytomic"],
    params={
        "sync_id": Param(
            "248df4b7-aa70-47b8-a036-33ac447e668d", type="string", description="The Polytomic model sync to wait for"
        ),
        # Optional (None, so the UI's Trigger button works with the defaults): without it a manual run waits for
        # the sync's current (else last) execution; scheduled runs use the data interval.
        "completed_after": Param(
            None, type=["null", "string"], description="Optional, ISO 8601: ignore executions created before it"
        ),
    },
) as dag:
    wait_for_sync = PolytomicSyncStatusSensor(
        task_id="wait_for_sync",
        sync_id="{{ params.sync_id }}",
        # A manual run on Airflow 3 may have no data interval: then only the param counts.
        completed_after="{{ params.completed_after or data_interval_end | default('', true) }}",
        deferrable=True,
        poke_interval=POKE_INTERVAL,
        timeout=timedelta(hours=6).total_seconds(),
        execution_timeout=timedelta(hours=7),
    )

    @task
    def load_reports(sync: dict[str, Any]) -> None:
        print(
            f"Sync {sync['sync_id']} execution {sync['execution_id']} {sync['status']} at {sync['completed_at']}: "
            f"{sync['counts']}"
        )

    load_reports(wait_for_sync.output)
