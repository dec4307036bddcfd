"""Run Polytomic syncs now, then continue: the start-then-wait pattern (model and bulk syncs).

``load_postgres`` starts an incremental run of a bulk (ELT) sync into the warehouse and waits for it;
``refresh_orders`` then starts the orders sync and waits for it to complete (a retry after a worker crash gets the
same run back, never a second one; a timeout or a kill cancels the run it started). ``start_crm_sync`` only
starts the CRM sync and hands its execution id, through XCom, to a sensor that waits in the triggerer.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_polytomic.operators.polytomic import PolytomicStartBulkSyncOperator, PolytomicStartSyncOperator
from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor

POKE_INTERVAL = float(os.environ.get("POLYTOMIC_EXAMPLE_POKE_INTERVAL", "60"))

with DAG(
    dag_id="example_polytomic_start_sync",
    description="Start Polytomic syncs, then build on their data",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    doc_md=__doc__,
    tags=["example", "polytomic"],
    params={
        "postgres_bulk_sync_id": Param("3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", type="string"),
        "orders_sync_id": Param("248df4b7-aa70-47b8-a036-33ac447e668d", type="string"),
        "crm_sync_id": Param("8b4c0a6e-3f2d-4c1b-9e7a-5d6f1a2b3c4d", type="string"),
    },
) as dag:
    load_postgres = PolytomicStartBulkSyncOperator(
        task_id="load_postgres",
        sync_id="{{ params.postgres_bulk_sync_id }}",
        fetch_mode="incremental",
        poll_interval=POKE_INTERVAL,
        timeout=timedelta(hours=3).total_seconds(),
    )
    refresh_orders = PolytomicStartSyncOperator(
        task_id="refresh_orders",
        sync_id="{{ params.orders_sync_id }}",
        poll_interval=POKE_INTERVAL,
        timeout=timedelta(hours=2).total_seconds(),
        if_running="attach",  # a scheduled run already going is as good as a new one
    )

    start_crm_sync = PolytomicStartSyncOperator(
        task_id="start_crm_sync",
        sync_id="{{ params.crm_sync_id }}",
        wait_for_completion=False,
    )
    wait_for_crm_sync = PolytomicSyncStatusSensor(
        task_id="wait_for_crm_sync",
        sync_id="{{ params.crm_sync_id }}",
        execution_id="{{ ti.xcom_pull(task_ids='start_crm_sync', key='execution_id') }}",
        deferrable=True,
        poke_interval=POKE_INTERVAL,
        timeout=timedelta(hours=2).total_seconds(),
    )

    @task
    def build_customer_360(orders: dict[str, Any], crm: dict[str, Any]) -> None:
        print(f"Orders run {orders['execution_id']} and CRM run {crm['execution_id']} completed; building.")

    load_postgres >> refresh_orders
    start_crm_sync >> wait_for_crm_sync
    build_customer_360(refresh_orders.output, wait_for_crm_sync.output)
