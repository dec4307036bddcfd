"""What every Polytomic task shares besides its wait: the link pushed first, and the asset event's extra."""

from __future__ import annotations

from typing import Any

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
from airflow_provider_polytomic.links.polytomic import SYNC_URL_XCOM_KEY
from airflow_provider_polytomic.polytomic_task import publish, push_sync_url

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"


class TaskInstance:
    """The one call of Airflow's task instance the link uses."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def test_the_link_is_pushed_first_whatever_the_sync_id(make_connection: Any) -> None:
    hook = PolytomicHook(polytomic_conn_id=make_connection())
    for sync_id, kind, expected in (
        (SYNC, SyncKind.MODEL, f"/syncs/{SYNC}"),
        (SYNC, SyncKind.BULK, f"/bulk/syncs/{SYNC}"),
        ("{{ not rendered }}", SyncKind.MODEL, ""),
    ):
        ti = TaskInstance()
        push_sync_url({"ti": ti}, hook, sync_id, kind)  # type: ignore[arg-type]
        assert ti.pushed[SYNC_URL_XCOM_KEY].startswith("http://127.0.0.1")
        assert ti.pushed[SYNC_URL_XCOM_KEY].endswith(expected)
    ti = TaskInstance()
    push_sync_url({"ti": ti}, PolytomicHook(polytomic_conn_id="missing"), SYNC, SyncKind.MODEL)  # type: ignore[arg-type]
    assert ti.pushed == {SYNC_URL_XCOM_KEY: ""}  # an unusable connection: no link rather than a wrong one


def test_the_summary_goes_into_the_extra_of_each_asset_and_nothing_else() -> None:
    from airflow.providers.common.compat.sdk import Asset

    class Event:
        def __init__(self) -> None:
            self.extra: dict[str, Any] = {}

    class OutletEvents:
        """Airflow's accessors look an asset up by its URI: an Asset is not hashable on Airflow 3.0."""

        def __init__(self) -> None:
            self.by_uri: dict[str, Event] = {}

        def __getitem__(self, asset: Any) -> Event:
            return self.by_uri.setdefault(asset.uri, Event())

    orders, other = Asset("polytomic://orders"), "not an asset"
    events = OutletEvents()
    summary = {"sync_id": SYNC, "execution_id": "e", "status": "completed"}
    assert publish({"outlet_events": events}, summary, [orders, other]) == summary  # type: ignore[typeddict-item]
    assert list(events.by_uri) == [orders.uri]
    assert events.by_uri[orders.uri].extra == summary
