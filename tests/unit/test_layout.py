"""The unit tests mirror the package: ``tests/unit/<subpackage>/test_<module>.py`` tests
``airflow_provider_polytomic/<subpackage>/<module>.py``, so a reader finds a module's tests without searching."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_provider_polytomic"
UNIT = ROOT / "tests" / "unit"
#: Test files that cover one concern across several modules of a subpackage, and why.
ACROSS_MODULES = {
    "core/test_hostile_input.py": "the core under hostile input: config, transport policy, scan, parsing, bounds",
    "hooks/test_hostile_network.py": "both transports against misbehaving servers, case by case",
}


def test_every_unit_test_file_names_a_module_of_the_package() -> None:
    strays = []
    for path in sorted(UNIT.rglob("test_*.py")):
        relative = path.relative_to(UNIT)
        if relative.as_posix() in ACROSS_MODULES or path == Path(__file__):
            continue
        module = PACKAGE / relative.parent / (relative.name.removeprefix("test_"))
        if not module.is_file():
            strays.append(relative.as_posix())
    assert strays == [], f"unit test files that mirror no module: {strays}"


def test_the_decisions_of_the_core_and_both_transports_have_their_own_tests() -> None:
    decisions = (
        "core/watch.py",
        "core/status.py",
        "core/scan.py",
        "core/completions.py",
        "core/trigger_args.py",
        "core/protocol.py",
        "core/http_errors.py",
        "core/retry.py",
        "core/config.py",
        "core/models.py",
        "hooks/polytomic.py",
        "hooks/polytomic_async.py",
    )
    for module in decisions:
        assert (UNIT / Path(module).parent / f"test_{Path(module).name}").is_file(), module


def test_no_module_of_the_package_is_over_about_300_lines() -> None:
    # About 300: a module a reader takes in at one sitting. A module that grows past this is split by concern.
    long = {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 330
    }
    assert long == {}, f"modules over ~300 lines: {long}"


def test_every_test_the_docs_name_exists() -> None:
    # docs/reliability.md promises an outcome per fault and names the test that proves it: the name must stay true.
    import re

    missing = []
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for path, name in re.findall(r"(tests/[\w/]+\.py)::(\w+)", doc.read_text(encoding="utf-8")):
            file = ROOT / path
            if not file.is_file() or not re.search(rf"def {name}\b", file.read_text(encoding="utf-8")):
                missing.append(f"{doc.name}: {path}::{name}")
    assert missing == [], f"tests the docs name that do not exist: {missing}"
