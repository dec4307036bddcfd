"""Sync names in messages."""

from __future__ import annotations

from airflow_provider_polytomic.core.naming import name_sync

SYNC_ID = "248df4b7-aa70-47b8-a036-33ac447e668d"


def test_the_name_goes_next_to_the_id_once() -> None:
    message = f"Polytomic sync {SYNC_ID} execution e ended. Polytomic sync {SYNC_ID} again."
    named = name_sync(message, SYNC_ID, "Users\nto  Salesforce")
    assert (
        named == f"Polytomic sync 'Users to Salesforce' ({SYNC_ID}) execution e ended. Polytomic sync {SYNC_ID} again."
    )
    assert name_sync(named, SYNC_ID, "Users to Salesforce") == named
    assert name_sync(message, SYNC_ID, None) == message
    assert name_sync(message, SYNC_ID, "   ") == message
    assert len(name_sync(message, SYNC_ID, "x" * 5000)) < len(message) + 120
