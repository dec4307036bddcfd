"""The triggerer's per-asset state store (Airflow 3.3+), as the asset watcher uses it: one JSON value, one key."""

from __future__ import annotations

from typing import Any

from airflow_provider_polytomic.core.completions import CompletionLedger


class AssetStateStore:
    """The triggerer's per-asset state store as this watcher uses it: one JSON value under one key.

    A watcher serving one asset gets the single-asset accessor (``aget``/``aset``). When identical watchers
    on several assets are run as one trigger, the value is written to every asset and the most advanced copy
    is read.
    """

    def __init__(self, accessors: Any) -> None:
        self.accessors = accessors

    def _each(self) -> list[Any]:
        # AssetStateStoreAccessors offers no public way to list its assets; these are its own two maps.
        by_name = getattr(self.accessors, "_by_name", None) or {}
        by_uri = getattr(self.accessors, "_by_uri", None) or {}
        return [*by_name.values(), *by_uri.values()]

    async def get(self, key: str) -> Any:
        try:
            return await self.accessors.aget(key, None)
        except ValueError:  # more than one asset
            ledgers = [CompletionLedger.from_state(await accessor.aget(key, None)) for accessor in self._each()]
            saved = [ledger for ledger in ledgers if ledger is not None]
            return max(saved, key=CompletionLedger.high_water).to_state() if saved else None

    async def set(self, key: str, value: dict[str, Any]) -> None:
        try:
            await self.accessors.aset(key, value)
        except ValueError:
            for accessor in self._each():
                await accessor.aset(key, value)
