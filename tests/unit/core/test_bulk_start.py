"""A bulk sync start's options, defined once: the body they make, the modes Polytomic has, the test+resync rule."""

from __future__ import annotations

import pytest

from airflow_provider_polytomic.core import bulk_start, protocol
from airflow_provider_polytomic.core.bulk_start import BulkStartOptions, conflict, start_body
from airflow_provider_polytomic.core.errors import PolytomicConfigError

SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"


def test_options_left_out_are_not_sent_so_polytomics_defaults_apply() -> None:
    assert start_body(BulkStartOptions()) == {}
    assert start_body(BulkStartOptions(fetch_mode=None, resync_mode=None, schemas=[], test=False)) == {}


def test_every_option_given_is_sent_as_polytomic_names_it() -> None:
    body = start_body(BulkStartOptions(fetch_mode="full", resync_mode="rebuild", schemas=("a", "b")))
    assert body == {"fetch_mode": "full", "resync_mode": "rebuild", "schemas": ["a", "b"]}
    assert start_body(BulkStartOptions(test=True)) == {"test": True}


@pytest.mark.parametrize(
    ("name", "allowed"), [("fetch_mode", bulk_start.FETCH_MODES), ("resync_mode", bulk_start.RESYNC_MODES)]
)
def test_a_mode_polytomic_does_not_have_is_refused_naming_the_choices(name: str, allowed: tuple[str, ...]) -> None:
    for value in allowed:
        assert start_body({name: value})[name] == value
    with pytest.raises(PolytomicConfigError, match=f"{name} must be one of {', '.join(allowed)}; got 'everything'"):
        start_body({name: "everything"})


def test_a_test_run_cannot_be_a_resync_and_that_rule_is_the_one_the_start_checks() -> None:
    assert conflict(BulkStartOptions(test=True, resync_mode="refetch")) == bulk_start.TEST_WITH_RESYNC
    assert conflict(BulkStartOptions(test=True)) is None
    assert conflict(BulkStartOptions(resync_mode="refetch")) is None
    with pytest.raises(PolytomicConfigError, match="mutually exclusive"):
        start_body(BulkStartOptions(test=True, resync_mode="refetch"))


def test_the_protocols_start_sends_the_body_the_options_make() -> None:
    call = protocol.start_bulk_sync(SYNC, idempotency_key="airflow-abcdef12", fetch_mode="incremental", test=True)
    assert (call.method, call.path) == ("POST", f"/api/bulk/syncs/{SYNC}/executions")
    assert call.body == {"test": True, "fetch_mode": "incremental"}
