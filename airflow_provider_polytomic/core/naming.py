"""Naming a sync in what users read: ``Polytomic sync 'Orders to Salesforce' (248df4b7-…)``. No I/O.

Every message about a sync names it as ``Polytomic sync {id}`` or ``Polytomic bulk sync {id}``
(:mod:`airflow_provider_polytomic.core.status`, which says what a status means, and
:mod:`airflow_provider_polytomic.core.watch`, which execution is judged); once the sync's definition is known,
:func:`name_sync` puts its name in front of the id, in that one place.
"""

from __future__ import annotations

import re

#: Longest sync name a message quotes.
MAX_QUOTED_NAME = 100
_BLANKS = re.compile(r"\s+")


def quoted_name(name: str | None) -> str | None:
    """``name`` on one line, cut short, in single quotes; None for a missing or blank name."""
    if not name:
        return None
    text = _BLANKS.sub(" ", name).strip()
    if not text:
        return None
    if len(text) > MAX_QUOTED_NAME:
        text = text[: MAX_QUOTED_NAME - 1] + "…"
    return f"'{text}'"


def name_sync(message: str, sync_id: str, name: str | None) -> str:
    """``message`` with the first ``sync {sync_id}`` turned into ``sync '{name}' ({sync_id})``; unchanged
    without a name, or when the message already names it."""
    quoted = quoted_name(name)
    if quoted is None or f"{quoted} ({sync_id})" in message:
        return message
    return message.replace(f"sync {sync_id}", f"sync {quoted} ({sync_id})", 1)
