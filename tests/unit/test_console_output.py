"""``console_log=``: the choices, checked when the DAG is parsed."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_polytomic.console_output import CONSOLE_LOG_CHOICES, check_console_log


@pytest.mark.parametrize("value", CONSOLE_LOG_CHOICES)
def test_each_choice_is_kept(value: str) -> None:
    assert check_console_log("wait", value) == value


@pytest.mark.parametrize("value", ["ALWAYS", "on-failure", "", None, True, ["always"]])
def test_anything_else_is_refused_naming_the_task_and_the_choices(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^wait: console_log must be one of on_failure, always, never"):
        check_console_log("wait", value)


def test_the_default_is_on_failure() -> None:
    assert CONSOLE_LOG_CHOICES[0] == "on_failure"
