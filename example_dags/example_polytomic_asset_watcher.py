"""Run this DAG every time Polytomic finishes the orders sync (event-driven scheduling, Airflow 3).

No sensor and no schedule guessing: the asset `polytomic://syncs/<sync id>` has an `AssetWatcher` whose
`PolytomicSyncCompletionTrigger` polls the sync from Airflow's triggerer. Each execution that completes without
record errors becomes one asset event, and the event schedules this DAG. The task reads the execution summary
(execution id, status, counts, first errors, `outcome`, `sync_url`) from the triggering asset event's
`extra["payload"]`.

Exactly once per execution: on Airflow 3.3+ the watcher keeps its ledger in the asset state store, so a
triggerer restart neither repeats nor skips a run; on Airflow 3.0-3.2 executions that finished before the
watcher (re)started never fire. Two executions finishing within one scheduler loop may share one DAG run,
which then carries both events: the task handles every event it is given.

The watcher runs only while this DAG is unpaused. Needs a running triggerer. On Airflow 2 this file defines
no DAG (there are no asset watchers there).
"""

from __future__ import annotations

import os

try:
    from airflow.sdk import DAG, Asset, AssetWatcher, task
except ImportError:  # Airflow 2: no event-driven scheduling, so no DAG here
    EVENT_DRIVEN_SCHEDULING = False
else:
    EVENT_DRIVEN_SCHEDULING = True

if EVENT_DRIVEN_SCHEDULING:
    from datetime import datetime, timezone
    from typing import Any

    from airflow_provider_polytomic.triggers.polytomic_events import PolytomicSyncCompletionTrigger

    # The asset's URI must be known when the file is parsed, so the sync id comes from the environment
    # (or write it here), not from a template.
    SYNC_ID = os.environ.get("POLYTOMIC_EXAMPLE_SYNC_ID", "248df4b7-aa70-47b8-a036-33ac447e668d")
    POLL_INTERVAL = float(os.environ.get("POLYTOMIC_EXAMPLE_POKE_INTERVAL", "60"))

    ORDERS_SYNC = Asset(
        f"polytomic://syncs/{SYNC_ID}",
        watchers=[
            AssetWatcher(
                name="polytomic_orders_sync_completed",
                trigger=PolytomicSyncCompletionTrigger(
                    sync_id=SYNC_ID,
                    polytomic_conn_id="polytomic_default",
                    poll_interval=POLL_INTERVAL,
                    # outcomes=["succeeded", "failed"] would also fire on failed executions.
                ),
            )
        ],
    )

    with DAG(
        dag_id="example_polytomic_asset_watcher",
        description="Runs once per completed execution of a Polytomic sync",
        schedule=[ORDERS_SYNC],
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        doc_md=__doc__,
        tags=["example", "polytomic", "event-driven"],
    ):

        @task
        def refresh_marts(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
            summaries = [event.extra["payload"] for event in triggering_asset_events[ORDERS_SYNC]]
            for sync in summaries:
                print(
                    f"Polytomic sync {sync['sync_id']} execution {sync['execution_id']} {sync['outcome']} at "
                    f"{sync['completed_at']}: {sync['counts']}; refreshing the marts."
                )
            return summaries

        refresh_marts()
