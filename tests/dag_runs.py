"""Running a test DAG with ``dag.test()`` and reading back what happened (both Airflow lines)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import API_KEY

DAGS = Path(__file__).resolve().parent / "dags"


@dataclass
class Run:
    state: str
    task_state: str
    tries: int
    xcom: dict[str, Any]
    log: str

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
    dag_run = dag.test(run_conf=conf)
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    result = Run(
        state=_state(dag_run.state),
        task_state=_state(ti.state),
        tries=int(ti.try_number),
        xcom=_xcoms(dag.dag_id, dag_run.run_id),
        log=log(),
    )
    assert API_KEY not in result.log
    assert API_KEY not in json.dumps(result.xcom, default=str)
    return result
