"""Every Python block in README.md and in the pages of ``docs/`` runs as shown.

A block whose first line is ``# some/path.py`` is a file of the pytest example (``docs/testing.md``): those
files are written into a fresh project and that project's tests run with pytest, in a subprocess, as a user
would run them. Every other block is executed as it stands, with ``polytomic_default`` pointing at the emulator.
``tests/integration/test_packaging.py`` runs this module again from a fresh clone against the built wheel.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS

from airflow_provider_polytomic.testing import PolytomicEmulator

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: The README and the reference pages it links to: each page's Python blocks run here.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_FILE_LINE = re.compile(r"# ((?:[\w.-]+/)*[\w.-]+\.py)\n")
#: The sync id the README's snippets use.
README_SYNC = "248df4b7-aa70-47b8-a036-33ac447e668d"
#: Its name (the "By name" and "Console log" examples look it up).
README_SYNC_NAME = "Orders to Salesforce"


def python_blocks(pages: list[Path] = PAGES) -> list[tuple[Path, str]]:
    """(page, block) for every Python block of the pages."""
    return [(page, match.group(1)) for page in pages for match in _BLOCK.finditer(page.read_text(encoding="utf-8"))]


def example_files() -> dict[str, str]:
    files = {}
    for _, block in python_blocks():
        match = _FILE_LINE.match(block)
        if match:
            files[match.group(1)] = block
    return files


def snippets() -> list[tuple[Path, str]]:
    return [(page, block) for page, block in python_blocks() if not _FILE_LINE.match(block)]


def _snippet_id(page: Path, block: str) -> str:
    imports = re.findall(r"import ([A-Za-z_]+)", block)
    return f"{page.stem}-" + ("-".join(imports[:2]) or "block")


def test_the_pages_have_the_blocks_this_module_runs() -> None:
    assert set(example_files()) == {"dags/orders_marts.py", "conftest.py", "tests/test_orders_marts.py"}
    # the README's sensor and start operator; the hook, the sensor, the start operators, the asset watcher
    assert len(python_blocks([README])) >= 2
    assert len(snippets()) >= 6


@pytest.mark.parametrize(("page", "block"), snippets(), ids=[_snippet_id(*item) for item in snippets()])
def test_a_block_runs_as_shown(page: Path, block: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if "from airflow.sdk import" in block and not AIRFLOW_V_3_0_PLUS:
        pytest.skip("an Airflow 3 block")
    scenario = {
        "syncs": [
            {
                "id": README_SYNC,
                "name": README_SYNC_NAME,
                "executions": [
                    {
                        "created_ago": 3600,
                        "steps": [
                            {
                                "status": "completed",
                                "counts": {"insert": 25, "error": 0},
                                "console": [
                                    {"message": "Synced 25 records to Salesforce", "payload": {"inserted": 25}}
                                ],
                            }
                        ],
                    },
                    {"steps": [{"status": "running", "polls": 100, "counts": {"insert": 3}}]},
                ],
            }
        ]
    }
    with PolytomicEmulator(scenario) as emulator:
        document = json.loads(emulator.connection_uri())
        document["extra"] = {"timeout": 5, "retry_delay": 0.01}
        monkeypatch.setenv("AIRFLOW_CONN_POLYTOMIC_DEFAULT", json.dumps(document))
        namespace: dict[str, Any] = {"__name__": "readme_block"}
        exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 - the docs' own code
        if "test_connection()" in block:
            assert namespace["ok"] is True, namespace["message"]
            assert [request.path for request in emulator.requests][:2] == [
                f"/api/syncs/{README_SYNC}/status",
                f"/api/syncs/{README_SYNC}/executions/{namespace['last'].id}",
            ]
    if "find_sync(" in block:
        assert namespace["sync"].id == README_SYNC  # the name was looked up
    if "get_console_log(" in block:
        assert [entry.message for entry in namespace["log"].entries] == ["Synced 25 records to Salesforce"]
    if "AssetWatcher" in block:
        assert namespace["dag"].task_ids == ["refresh"]  # the DAG has its task


def test_the_pytest_example_passes_as_written(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DAG file, conftest.py and the test, copied from docs/testing.md into an empty project, pass with pytest."""
    for name, block in example_files().items():
        if not AIRFLOW_V_3_0_PLUS:  # the README writes Airflow 3's imports; Airflow 2 has them in the compat layer
            block = block.replace("from airflow.sdk import", "from airflow.providers.common.compat.sdk import")
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block, encoding="utf-8")
    # As a user's shell would be: no Airflow home or DAGs folder chosen (this suite's own must not leak in).
    for name in list(os.environ):
        if name == "AIRFLOW_HOME" or name.startswith(("AIRFLOW__", "AIRFLOW_CONN_")):
            monkeypatch.delenv(name)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=2)
