"""DAGs for tests/integration/test_triggerer_safety.py: trigger rows this provider version cannot run, next to a
valid one, as version skew writes them (a worker or DAG processor on another provider version).

``triggerer_safety``: ``valid`` is a deferrable sensor; each other task is the same
sensor whose trigger row is rewritten before it reaches the database, one bad argument each. An asset watched
by a watcher whose row names an outcome this version does not know, and a DAG scheduled on it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_polytomic.sensors.polytomic import PolytomicSyncStatusSensor
from airflow_provider_polytomic.triggers.polytomic_events import PolytomicSyncCompletionTrigger

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
DEFAULTS: dict[str, Any] = {"retries": 1, "retry_delay": timedelta(seconds=1)}
#: What the rows claim as their writer: a newer provider.
WRITER = "9.9.9"


class RowWriter(BaseEventTrigger):  # type: ignore[misc]
    """Writes a trigger row as it is given: the triggerer then builds the class the row names, never this one."""

    def __init__(self, classpath: str, kwargs: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.classpath, self.kwargs = classpath, kwargs

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self.classpath, self.kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:  # pragma: no cover - never built in a triggerer
        raise NotImplementedError
        yield


class SkewedSensor(PolytomicSyncStatusSensor):
    """The deferrable sensor, its trigger row changed: ``change`` merged in (``watch`` into the watch)."""

    def __init__(self, *, change: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.change = change

    def defer(self, *, trigger: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        classpath, row = trigger.serialize()
        change = dict(self.change)
        row = {**row, "provider_version": WRITER, **change, "watch": {**row["watch"], **change.pop("watch", {})}}
        return super().defer(trigger=RowWriter(classpath, row), **kwargs)


SENSOR: dict[str, Any] = {"deferrable": True, "poke_interval": 1, "timeout": 300}
#: Each bad task and how its row differs from a good one.
BAD: dict[str, dict[str, Any]] = {
    "unknown_watch_option": {"change": {"watch": {"only_full_syncs": True}}},
    "zero_poll_interval": {"change": {"poll_interval": 0}},
    "unknown_kind": {"change": {"watch": {"kind": "cdc"}}},
}
# Not here: a row without the version mark (its constructor raises TypeError, and Airflow fails the trigger).
# Airflow 3.3 then keeps that trigger id as running until the triggerer restarts, and SQLite reuses ids, so a
# retry's new trigger can get that id and never start; tests/unit/sensors/test_polytomic.py covers the message.

# conf: {"sync": a sync that completes soon, "stuck": one that runs on (the bad tasks must defer)}
# Retries only absorb Airflow 3.3's own executor race (a deferral's exit reported after the resumed try was
# queued: "task-state-changed-externally"), which a trigger that fires at once meets on a loaded machine.
with DAG(dag_id="triggerer_safety", schedule=None, start_date=START, default_args=DEFAULTS):
    PolytomicSyncStatusSensor(task_id="valid", sync_id="{{ dag_run.conf['sync'] }}", **SENSOR)
    for task_id, skew in BAD.items():
        SkewedSensor(task_id=task_id, sync_id="{{ dag_run.conf['stuck'] }}", **skew, **SENSOR)

WATCHED = os.environ.get("POLYTOMIC_SAFETY_WATCHED_SYNC", "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b")
_classpath, _kwargs = PolytomicSyncCompletionTrigger(sync_id=WATCHED, poll_interval=1).serialize()
WATCHED_SYNC = Asset(
    f"polytomic://syncs/{WATCHED}",
    watchers=[
        AssetWatcher(
            name="skewed_watcher",
            trigger=RowWriter(_classpath, {**_kwargs, "outcomes": ["completed"], "provider_version": WRITER}),
        )
    ],
)

with DAG(dag_id="triggerer_safety_watched", schedule=[WATCHED_SYNC], start_date=START):

    @task
    def fired() -> None:
        pass

    fired()
