"""Who an API key belongs to (``GET /api/me``, the Test button): read tolerantly, every member optional."""

from __future__ import annotations

import pytest

from airflow_provider_polytomic.core.identity import Identity, get_identity

ME = {"id": "u1", "email": "ops@acme.test", "organization_id": "o1", "organization_name": "Acme", "role": "admin"}


def test_the_call_is_a_get_of_api_me() -> None:
    call = get_identity()
    assert (call.method, call.path, call.sync_id) == ("GET", "/api/me", None)


def test_an_identity_round_trips_and_missing_or_odd_members_are_none() -> None:
    assert Identity.from_api(ME).to_dict() == ME
    partial = Identity.from_api({"email": "ops@acme.test", "organization_id": 7, "role": None})
    assert partial.to_dict() == dict.fromkeys(ME) | {"email": "ops@acme.test"}


def test_an_identity_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError):
        Identity.from_api(["u1"])
