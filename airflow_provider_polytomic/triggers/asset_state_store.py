"""Where the asset watcher keeps its ledger: the triggerer's per-asset state store (Airflow 3.3+), one JSON value
under one key, or (without one) memory only."""

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


class LedgerStore:
    """The watcher's ledger under ``key`` in the asset state store, when the triggerer gives one (``accessors``);
    without one every call is a no-op and the ledger lives in memory. A failed save never stops the watcher."""

    def __init__(self, accessors: Any | None, key: str, log: Any) -> None:
        self.store = AssetStateStore(accessors) if accessors is not None else None
        self.key = key
        self.log = log

    async def load(self) -> CompletionLedger | None:
        """The ledger saved before (a restart, a paused DAG), or None."""
        return CompletionLedger.from_state(await self.store.get(self.key)) if self.store is not None else None

    async def create(self, ledger: CompletionLedger) -> str:
        """Save a new ledger at once (a failure here is the watcher's to retry); says where it is kept."""
        if self.store is None:
            return "no asset state store (Airflow before 3.3, or a trigger run outside the triggerer)"
        await self.store.set(self.key, ledger.to_state())
        return f"new ledger in the asset state store (key '{self.key}')"

    async def save(self, ledger: CompletionLedger) -> None:
        if self.store is None:
            return
        try:
            await self.store.set(self.key, ledger.to_state())
        except Exception as error:  # the in-memory ledger still prevents duplicates
            self.log.warning(
                "Could not save the Polytomic watcher's ledger to the asset state store (%s: %s); it is kept in "
                "memory and saved again after the next execution.",
                type(error).__name__,
                error,
            )
