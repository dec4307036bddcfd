"""The unit tests mirror the package, both ways: ``tests/unit/<subpackage>/test_<module>.py`` tests
``airflow_provider_polytomic/<subpackage>/<module>.py``, every test file names a module and every module has its
test file (or a reason in :data:`EXEMPT`), so a reader finds a module's tests without searching."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_provider_polytomic"
UNIT = ROOT / "tests" / "unit"
#: Test files that cover one concern across several modules of a subpackage, and why.
ACROSS_MODULES = {
    "core/test_hostile_input.py": "the core under hostile input: config, scan, parsing, bounds, secrets",
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


#: Package modules without a unit test file of their own, and why: no decision in them, or tested elsewhere by
#: what they are. Every other module has ``tests/unit/<subpackage>/test_<module>.py``.
EXEMPT = {
    "core/constants.py": "names DAG files import (DEFAULT_CONN_ID, SyncKind); api_prefix is pinned by the "
    "path tests of test_protocol.py and test_definitions.py",
    "core/defaults.py": "data only; test_connection_form.py checks that form and config agree on it",
    "links/polytomic.py": "Airflow plumbing (reads one XCom); what it shows is pushed and tested in "
    "test_polytomic_task.py",
    "operators/start_operator.py": "the half both start operators share; operators/test_polytomic.py tests it "
    "through them, as a DAG author uses it",
    # The emulator is the tests' server: tests/integration/test_emulator*.py drive it over HTTP, whole.
    "testing/__main__.py": "the emulator's CLI: tests/integration/test_emulator_cli.py",
    "testing/api.py": "the emulator: tests/integration/test_emulator.py",
    "testing/documents.py": "the emulator: tests/integration/test_emulator.py, test_emulator_definitions.py",
    "testing/emulator.py": "the emulator: tests/integration/test_emulator.py",
    "testing/faults.py": "the emulator's faults: tests/integration/test_emulator.py",
    "testing/http_server.py": "the emulator's HTTP front end: tests/integration/test_emulator.py",
    "testing/listing.py": "the emulator's sync lists and console logs: tests/integration/test_emulator_listing.py",
    "testing/request_log.py": "the emulator's request log: tests/integration/test_emulator_request_log.py",
    "testing/pytest_plugin.py": "the emulator's pytest fixtures: tests/integration/test_emulator.py",
    "testing/scenario.py": "the scenario format: tests/integration/test_emulator.py",
    "testing/script.py": "scripted syncs: tests/integration/test_emulator.py",
}
#: The longest a package module may be: one a reader takes in at one sitting. Past it, split by concern.
MAX_MODULE_LINES = 300


def _modules() -> list[str]:
    """Every module of the package but the package markers (``__init__.py``)."""
    return sorted(path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py") if path.name != "__init__.py")


def _test_file(module: str) -> Path:
    return UNIT / Path(module).parent / f"test_{Path(module).name}"


def test_every_module_of_the_package_has_its_own_test_file_or_a_reason() -> None:
    untested = [module for module in _modules() if module not in EXEMPT and not _test_file(module).is_file()]
    assert untested == [], f"modules without their own unit test file (add one, or a reason): {untested}"


def test_the_exemptions_name_modules_that_exist_and_have_no_test_file() -> None:
    stale = [module for module in EXEMPT if not (PACKAGE / module).is_file() or _test_file(module).is_file()]
    assert stale == [], f"exemptions to drop (the module is gone or has its own tests now): {stale}"


def test_no_module_of_the_package_is_over_300_lines() -> None:
    long = {
        module: lines
        for module in _modules()
        if (lines := len((PACKAGE / module).read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines (split them by concern): {long}"


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
