"""The task state store as the sensors use it: what it keeps it gives back; a store that fails is a warning
and "nothing kept", never the task's failure; without a store (Airflow before 3.3) every call does nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_polytomic.task_state_store import TaskStateStore

log = logging.getLogger("test.task_state_store")


class Kept:
    """A store with Airflow's three calls (get, set, delete); ``broken`` makes each raise."""

    def __init__(self, broken: bool = False) -> None:
        self.values: dict[str, Any] = {}
        self.broken = broken

    def _check(self) -> None:
        if self.broken:
            raise ConnectionError("the API server is restarting")

    def get(self, key: str) -> Any:
        self._check()
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self._check()
        self.values[key] = value

    def delete(self, key: str) -> None:
        self._check()
        self.values.pop(key, None)


def test_what_it_keeps_it_gives_back_until_it_is_deleted() -> None:
    store = TaskStateStore.of({"task_state_store": Kept()}, log)  # type: ignore[arg-type]
    assert store.available and store.get("k") is None
    assert store.set("k", {"execution_id": "e"})
    assert store.get("k") == {"execution_id": "e"}
    store.delete("k")
    assert store.get("k") is None


def test_a_store_that_fails_is_one_warning_per_call_and_nothing_kept(caplog: pytest.LogCaptureFixture) -> None:
    store = TaskStateStore(Kept(broken=True), log)
    with caplog.at_level(logging.WARNING, logger=log.name):
        assert store.get("k") is None
        assert store.set("k", 1) is False
        store.delete("k")
    said = [record.getMessage() for record in caplog.records]
    assert [line.split(" the task")[0] for line in said] == ["Could not read", "Could not write", "Could not clear"]
    assert all("ConnectionError: the API server is restarting" in line for line in said)


def test_without_a_store_every_call_does_nothing() -> None:
    store = TaskStateStore.of({}, log)  # type: ignore[arg-type]
    assert not store.available
    assert store.get("k") is None and store.set("k", 1) is False
    store.delete("k")
