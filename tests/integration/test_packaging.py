"""What a user gets from the package index: metadata, links that work off the repository, and the README
reproduced from a fresh clone, a built wheel and a fresh virtualenv."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
from pathlib import Path

import pytest

from airflow_provider_polytomic.get_provider_info import DOCUMENTATION_URL, get_provider_info

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
URLS: dict[str, str] = PYPROJECT["project"]["urls"]


def test_project_urls_and_the_providers_documentation_url_agree() -> None:
    assert set(URLS) >= {"Homepage", "Documentation", "Source", "Changelog", "Issues"}
    assert URLS["Documentation"] == DOCUMENTATION_URL == get_provider_info()["documentation-url"]
    assert all(url.startswith(URLS["Source"]) for url in URLS.values())


def test_python_versions_say_what_installs() -> None:
    project = PYPROJECT["project"]
    assert project["requires-python"] == ">=3.11"
    versions = {item.rsplit(" :: ", 1)[1] for item in project["classifiers"] if re.search(r"Python :: 3\.\d+$", item)}
    assert versions == {"3.11", "3.12", "3.13"}
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py311"
    assert PYPROJECT["tool"]["mypy"]["python_version"] == "3.11"
    assert "Python 3.11, 3.12 or 3.13" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_links_work_from_the_package_index() -> None:
    """The README is the package's description: a relative link there points at nothing."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)]+)\)", readme)
    assert targets
    relative = [target for target in targets if not target.startswith(("https://", "#"))]
    assert relative == []
    prefix = URLS["Source"] + "/blob/main/"
    for target in targets:
        if target.startswith(prefix):
            assert (ROOT / target.removeprefix(prefix).partition("#")[0]).is_file(), target


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".venvs" / "tools" / "bin" / "uv")
    if not Path(found).is_file():
        pytest.skip("needs uv (scripts/test installs it into .venvs/tools)")
    return found


def _user_env(home: Path) -> dict[str, str]:
    """This environment without the test suite's Airflow settings: what a user's shell would have."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW", "VIRTUAL_ENV"))}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    return env


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{command}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result  # type: ignore[no-any-return]


@pytest.mark.e2e
def test_a_fresh_clone_built_wheel_and_fresh_virtualenv_reproduce_the_readme(tmp_path: Path) -> None:
    """Clone the committed tree, build its wheel, install it alone into a new virtualenv, and run every README
    block and the README's pytest example there (tests/integration/test_readme.py, with the source package removed so
    only the wheel can be imported). The new virtualenv borrows this one's third-party packages (not this
    project's) through a .pth file, so the test needs no downloads beyond the build backend."""
    if not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to clone")
    uv = _uv()
    clone = tmp_path / "clone"
    _run(["git", "clone", "--quiet", str(ROOT), str(clone)])
    _run([uv, "build", "--quiet", "--wheel", "--out-dir", str(tmp_path / "dist"), str(clone)])
    (wheel,) = (tmp_path / "dist").glob("airflow_provider_polytomic-*.whl")
    shutil.rmtree(clone / "airflow_provider_polytomic")

    venv = tmp_path / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    borrowed = tmp_path / "borrowed-site-packages"
    borrowed.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        own = entry.name.startswith(("airflow_provider_polytomic", "__editable__", "_airflow_provider_polytomic"))
        if not own and entry.suffix != ".pth":
            (borrowed / entry.name).symlink_to(entry)
    (site / "borrowed.pth").write_text(f"{borrowed}\n", encoding="utf-8")
    _run([uv, "pip", "install", "--quiet", "--no-deps", "--python", str(python), str(wheel)])

    env = _user_env(tmp_path / "airflow-home")
    where = _run([str(python), "-c", "import airflow_provider_polytomic as p; print(p.__file__)"], cwd=clone, env=env)
    assert where.stdout.strip().startswith(str(site)), where.stdout
    result = _run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/integration/test_readme.py"],
        cwd=clone,
        env=env,
    )
    assert re.search(r"\b\d+ passed\b", result.stdout) and " failed" not in result.stdout, result.stdout[-2000:]


@pytest.mark.e2e
def test_the_sdist_has_no_vcs_files_and_its_tests_run_with_plain_pytest(tmp_path: Path) -> None:
    uv = _uv()
    _run([uv, "build", "--quiet", "--sdist", "--out-dir", str(tmp_path / "dist"), str(ROOT)])
    (sdist,) = (tmp_path / "dist").glob("airflow_provider_polytomic-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        archive.extractall(tmp_path / "unpacked", filter="data")
    assert not [name for name in names if Path(name).name in (".gitignore", ".git") or "__pycache__" in name]
    assert any(name.endswith("airflow_provider_polytomic/testing/scenario.schema.json") for name in names)
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    pytest_command = str(Path(sys.executable).parent / "pytest")  # plain pytest, not python -m pytest
    env = _user_env(tmp_path / "airflow-home")
    tests = ["tests/unit/core/test_models.py", "tests/integration/test_example_dags.py"]
    _run([pytest_command, "-p", "no:cacheprovider", "-q", *tests], cwd=unpacked, env=env)
