"""The connection form agrees with the connection as it is read: every default it states is the one a connection
without that extra gets, every bound it states is the one the connection is checked against."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from airflow_provider_polytomic.connection_form import EXTRA_FIELDS, PLACEHOLDERS
from airflow_provider_polytomic.core.config import ClientConfig
from airflow_provider_polytomic.core.defaults import MAX_RETRIES, MAX_TIMEOUT, MIN_TIMEOUT
from airflow_provider_polytomic.core.errors import PolytomicConfigError

KEY = "pk_form_0123456789"
#: Where each extra ends up in the configuration read.
READ = {
    "api_version": lambda config: config.api_version,
    "timeout": lambda config: config.timeout,
    "max_retries": lambda config: config.retry.max_retries,
    "retry_delay": lambda config: config.retry.initial_delay,
    "verify": lambda config: config.verify,
    "max_connections": lambda config: config.max_connections,
    "sync_url_template": lambda config: config.sync_url_template,
}


def read(**extra: Any) -> ClientConfig:
    return ClientConfig.from_connection("form_conn", host=None, login=None, password=KEY, extra=extra)


def test_every_extra_of_the_form_is_read_by_the_connection() -> None:
    assert set(EXTRA_FIELDS) == set(READ)


@pytest.mark.parametrize("name", sorted(READ))
def test_the_placeholder_is_what_a_connection_without_the_extra_gets(name: str) -> None:
    """Typing the placeholder (the form stores text) changes nothing: the field's default is its placeholder."""
    assert READ[name](read(**{name: PLACEHOLDERS[name]})) == READ[name](read())


@pytest.mark.parametrize("name", sorted(name for name, field in EXTRA_FIELDS.items() if "maximum" in field["schema"]))
def test_the_bounds_the_form_states_are_the_bounds_the_connection_keeps(name: str) -> None:
    schema = EXTRA_FIELDS[name]["schema"]
    low, high = schema["minimum"], schema["maximum"]
    assert READ[name](read(**{name: high})) == high
    with pytest.raises(PolytomicConfigError, match=name):
        read(**{name: high + 1})
    if low > 0:
        assert READ[name](read(**{name: low})) == low
        with pytest.raises(PolytomicConfigError, match=name):
            read(**{name: low / 2})
    else:
        assert READ[name](read(**{name: 0})) == 0


def test_the_descriptions_state_the_defaults_and_bounds_the_connection_keeps() -> None:
    config = read()
    timeout = EXTRA_FIELDS["timeout"]["description"]
    assert f"Leave empty for {config.timeout:g} ({MIN_TIMEOUT:g} to {MAX_TIMEOUT:g})" in timeout
    retries = EXTRA_FIELDS["max_retries"]["description"]
    assert f"Leave empty for {config.retry.max_retries} (at most {MAX_RETRIES})" in retries
    delay = EXTRA_FIELDS["retry_delay"]["description"]
    assert f"up to {config.retry.max_delay:g}. Leave empty for {config.retry.initial_delay:g}" in delay
    assert f"Leave empty for {config.max_connections}." in EXTRA_FIELDS["max_connections"]["description"]
    assert f"Leave empty for {config.api_version}." in EXTRA_FIELDS["api_version"]["description"]
    assert f"Leave empty for {config.sync_url_template}." in EXTRA_FIELDS["sync_url_template"]["description"]


def test_the_api_version_pattern_is_the_one_the_connection_checks() -> None:
    pattern = EXTRA_FIELDS["api_version"]["schema"]
    for value, kept in (("2025-09-18", True), ("2030-01-01", True), ("latest", False), ("2025-9-18", False)):
        valid = jsonschema.Draft7Validator(pattern).is_valid(value)
        assert valid is kept, value
        if kept:
            assert read(api_version=value).api_version == value
        else:
            with pytest.raises(PolytomicConfigError, match="api_version"):
                read(api_version=value)
