"""Every example DAG imports cleanly, with no I/O at parse time, on the Airflow line under test."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

EXAMPLE_DAGS = Path(__file__).resolve().parent.parent / "example_dags"
EXPECTED = {"example_polytomic_sync_gate", "example_polytomic_deferrable", "example_polytomic_start_sync"}


def _dagbag() -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.1+
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    try:
        return DagBag(dag_folder=str(EXAMPLE_DAGS), include_examples=False)
    except TypeError:  # Airflow 3.3 dropped include_examples (it never loads them here)
        return DagBag(dag_folder=str(EXAMPLE_DAGS))


def test_every_example_dag_loads_without_import_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("an example DAG opened a connection at parse time")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    dagbag = _dagbag()
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) >= EXPECTED
    for dag_id in EXPECTED:
        dag = dagbag.dags[dag_id]
        assert dag.doc_md, f"{dag_id} has no doc_md"
        polytomic = [t for t in dag.tasks if t.task_type.startswith("Polytomic")]
        assert polytomic, f"{dag_id} uses no Polytomic operator"
        for task in polytomic:
            assert "{{" in task.sync_id, f"{dag_id}.{task.task_id}: sync_id should be templated"
            assert task.downstream_task_ids, f"{dag_id}.{task.task_id} gates nothing"


def test_the_deferrable_example_defers() -> None:
    dag = _dagbag().dags["example_polytomic_deferrable"]
    assert dag.get_task("wait_for_sync").deferrable is True
