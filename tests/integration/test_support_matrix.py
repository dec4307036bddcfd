"""The Airflow versions the README promises are the ones scripts/test runs, from the pinned requirements."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.dag_runs import without_airflow_echoes

ROOT = Path(__file__).resolve().parents[2]


def _tested_lines() -> list[str]:
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    match = re.search(r'^LINES=\$\{AIRFLOW_LINES:-"([^"]+)"\}$', script, re.M)
    assert match, "scripts/test sets its default lines"
    return match.group(1).split()


def _pinned(line: str) -> str:
    pins = (ROOT / "requirements" / f"airflow-{line}.txt").read_text(encoding="utf-8")
    match = re.search(r"^apache-airflow==(\S+)$", pins, re.M)
    assert match, f"requirements/airflow-{line}.txt pins apache-airflow"
    return match.group(1)


def test_every_line_scripts_test_runs_is_pinned_and_named_in_the_readme() -> None:
    lines = _tested_lines()
    assert sorted(path.stem.removeprefix("airflow-") for path in (ROOT / "requirements").glob("airflow-*.txt")) == (
        sorted(lines)
    )
    versions = {line: _pinned(line) for line in lines}
    assert all(version.startswith(f"{line}.") for line, version in versions.items()), versions
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    airflow_2 = sorted(line for line in lines if line.startswith("2."))
    oldest_3 = min((line for line in lines if line.startswith("3.")), key=lambda line: int(line.split(".")[1]))
    # The promise: each Airflow 2 line tested, and Airflow 3 from its oldest tested line on.
    assert f"Works on Airflow {' and '.join(airflow_2)} and on Airflow {oldest_3} and later" in readme
    ordered = sorted(versions.values(), key=lambda version: [int(part) for part in version.split(".")])
    assert f"tested on {', '.join(ordered[:-1])} and {ordered[-1]}" in readme
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert f"apache-airflow>={min(airflow_2)}" in dependencies
    assert f"`apache-airflow>={min(airflow_2)}`" in readme


def test_pins_are_plain_versions() -> None:
    for path in (ROOT / "requirements").glob("airflow-*.txt"):
        for row in path.read_text(encoding="utf-8").splitlines():
            assert row.startswith("#") or re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", row), (path.name, row)


def test_only_airflow_3_0_s_dag_test_echoes_are_set_aside_in_the_key_check() -> None:
    key = "pk_live_SECRET_example"
    echo = f"2026-01-01 [debug    ] Sending request                msg=MaskSecret(value='{key}', name=None)"
    panel = f"│ ╭──── locals ────╮ │\n│ │ password = '{key}' │ │\n│ ╰──────────────────╯ │"
    assert key not in without_airflow_echoes(f"{echo}\n{panel}\n")
    for leak in (f"Connection failed: key={key}", f"Sending request msg=GetConnection(password='{key}')"):
        assert key in without_airflow_echoes(f"{echo}\n{leak}\n{panel}\n")
