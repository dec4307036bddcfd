"""DAGs for tests/integration/test_process_faults.py: sensors and a start operator on syncs named in the run's conf.

Every waiting task polls each second, may retry once (a fault must not need the retry, except a killed
worker, which must), and gives up after five minutes. Conf keys: see each DAG.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_polytomic.operators.polytomic import PolytomicStartSyncOperator
from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor
from airflow_provider_polytomic.triggers.polytomic_events import PolytomicSyncCompletionTrigger

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
DEFAULTS: dict[str, Any] = {"retries": 1, "retry_delay": timedelta(seconds=2)}
SENSOR: dict[str, Any] = {"poke_interval": 1, "timeout": 300}
#: Reschedule-mode pokes every 5 s: with 1 s, the next poke could be queued before the executor reported the
#: last one, and Airflow 3.3's scheduler then marks the task UP_FOR_RETRY ("finished with state success, but
#: the task instance's state attribute is queued"), an Airflow race unrelated to the provider. A poke's exit is
#: reported up to [workers] min_heartbeat_interval late, so the tests set that to 1 s (default 5 s).
RESCHEDULED: dict[str, Any] = {**SENSOR, "poke_interval": 5, "mode": "reschedule"}
#: How many sensors of each kind a run of ``faults_deferred`` has.
PER_KIND = 2


def sensor(task_id: str, conf_key: str, index: int, **kwargs: Any) -> PolytomicSyncStatusSensor:
    return PolytomicSyncStatusSensor(
        task_id=task_id, sync_id=f"{{{{ dag_run.conf['{conf_key}'][{index}] }}}}", **{**SENSOR, **kwargs}
    )


# conf: {"known": [sync ids], "anchored": [sync ids], "completed_after": ISO 8601}. A "known" sync is running
# when its sensor defers (the trigger gets the execution id); an "anchored" one has no execution created after
# completed_after yet (the trigger gets an anchor instead).
with DAG(dag_id="faults_deferred", schedule=None, start_date=START, default_args=DEFAULTS, max_active_runs=4):
    for i in range(PER_KIND):
        sensor(f"known_{i}", "known", i, deferrable=True)
        sensor(
            f"anchored_{i}",
            "anchored",
            i,
            deferrable=True,
            completed_after="{{ dag_run.conf['completed_after'] }}",
        )

# conf: {"poke": sync id, "reschedule": sync id, "start": sync id}
with DAG(dag_id="faults_worker", schedule=None, start_date=START, default_args=DEFAULTS):
    PolytomicSyncStatusSensor(task_id="poke", sync_id="{{ dag_run.conf['poke'] }}", mode="poke", **SENSOR)
    PolytomicSyncStatusSensor(task_id="reschedule", sync_id="{{ dag_run.conf['reschedule'] }}", **RESCHEDULED)
    PolytomicStartSyncOperator(task_id="start", sync_id="{{ dag_run.conf['start'] }}", poll_interval=1, timeout=300)

# conf: {"deferred": [sync ids], "rescheduled": [sync ids]}
with DAG(dag_id="faults_scheduler", schedule=None, start_date=START, default_args=DEFAULTS):
    for i in range(PER_KIND):
        sensor(f"deferred_{i}", "deferred", i, deferrable=True)
        # 10 s: with SQLite the restarted scheduler's loop can stall several seconds on the database, long enough
        # for Airflow's executor race above at 5 s.
        sensor(f"rescheduled_{i}", "rescheduled", i, **{**RESCHEDULED, "poke_interval": 10})

WATCHED = os.environ.get("POLYTOMIC_FAULTS_WATCHED_SYNC", "0d9e2c7a-4b1f-4e3a-9c5d-7f6a8b9c0d1e")
WATCHED_SYNC = Asset(
    f"polytomic://syncs/{WATCHED}",
    watchers=[
        AssetWatcher(
            name="faults_watched_sync",
            trigger=PolytomicSyncCompletionTrigger(
                sync_id=WATCHED, polytomic_conn_id="polytomic_default", poll_interval=1
            ),
        )
    ],
)

with DAG(dag_id="faults_watcher", schedule=[WATCHED_SYNC], start_date=START):

    @task
    def executions(triggering_asset_events: Any = None) -> list[str]:
        return [event.extra["payload"]["execution_id"] for event in triggering_asset_events[WATCHED_SYNC]]

    executions()
