"""ArgumentCheck: strict by hand, never raising from a trigger row; the forward-compatibility rule."""

from __future__ import annotations

import pytest

from airflow_provider_polytomic import __version__
from airflow_provider_polytomic.core.errors import PolytomicConfigError, PolytomicTriggerArgumentError
from airflow_provider_polytomic.core.trigger_args import ArgumentCheck, row_marks


def fails(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize(
    "error", [PolytomicConfigError("poll_interval must be…"), ValueError("bad"), KeyError("x"), RecursionError()]
)
def test_by_hand_any_failure_is_a_type_error_and_a_config_error(error: Exception) -> None:
    check = ArgumentCheck("SomeTrigger", None, ["ignored_in_a_dag_file"])
    with pytest.raises(PolytomicTriggerArgumentError) as raised:
        check.run(lambda: fails(error))
    assert isinstance(raised.value, TypeError) and isinstance(raised.value, PolytomicConfigError)
    assert raised.value.__cause__ is error
    assert check.ignorable == frozenset()  # only a row's writer may declare names ignorable


@pytest.mark.parametrize("written_by", ["9.9.9", __version__])
def test_from_a_row_nothing_escapes_and_the_problem_names_both_versions(written_by: str) -> None:
    check = ArgumentCheck("SomeTrigger", written_by, None)
    assert check.run(lambda: fails(ValueError("x" * 10_000))) is None
    assert check.problem is not None and check.problem.startswith("SomeTrigger cannot run")
    assert "ValueError: xxx" in check.problem and len(check.problem) < 800  # a value of any size, bounded
    assert f"airflow-provider-polytomic {written_by}; this triggerer runs {__version__}" in check.problem
    # Only a version mismatch is worth the advice.
    assert ("Run the same provider version" in check.problem) is (written_by != __version__)


def test_unknown_names_are_refused_unless_the_writer_marked_them_ignorable() -> None:
    check = ArgumentCheck("SomeTrigger", "9.9.9", ["hint", 5])
    assert check.known({"sync_id": "s", "hint": 1}, ("sync_id",), "option") == {"sync_id": "s"}
    assert check.ignored == ["hint"] and "ignores 'hint'" in (check.ignored_warning() or "")
    with pytest.raises(PolytomicConfigError, match=r"unknown option\(s\) 'gate'; this version knows sync_id"):
        check.known({"sync_id": "s", "gate": 1, "hint": 2}, ("sync_id",), "option")


def test_a_malformed_ignorable_list_is_no_list() -> None:
    assert ArgumentCheck("SomeTrigger", "9.9.9", "hint").ignorable == frozenset()
    assert ArgumentCheck("SomeTrigger", "9.9.9", {"hint": 1}).ignorable == frozenset()
    assert ArgumentCheck("SomeTrigger", "9.9.9", ["b", "a"]).ignored_warning() is None


def test_row_marks_name_this_version_and_sort_the_names() -> None:
    assert row_marks(("b", "a")) == {"provider_version": __version__, "ignorable": ["a", "b"]}
