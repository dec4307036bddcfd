"""Listing syncs, and finding one by its name. No I/O.

A sync that Terraform destroys and recreates gets a new id under the same name, so DAG authors may name a sync
instead of giving its id. Nothing in the API promises that names are unique: :func:`choose` decides what a
look-up by name means (exactly one exact, case-sensitive match), once, for every caller.

Model syncs are listed by ``GET /api/syncs`` (pages of at most 50, ``pagination.next_page_token``, newest
``updated_at`` first); bulk syncs by ``GET /api/bulk/syncs`` (one list; a token is followed if one is sent).
:class:`SyncListWalk` follows the pages a driver sends for it and ends a walk that would not end (a page cap, a
token that repeats) with an error instead of walking on.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.errors import (
    PolytomicBadResponseError,
    PolytomicConfigError,
    PolytomicError,
    PolytomicNotFoundError,
    RequestContext,
)
from airflow_provider_polytomic.core.protocol import ApiCall
from airflow_provider_polytomic.core.values import json_list, json_object, parse_timestamp, truncate

#: Items per page asked for (Polytomic's default and maximum).
PAGE_LIMIT = 50
#: Pages a walk reads at most (10,000 model syncs): past it, a clear error instead of an endless walk.
MAX_PAGES = 200
#: Close names a "no sync named ..." error suggests, and ids an "several syncs named ..." error lists.
MAX_SUGGESTIONS = 5
MAX_LISTED_IDS = 10
#: Longest name kept from a list item.
MAX_NAME_CHARS = 300


@dataclass(frozen=True)
class SyncListItem:
    """One sync of a list: the SDK's ``ListSyncItem`` (model) or ``BulkSyncResponse`` (bulk), the fields read."""

    id: str
    name: str
    #: False for a paused sync (it may never run); None when the API does not say.
    active: bool | None = None
    mode: str | None = None
    target_connection_id: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, payload: Any) -> SyncListItem:
        payload = json_object(payload, "sync")
        sync_id, name = payload.get("id"), payload.get("name")
        if not isinstance(sync_id, str) or not sync_id:
            raise ValueError("a listed sync has no id")
        active = payload.get("active")
        mode, target = payload.get("mode"), payload.get("target_connection_id")
        return cls(
            id=truncate(sync_id, 64),
            name=truncate(name, MAX_NAME_CHARS) if isinstance(name, str) else "",
            active=active if isinstance(active, bool) else None,
            mode=truncate(mode, 64) if isinstance(mode, str) else None,
            target_connection_id=truncate(target, 64) if isinstance(target, str) else None,
            updated_at=parse_timestamp(payload.get("updated_at")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "active": self.active,
            "mode": self.mode,
            "target_connection_id": self.target_connection_id,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


@dataclass(frozen=True)
class SyncListPage:
    """One page of a sync list, and the token of the next (None on the last page)."""

    items: tuple[SyncListItem, ...]
    next_page_token: str | None = None

    @classmethod
    def from_document(cls, document: Any) -> SyncListPage:
        document = json_object(document, "sync list")
        items = json_list(document.get("data"), "data (the syncs)")
        pagination = document.get("pagination") or {}
        token = pagination.get("next_page_token") if isinstance(pagination, dict) else None
        return cls(
            tuple(SyncListItem.from_api(item) for item in items), token if isinstance(token, str) and token else None
        )


def list_syncs(
    kind: SyncKind = SyncKind.MODEL, *, page_token: str | None = None, active: bool | None = None
) -> ApiCall[SyncListPage]:
    """``GET /api/syncs`` (one page of 50) or ``GET /api/bulk/syncs``; ``active`` filters paused ones in or out."""
    kind = SyncKind(kind)
    params: dict[str, str] = {}
    if kind is SyncKind.MODEL:
        params["limit"] = str(PAGE_LIMIT)
    if active is not None:
        params["active"] = "true" if active else "false"
    if page_token:
        params["page_token"] = page_token
    return ApiCall("GET", kind.api_prefix, SyncListPage.from_document, params=params or None, whole_document=True)


class SyncListWalk:
    """The pages of one listing, asked for one at a time (lazily), at most :data:`MAX_PAGES` of them."""

    def __init__(
        self,
        kind: SyncKind = SyncKind.MODEL,
        *,
        active: bool | None = None,
        conn_id: str = "",
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.kind = SyncKind(kind)
        self.active = active
        self.conn_id = conn_id
        self.max_pages = max_pages
        self.pages = 0
        self._token: str | None = None
        self._tokens: set[str] = set()
        self.done = False

    def next_call(self) -> ApiCall[SyncListPage] | None:
        """The next page's call, or None when the list has been read to its end."""
        if self.done:
            return None
        if self.pages >= self.max_pages:
            raise PolytomicError(
                f"Listing Polytomic {_kind_name(self.kind)}s through connection '{self.conn_id}' did not end within "
                f"{self.max_pages} pages ({self.max_pages * PAGE_LIMIT:,} syncs); stopped there. Pass sync_id "
                "instead of sync_name."
            )
        return list_syncs(self.kind, page_token=self._token, active=self.active)

    def observe(self, page: SyncListPage) -> tuple[SyncListItem, ...]:
        """The page's items; the walk then asks for the next page, if any."""
        self.pages += 1
        token = page.next_page_token
        if token is not None and token in self._tokens:
            raise PolytomicBadResponseError(
                f"Polytomic answered {self.kind.api_prefix} (connection '{self.conn_id}') with a page token it had "
                f"already sent ({token!r:.80}): the list would never end. Pass sync_id instead of sync_name."
            )
        if token is not None:
            self._tokens.add(token)
        self._token = token
        self.done = token is None
        return page.items


def walk(
    send: Callable[[ApiCall[SyncListPage]], SyncListPage],
    kind: SyncKind = SyncKind.MODEL,
    *,
    active: bool | None = None,
    conn_id: str = "",
) -> Iterator[SyncListItem]:
    """Every listed sync, reading each page only when the one before is used up (``send`` does the I/O)."""
    listing = SyncListWalk(kind, active=active, conn_id=conn_id)
    while (call := listing.next_call()) is not None:
        yield from listing.observe(send(call))


def choose(name: str, items: Iterable[SyncListItem], *, kind: SyncKind, conn_id: str) -> SyncListItem:
    """The one sync named exactly ``name`` (case-sensitive) among ``items``, read to their end.

    None: :class:`PolytomicNotFoundError` naming the name, the connection and up to 5 close names. Several: a
    :class:`PolytomicConfigError` listing their ids.
    """
    matches: list[SyncListItem] = []
    names: set[str] = set()
    for item in items:
        if item.name == name:
            matches.append(item)
        else:
            names.add(item.name)
    what = _kind_name(kind)
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(item.id for item in matches[:MAX_LISTED_IDS])
        more = f" and {len(matches) - MAX_LISTED_IDS} more" if len(matches) > MAX_LISTED_IDS else ""
        raise PolytomicConfigError(
            f"{len(matches)} Polytomic {what}s are named {name!r:.200} (connection '{conn_id}'): {ids}{more}. "
            "Names are not unique in Polytomic: pass sync_id instead of sync_name to say which one."
        )
    close = difflib.get_close_matches(name, sorted(names), n=MAX_SUGGESTIONS, cutoff=0.6)
    hint = f" Close names: {', '.join(repr(item) for item in close)}." if close else ""
    raise PolytomicNotFoundError(
        f"No Polytomic {what} is named {name!r:.200} in the organization of connection '{conn_id}' "
        f"({len(names)} {what}s listed; names match exactly, case included).{hint}",
        context=RequestContext(conn_id, "GET", kind.api_prefix),
    )


def _kind_name(kind: SyncKind) -> str:
    return "bulk sync" if kind is SyncKind.BULK else "sync"
