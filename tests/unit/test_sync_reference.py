"""``sync_name=``: exactly one of sync_id and sync_name, told when the DAG is parsed where it can be."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_polytomic.sync_reference import check_sync_reference, own_xcom

SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"


@pytest.mark.parametrize(
    ("sync_id", "sync_name"),
    [(SYNC, None), (None, "Orders"), ("{{ params.sync_id }}", "{{ params.sync_name }}"), (SYNC, "{{ params.name }}")],
)
def test_one_reference_or_templates_that_may_render_empty_pass_at_parse_time(sync_id: Any, sync_name: Any) -> None:
    check_sync_reference("wait", sync_id, sync_name)


@pytest.mark.parametrize(("sync_id", "sync_name"), [(None, None), ("", ""), (None, "")])
def test_neither_is_refused_naming_the_task(sync_id: Any, sync_name: Any) -> None:
    with pytest.raises(ValueError, match=r"^wait: pass sync_id .* or sync_name"):
        check_sync_reference("wait", sync_id, sync_name)


def test_two_literals_are_refused_naming_both() -> None:
    with pytest.raises(ValueError, match="exactly one of sync_id and sync_name") as raised:
        check_sync_reference("wait", SYNC, "Orders")
    assert SYNC in str(raised.value) and "Orders" in str(raised.value)


class PushedXComs:
    """The part of a task instance ``own_xcom`` reads: what was pushed, by task id, key and map index."""

    def __init__(self, map_index: int | None) -> None:
        self.task_id = "start"
        self.map_index = map_index
        self.asked: list[tuple[str, str, int | None]] = []

    def xcom_pull(self, *, task_ids: str, key: str, map_indexes: int | None) -> str:
        self.asked.append((task_ids, key, map_indexes))
        return f"{key}@{map_indexes}"


@pytest.mark.parametrize(("map_index", "asked"), [(None, None), (-1, None), (0, 0), (3, 3)])
def test_own_xcom_reads_this_task_instances_own_map_index(map_index: int | None, asked: int | None) -> None:
    ti = PushedXComs(map_index)
    assert own_xcom({"ti": ti}, "polytomic_sync_id") == f"polytomic_sync_id@{asked}"  # type: ignore[typeddict-item]
    assert ti.asked == [("start", "polytomic_sync_id", asked)]
