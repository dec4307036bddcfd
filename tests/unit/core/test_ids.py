"""Ids are strict UUIDs, canonicalised before they reach a path."""

from __future__ import annotations

import pytest

from airflow_provider_polytomic.core import protocol
from airflow_provider_polytomic.core.errors import (
    PolytomicInvalidIdError,
)
from tests.unit.core.samples import SYNC


@pytest.mark.parametrize(
    "bad",
    [
        "../../api/me",
        "",
        "   ",
        "{{ params.sync_id }}",
        "123",
        None,
        42,
        "248df4b7aa7047b8a03633ac447e668d",
        "{248df4b7-aa70-47b8-a036-33ac447e668d}",
    ],
)
def test_ids_must_be_uuids(bad: object) -> None:
    with pytest.raises(PolytomicInvalidIdError, match="must be a UUID") as raised:
        protocol.get_sync_status(bad)  # type: ignore[arg-type]
    assert repr(bad)[:40] in str(raised.value)


def test_unrendered_template_gets_a_hint() -> None:
    with pytest.raises(PolytomicInvalidIdError, match="unrendered template"):
        protocol.get_execution(SYNC, "{{ ti.xcom_pull('start') }}")


def test_ids_are_canonicalised() -> None:
    call = protocol.get_sync_status(" 248DF4B7-AA70-47B8-A036-33AC447E668D ")
    assert call.path == f"/api/syncs/{SYNC}/status"
