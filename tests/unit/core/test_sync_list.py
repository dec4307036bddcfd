"""Listing syncs and finding one by name: the calls, the bounded walk, and what a look-up by name concludes."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_polytomic.core import sync_list
from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import (
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicError,
    PolytomicNotFoundError,
)
from airflow_provider_polytomic.core.sync_list import SyncListItem, SyncListPage
from tests.unit.core.samples import SYNC, A, B
from tests.unit.core.samples import client_config as config


def item(sync_id: str, name: str, **more: Any) -> SyncListItem:
    return SyncListItem.from_api({"id": sync_id, "name": name, **more})


def test_the_list_calls_ask_for_full_pages_of_model_syncs_and_one_bulk_list() -> None:
    first = sync_list.list_syncs()
    assert (first.method, first.path, first.params) == ("GET", "/api/syncs", {"limit": "50"})
    later = sync_list.list_syncs(SyncKind.MODEL, page_token="tok", active=False)
    assert later.params == {"limit": "50", "active": "false", "page_token": "tok"}
    bulk = sync_list.list_syncs(SyncKind.BULK, active=True)
    assert (bulk.path, bulk.params) == ("/api/bulk/syncs", {"active": "true"})


def test_a_page_is_read_from_the_whole_document_tolerantly() -> None:
    body = (
        b'{"data": [{"id": "%s", "name": "Orders", "active": false, "mode": "updateOrCreate", '
        b'"updated_at": "2026-01-01T00:00:00Z", "target_connection_id": null}, {"id": "%s"}], '
        b'"pagination": {"next_page_token": "abc"}}' % (SYNC.encode(), A.encode())
    )
    page = sync_list.list_syncs().read(config(), 200, {}, body)
    assert page.next_page_token == "abc"
    orders, unnamed = page.items
    assert (orders.name, orders.active, orders.mode, orders.updated_at.year) == (
        "Orders",
        False,
        "updateOrCreate",
        2026,
    )
    assert (unnamed.name, unnamed.active) == ("", None)
    bulk = sync_list.list_syncs(SyncKind.BULK).read(config(), 200, {}, b'{"data": []}')
    assert bulk == SyncListPage((), None)
    with pytest.raises(PolytomicBadResponseError, match="my_conn"):
        sync_list.list_syncs().read(config(), 200, {}, b'{"data": [{"name": "no id"}]}')


def pages(*names_per_page: list[str]) -> dict[str | None, SyncListPage]:
    """A fake API's pages, by the token that asks for them."""
    answers: dict[str | None, SyncListPage] = {}
    for index, names in enumerate(names_per_page):
        token = f"t{index + 1}" if index + 1 < len(names_per_page) else None
        items = tuple(item(f"{index:08d}-0000-4000-8000-{n:012d}", name) for n, name in enumerate(names))
        answers[f"t{index}" if index else None] = SyncListPage(items, token)
    return answers


def test_a_walk_reads_each_page_only_when_the_one_before_is_used_up() -> None:
    answers = pages(["a", "b"], ["c"], ["d"])
    asked: list[str | None] = []

    def send(call: Any) -> SyncListPage:
        token = (call.params or {}).get("page_token")
        asked.append(token)
        return answers[token]

    listed = sync_list.walk(send, conn_id="my_conn")
    assert asked == []  # lazy: nothing sent until the first item is wanted
    assert next(listed).name == "a" and asked == [None]
    assert [each.name for each in listed] == ["b", "c", "d"]
    assert asked == [None, "t1", "t2"]


def test_a_walk_that_would_not_end_stops_with_a_clear_error() -> None:
    endless = sync_list.SyncListWalk(conn_id="my_conn", max_pages=3)
    with pytest.raises(PolytomicError, match=r"did not end within 3 pages .*connection 'my_conn'|connection 'my_conn'"):
        for number in range(10):
            assert endless.next_call() is not None
            endless.observe(SyncListPage((), f"token-{number}"))
    repeating = sync_list.SyncListWalk(conn_id="my_conn")
    repeating.observe(SyncListPage((), "same"))
    with pytest.raises(PolytomicBadResponseError, match="already sent"):
        repeating.observe(SyncListPage((), "same"))


def test_exactly_one_exact_case_sensitive_match_is_chosen() -> None:
    items = [item(SYNC, "Orders to Salesforce"), item(A, "orders to salesforce"), item(B, "Orders to Salesforce ")]
    chosen = sync_list.choose("Orders to Salesforce", items, kind=SyncKind.MODEL, conn_id="my_conn")
    assert chosen.id == SYNC


def test_no_match_names_the_name_the_connection_and_close_names() -> None:
    items = [item(SYNC, "Orders to Salesforce"), item(A, "Contacts to HubSpot"), item(B, "orders to salesforce")]
    with pytest.raises(PolytomicNotFoundError) as raised:
        sync_list.choose("Orders to Salesfroce", items, kind=SyncKind.MODEL, conn_id="my_conn")
    message = str(raised.value)
    assert "'Orders to Salesfroce'" in message and "connection 'my_conn'" in message
    assert "Close names: 'Orders to Salesforce', 'orders to salesforce'." in message
    assert "Contacts" not in message


def test_several_matches_list_their_ids_and_ask_for_sync_id() -> None:
    items = [item(SYNC, "Orders"), item(A, "Orders"), item(B, "Other")]
    with pytest.raises(PolytomicConfigError) as raised:
        sync_list.choose("Orders", items, kind=SyncKind.BULK, conn_id="my_conn")
    message = str(raised.value)
    assert f"2 Polytomic bulk syncs are named 'Orders' (connection 'my_conn'): {SYNC}, {A}." in message
    assert "pass sync_id" in message
