"""The real-triggerer benchmark's deferred tasks, made through Airflow's own models (``benchmarks/real_triggerer.py``).

Deferring hundreds of tasks through the scheduler takes minutes on a small machine (600 took about 4 minutes on
2 CPUs), so this puts the metadata database in the state the scheduler and workers would have left it in: a run
of the benchmark's DAG whose task instances are DEFERRED, each pointing to a ``Trigger`` row made by
``Trigger.from_object`` from a trigger object, on the triggerer queue of one phase. The triggerer then loads and
runs them as it would any deferred task (the benchmark counts their polls at the emulator to prove it).

The deferrals arrive spread over ``--ramp`` seconds, in small batches, as tasks defer one by one in a live
deployment: the triggerer starts each batch in its next loop, so the polls spread over the interval instead of
arriving in one burst.

``python -m benchmarks.triggerer_db defer --phase info --variant provider --queue bench-info --scenario FILE
--url URL --interval 10 --ramp 10`` (in the deployment's environment: ``AIRFLOW_HOME`` and the rest)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

DAG_ID = "polytomic_bench_real_triggerer"
TASK_PREFIX = "wait_"
BATCH_SECONDS = 0.5
#: How long a benchmark wait may last, at most (the deferral's timeout and the provider's deadline).
WAIT_LIMIT_SECONDS = 6 * 3600


def dag_file(waits: int) -> str:
    """The benchmark's DAG: ``waits`` tasks that never run (their task instances are deferred by hand)."""
    return f'''"""The real-triggerer benchmark's DAG (benchmarks/triggerer_db.py): {waits} task instances to defer."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(dag_id="{DAG_ID}", schedule=None, catchup=False, tags=["benchmark"]):
    for number in range({waits}):
        EmptyOperator(task_id=f"{TASK_PREFIX}{{number:05d}}")
'''


def make_trigger(variant: str, sync_id: str, execution_id: str, url: str, interval: float) -> Any:
    """The trigger a deferred task would have handed to Airflow: the provider's (as its sensor builds it, with
    an execution id) or the floor's."""
    if variant == "floor":
        from benchmarks.floor_trigger import FloorTrigger

        return FloorTrigger(url=url, sync_id=sync_id, execution_id=execution_id, poll_interval=interval)
    from airflow_provider_polytomic.triggers.polytomic import PolytomicSyncStatusTrigger

    return PolytomicSyncStatusTrigger(
        sync_id=sync_id, execution_id=execution_id, poll_interval=interval, deadline=time.time() + WAIT_LIMIT_SECONDS
    )


def defer(args: argparse.Namespace) -> dict[str, Any]:
    from datetime import datetime, timedelta, timezone

    from airflow.models.dagrun import DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import select

    scenario = json.loads(Path(args.scenario).read_text(encoding="utf-8"))
    pairs = [(sync["id"], sync["executions"][0]["id"]) for sync in scenario["syncs"]]
    with create_session() as session:
        dag = SerializedDagModel.get_dag(DAG_ID, session=session)
        if dag is None:
            raise SystemExit(f"{DAG_ID} is not in the metadata database: was the DAGs folder serialized?")
        run: DagRun = dag.create_dagrun(
            run_id=args.phase,
            run_after=datetime.now(timezone.utc),
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.TEST,
            state=DagRunState.RUNNING,
            start_date=datetime.now(timezone.utc),
            session=session,
        )
        task_ids = sorted(ti.task_id for ti in run.get_task_instances(session=session))
    if len(task_ids) < len(pairs):
        raise SystemExit(f"{DAG_ID} has {len(task_ids)} tasks for {len(pairs)} waits: serialize it again")
    waits = list(zip(task_ids[: len(pairs)], pairs, strict=True))
    batches = max(1, min(len(waits), round(args.ramp / BATCH_SECONDS)))
    started = time.monotonic()
    for batch in range(batches):
        chunk = waits[batch * len(waits) // batches : (batch + 1) * len(waits) // batches]
        delay = started + batch * args.ramp / batches - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with create_session() as session:
            instances = {
                ti.task_id: ti
                for ti in session.scalars(
                    select(TaskInstance).where(
                        TaskInstance.dag_id == DAG_ID,
                        TaskInstance.run_id == args.phase,
                        TaskInstance.task_id.in_([task_id for task_id, _ in chunk]),
                    )
                )
            }
            now = datetime.now(timezone.utc)
            for task_id, (sync_id, execution_id) in chunk:
                row = Trigger.from_object(make_trigger(args.variant, sync_id, execution_id, args.url, args.interval))
                row.queue = args.queue
                session.add(row)
                session.flush()  # the row's id
                ti = instances[task_id]
                ti.state = TaskInstanceState.DEFERRED
                ti.trigger_id = row.id
                ti.try_number = 1
                ti.start_date = now
                ti.next_method = "execute_complete"
                ti.trigger_timeout = now + timedelta(seconds=WAIT_LIMIT_SECONDS)
    return {"deferred": len(pairs), "batches": batches, "seconds": round(time.monotonic() - started, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.triggerer_db", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    deferring = commands.add_parser("defer", help="one phase's deferred task instances and their triggers")
    deferring.add_argument("--phase", required=True, help="the phase: also the DAG run's id")
    deferring.add_argument("--variant", choices=("floor", "provider"), required=True)
    deferring.add_argument("--queue", required=True, help="the triggerer queue of the phase's triggers")
    deferring.add_argument("--scenario", required=True, help="the emulator's scenario: one wait per sync")
    deferring.add_argument("--url", required=True, help="the emulator (the floor's triggers poll it directly)")
    deferring.add_argument("--interval", type=float, required=True, help="poll interval, s")
    deferring.add_argument("--ramp", type=float, required=True, help="spread the deferrals over this many s")
    args = parser.parse_args(argv)
    print(json.dumps(defer(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
