"""Every example DAG imports cleanly, with no I/O at parse time, on the Airflow line under test."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
EXPECTED = {"example_polytomic_sync_gate", "example_polytomic_deferrable", "example_polytomic_start_sync"}
#: Scheduled by an asset watcher rather than gated by a Polytomic task; Airflow 3 only (none on Airflow 2).
ASSET_WATCHER_DAG = "example_polytomic_asset_watcher"


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
    assert (ASSET_WATCHER_DAG in dagbag.dag_ids) is AIRFLOW_V_3_0_PLUS
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


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="asset watchers (event-driven scheduling) need Airflow 3")
def test_the_asset_watcher_example_is_scheduled_by_a_polytomic_watcher() -> None:
    from airflow_provider_polytomic.triggers.polytomic_events import PolytomicSyncCompletionTrigger

    dag = _dagbag().dags[ASSET_WATCHER_DAG]
    assert dag.doc_md
    (asset,) = dag.timetable.asset_condition.objects
    assert asset.uri.startswith("polytomic://syncs/")
    (watcher,) = asset.watchers
    assert isinstance(watcher.trigger, PolytomicSyncCompletionTrigger)
    assert asset.uri.endswith(watcher.trigger.sync_id)
    # No parse-time timestamp in the kwargs: each parse must give the same trigger, or the watcher is replaced.
    assert watcher.trigger.serialize()[1]["watermark"] is None
    assert [task.task_id for task in dag.tasks] == ["refresh_marts"]


def _required_but_empty(param: Any) -> bool:
    """What Airflow 3.3's trigger form refuses: an empty value (None or "") for a param that does not allow null.

    Such a param keeps the Trigger button greyed out until someone types a value, even though JSON Schema would
    accept "" as a string; so the defaults alone must fill every param that is not explicitly optional.
    """
    types = param.schema.get("type")
    allowed = [types] if isinstance(types, str) else list(types or [])
    return param.value in (None, "") and "null" not in allowed


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_every_example_dag_can_be_triggered_with_its_default_params(dag_id: str) -> None:
    dag = _dagbag().dags[dag_id]
    assert dag.params, f"{dag_id} has no params to check"
    resolved = dag.params.validate()  # raises ParamValidationError when a default breaks its own schema
    assert set(resolved) == set(dag.params)
    for key in dag.params:
        param = dag.params.get_param(key)
        assert not _required_but_empty(param), (
            f"{dag_id}: param {key!r} is empty but required; use Param(None, type=['null', 'string'])"
        )


def test_the_ui_rule_catches_an_empty_required_string() -> None:
    from airflow.providers.common.compat.sdk import Param

    assert _required_but_empty(Param("", type="string"))
    assert _required_but_empty(Param(None, type="string"))
    assert not _required_but_empty(Param(None, type=["null", "string"]))
    assert not _required_but_empty(Param("248df4b7-aa70-47b8-a036-33ac447e668d", type="string"))
