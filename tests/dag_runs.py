"""Running a test DAG with ``dag.test()`` and reading back what happened (every Airflow line)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from tests.conftest import API_KEY

DAGS = Path(__file__).resolve().parent / "dags"
#: Where the key may appear in a ``dag.test()`` log on Airflow 3.0, and only there (a real worker's log shows
#: neither, and later lines print neither):
#: - the in-process supervisor's debug echo of each request, ``MaskSecret(value=...)`` included: the request that
#:   registers a secret with the masker, logged before the masker knows it (a real supervisor omits its body);
#: - the console's rich traceback of a failed task, which prints every frame's local variables (a real worker's
#:   JSON log has ``show_locals=False``).
#: The key anywhere else in the log still fails the run.
MASK_REQUEST_ECHO = re.compile(r"Sending request +msg=MaskSecret\(value='[^']*'")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOCALS_PANEL = re.compile(r"╭─+ locals ─+╮.*?╰─+╯", re.S)


@dataclass
class Run:
    state: str
    task_state: str
    tries: int
    xcom: dict[str, Any]
    log: str
    run_id: str = ""

    @property
    def summary(self) -> dict[str, Any]:
        value: dict[str, Any] = self.xcom["return_value"]
        return value


def load_dagbag() -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag


def _state(value: Any) -> str:
    return str(getattr(value, "value", value))


def _xcoms(dag_id: str, run_id: str) -> dict[str, Any]:
    from airflow.utils.session import create_session

    try:
        from airflow.models.xcom import XComModel as XComRow  # Airflow 3
    except ImportError:
        from airflow.models.xcom import BaseXCom as XComRow  # type: ignore[no-redef]

    with create_session() as session:
        rows = session.query(XComRow).filter(XComRow.dag_id == dag_id, XComRow.run_id == run_id).all()
        # Both lines hand the value back decoded (JSON column / orm reconstructor); bytes would be JSON text.
        return {row.key: json.loads(row.value) if isinstance(row.value, bytes) else row.value for row in rows}


def run_dag(dag: Any, conf: dict[str, Any], task_id: str, log: Any) -> Run:
    """Run ``dag`` once; the state of ``task_id``, the run's XComs and the captured log.

    Also checks that the API key appears in neither the log nor any XCom.
    """
    with _reschedule_dates_as_a_worker_gets_them():
        dag_run = dag.test(run_conf=conf)
    return _result(dag, dag_run, task_id, log)


def _result(dag: Any, dag_run: Any, task_id: str, log: Any) -> Run:
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    result = Run(
        state=_state(dag_run.state),
        task_state=_state(ti.state),
        tries=int(ti.try_number),
        xcom=_xcoms(dag.dag_id, dag_run.run_id),
        log=log(),
        run_id=dag_run.run_id,
    )
    assert API_KEY not in without_airflow_echoes(result.log)
    assert API_KEY not in json.dumps(result.xcom, default=str)
    return result


def without_airflow_echoes(log: str) -> str:
    """``log`` less what Airflow 3.0's ``dag.test()`` prints that a worker's log does not (``MASK_REQUEST_ECHO``)."""
    log = MASK_REQUEST_ECHO.sub("Sending request msg=MaskSecret(value=<registered>", log)
    return LOCALS_PANEL.sub("<locals>", ANSI.sub("", log))


@contextlib.contextmanager
def _reschedule_dates_as_a_worker_gets_them() -> Iterator[None]:
    """Make ``dag.test()`` hand a reschedule-mode sensor its first poke's date as a real worker gets it.

    Airflow 3.0's API client builds that answer with ``model_construct`` (no validation), so the date stays a
    string. A real worker still gets a datetime (the supervisor sends the answer through its socket, and the task
    side validates it), but ``dag.test()`` passes the object itself, and every reschedule-mode sensor, Airflow's
    own included, then fails on its second poke. Validating the answer does here what the socket does there; on
    lines that validate already it changes nothing.
    """
    try:
        from airflow.sdk.api.client import TaskInstanceOperations
        from airflow.sdk.execution_time.comms import TaskRescheduleStartDate
    except ImportError:  # Airflow 2: the sensor reads the database itself
        yield
        return
    unvalidated = TaskInstanceOperations.get_reschedule_start_date

    def validated(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = unvalidated(self, *args, **kwargs)
        return TaskRescheduleStartDate.model_validate({"start_date": answer.start_date})

    with mock.patch.object(TaskInstanceOperations, "get_reschedule_start_date", validated):
        yield


# -- the task state store and a user's clear (Airflow 3.3+) -----------------------------------------------------


def _scope(dag_id: str, run: Run, task_id: str) -> Any:
    from airflow.state import TaskScope

    return TaskScope(dag_id=dag_id, run_id=run.run_id, task_id=task_id)


def task_state(dag_id: str, run: Run, task_id: str, key: str) -> Any:
    """What the task instance keeps under ``key`` in Airflow's task state store (None when nothing)."""
    from airflow.state import get_state_backend

    stored = get_state_backend().get(_scope(dag_id, run, task_id), key)
    return None if stored is None else json.loads(stored)


def keep_task_state(dag_id: str, run: Run, task_id: str, key: str, value: Any) -> None:
    """Write ``value`` under ``key`` in Airflow's task state store, as a task's try does."""
    from airflow.state import get_state_backend

    get_state_backend().set(_scope(dag_id, run, task_id), key, json.dumps(value))


def clear_and_rerun(dag: Any, run: Run, task_id: str, log: Any) -> Run:
    """Clear ``task_id`` in ``run`` as a user does (Airflow's ``clear_task_instances``, what the UI's Clear
    calls), then run the DAG run on as ``dag.test()`` does, until it finishes."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import clear_task_instances
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState

    with create_session() as session:
        dag_run = session.query(DagRun).filter(DagRun.dag_id == dag.dag_id, DagRun.run_id == run.run_id).one()
        cleared = [ti for ti in dag_run.get_task_instances(session=session) if ti.task_id == task_id]
        clear_task_instances(cleared, session)
        dag_run.state = DagRunState.RUNNING
    with create_session() as session, _reschedule_dates_as_a_worker_gets_them():
        dag_run = session.query(DagRun).filter(DagRun.dag_id == dag.dag_id, DagRun.run_id == run.run_id).one()
        dag_run.dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))  # as dag.test() does
        while dag_run.state == DagRunState.RUNNING:  # dag.test()'s own loop, less what these DAGs never need
            session.expire_all()
            schedulable, _ = dag_run.update_state(session=session)
            for ti in schedulable:
                if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:
                    ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            for ti in dag_run.get_task_instances(session=session):
                if ti.state == TaskInstanceState.SCHEDULED:
                    _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
        return _result(dag, dag_run, task_id, log)
