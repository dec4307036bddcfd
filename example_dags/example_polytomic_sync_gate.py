"""Gate a warehouse job on two Polytomic syncs (poke and reschedule mode).

The nightly marts must not build from half-loaded tables: each build waits for the Polytomic sync that loads
its source, and runs only when that sync's execution completed without record errors. A failed, canceled or
interrupted execution fails its sensor, and the build behind it does not run.

Set the sync ids when you trigger the DAG (Params), or change the defaults below.
``POLYTOMIC_EXAMPLE_POKE_INTERVAL`` (seconds, default 60) only exists so the demo can poll quickly.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor

POKE_INTERVAL = float(os.environ.get("POLYTOMIC_EXAMPLE_POKE_INTERVAL", "60"))

with DAG(
    dag_id="example_polytomic_sync_gate",
    description="Build marts only after the Polytomic syncs that load them completed cleanly",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    doc_md=__doc__,
    tags=["example", "polytomic"],
    params={
        "orders_sync_id": Param(
            "248df4b7-aa70-47b8-a036-33ac447e668d", type="string", description="Postgres orders → Snowflake sync"
        ),
        "crm_sync_id": Param(
            "8b4c0a6e-3f2d-4c1b-9e7a-5d6f1a2b3c4d", type="string", description="Salesforce accounts → Snowflake sync"
        ),
    },
) as dag:
    wait_for_orders_sync = PolytomicSyncStatusSensor(
        task_id="wait_for_orders_sync",
        sync_id="{{ params.orders_sync_id }}",
        poke_interval=POKE_INTERVAL,
        timeout=timedelta(hours=2).total_seconds(),
        mode="poke",
    )
    wait_for_crm_sync = PolytomicSyncStatusSensor(
        task_id="wait_for_crm_sync",
        sync_id="{{ params.crm_sync_id }}",
        poke_interval=POKE_INTERVAL,
        timeout=timedelta(hours=2).total_seconds(),
        # Reschedule mode frees the worker slot between pokes.
        mode="reschedule",
    )

    @task
    def build_orders_mart(sync: dict[str, Any]) -> str:
        """Stands in for the dbt/SQL job that needs the freshly loaded orders."""
        counts = sync["counts"]
        print(f"Building the orders mart from execution {sync['execution_id']}: {counts}")
        return "orders_mart"

    @task
    def build_account_health(sync: dict[str, Any]) -> str:
        print(f"Building account health from execution {sync['execution_id']}")
        return "account_health"

    @task
    def publish_dashboards(marts: list[str]) -> None:
        print(f"Publishing dashboards over {', '.join(marts)}")

    orders_mart = build_orders_mart(wait_for_orders_sync.output)
    account_health = build_account_health(wait_for_crm_sync.output)
    publish_dashboards([orders_mart, account_health])
