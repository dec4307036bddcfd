"""Where the asset watcher keeps its ledger: one JSON value under one key of the triggerer's state store (the most
advanced copy when one watcher serves several assets), or memory only; a failed save never stops the watcher."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_polytomic.core.completions import CompletionLedger
from airflow_provider_polytomic.triggers.asset_state_store import AssetStateStore, LedgerStore

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Accessor:
    """One asset's accessor, as the triggerer's ``AssetStateStoreAccessors`` offers it (in memory)."""

    def __init__(self, fail: bool = False) -> None:
        self.values: dict[str, Any] = {}
        self.fail = fail

    async def aget(self, key: str, default: Any) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        if self.fail:
            raise RuntimeError("database is locked")
        self.values[key] = value


class Several:
    """The accessors of a watcher that serves several assets: the single-asset calls refuse (ValueError)."""

    def __init__(self, *accessors: Accessor) -> None:
        self._by_name = {f"a{n}": accessor for n, accessor in enumerate(accessors)}
        self._by_uri: dict[str, Accessor] = {}

    async def aget(self, key: str, default: Any) -> Any:
        raise ValueError("more than one asset")

    async def aset(self, key: str, value: Any) -> None:
        raise ValueError("more than one asset")


def test_one_asset_reads_and_writes_its_one_value() -> None:
    accessor = Accessor()
    store = AssetStateStore(accessor)
    asyncio.run(store.set("k", {"v": 1}))
    assert accessor.values == {"k": {"v": 1}} and asyncio.run(store.get("k")) == {"v": 1}


def test_several_assets_are_all_written_and_the_most_advanced_copy_is_read() -> None:
    behind, ahead = Accessor(), Accessor()
    store = AssetStateStore(Several(behind, ahead))
    asyncio.run(store.set("k", CompletionLedger(T0).to_state()))
    assert behind.values == ahead.values
    ahead.values["k"] = CompletionLedger(T0 + timedelta(hours=1)).to_state()
    read = CompletionLedger.from_state(asyncio.run(store.get("k")))
    assert read is not None and read.high_water() == T0 + timedelta(hours=1)


def test_without_a_store_the_ledger_lives_in_memory_and_says_so() -> None:
    store = LedgerStore(None, "k", logging.getLogger("test"))
    assert asyncio.run(store.load()) is None
    assert "no asset state store" in asyncio.run(store.create(CompletionLedger(T0)))
    asyncio.run(store.save(CompletionLedger(T0)))  # nothing to do, nothing raised


def test_a_new_ledger_is_saved_at_once_and_loaded_back() -> None:
    accessor = Accessor()
    store = LedgerStore(accessor, "polytomic-sync-completion/model/s/succeeded", logging.getLogger("test"))
    assert "new ledger" in asyncio.run(store.create(CompletionLedger(T0)))
    loaded = asyncio.run(store.load())
    assert loaded is not None and loaded.watermark == T0


def test_a_failed_save_is_one_warning_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    store = LedgerStore(Accessor(fail=True), "k", logging.getLogger("test_asset_state_store"))
    with caplog.at_level(logging.WARNING):
        asyncio.run(store.save(CompletionLedger(T0)))
    assert "kept in memory" in caplog.text and "database is locked" in caplog.text
