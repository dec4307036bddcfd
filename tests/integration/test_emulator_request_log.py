"""What a person watching the emulator sees: one line per request on the command line (``--quiet``: none), a
quiet ``PolytomicEmulator`` unless given ``log=``, and a ``--help`` that lists every key of the scenario."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_polytomic.testing import PolytomicEmulator
from airflow_provider_polytomic.testing.scenario import schema

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"
EXEC = "11111111-1111-4111-8111-111111111111"
KEY = "request_log_SECRET_key_5c1d"
STATUS = f"/api/syncs/{SYNC}/status"
SCENARIO = {
    "api_keys": [KEY],
    "syncs": [
        {
            "id": SYNC,
            "name": "Orders",
            "executions": [
                {
                    "id": EXEC,
                    "steps": [{"status": "queued"}, {"status": "running", "polls": 2}, {"status": "completed"}],
                }
            ],
        }
    ],
    "faults": [{"kind": "status", "path": STATUS, "status": 503, "requests": [2]}],
}


def serve(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[str], str, Path]:
    (tmp_path / "scenario.json").write_text(json.dumps(SCENARIO), encoding="utf-8")
    url_file, out = tmp_path / "url", tmp_path / "out.txt"
    command = [sys.executable, "-m", "airflow_provider_polytomic.testing", "--port", "0", *flags]
    command += ["--scenario", str(tmp_path / "scenario.json"), "--url-file", str(url_file)]
    with out.open("w", encoding="utf-8") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    while not (url_file.exists() and url_file.read_text(encoding="utf-8")):
        assert process.poll() is None, out.read_text(encoding="utf-8")
        assert time.monotonic() < deadline, "the emulator did not write its URL"
        time.sleep(0.05)
    return process, url_file.read_text(encoding="utf-8"), out


def poll_and_stop(process: subprocess.Popen[str], url: str, out: Path) -> list[str]:
    """Five status reads, a read with a wrong key, a start; then SIGTERM. The request lines it printed."""
    try:
        for _ in range(5):
            requests.get(url + STATUS, headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
        requests.get(url + "/api/me", headers={"Authorization": "Bearer not-the-key"}, timeout=5)
        requests.post(url + f"/api/syncs/{SYNC}/executions", headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return [line for line in out.read_text(encoding="utf-8").splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]


def test_the_command_line_logs_each_request_with_the_step_it_served_and_never_the_key(tmp_path: Path) -> None:
    lines = poll_and_stop(*serve(tmp_path))

    assert [line.split(" ", 1)[1] for line in lines[:-1]] == [
        f"GET {STATUS} -> 200  'Orders' execution 11111111 step 1/3 (queued)",
        f"GET {STATUS} -> 503  [fault: status 503]",  # the fault answered: the script did not move
        f"GET {STATUS} -> 200  'Orders' execution 11111111 step 2/3 (running)",
        f"GET {STATUS} -> 200  'Orders' execution 11111111 step 2/3 (running)",
        f"GET {STATUS} -> 200  'Orders' execution 11111111 step 3/3 (completed)",
        "GET /api/me -> 401  the key was not accepted (see api_keys / deployment_keys in the scenario)",
    ]
    assert re.fullmatch(  # a start: the new run's id is random
        rf"POST /api/syncs/{SYNC}/executions -> 200  'Orders' run execution [0-9a-f]{{8}} "
        r"\(queued -> running -> completed\)",
        lines[-1].split(" ", 1)[1],
    )
    assert not any(KEY in line or "not-the-key" in line for line in (tmp_path / "out.txt").read_text().splitlines())


def test_quiet_logs_no_request(tmp_path: Path) -> None:
    lines = poll_and_stop(*serve(tmp_path, "--quiet"))
    assert lines == []
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").startswith("http://127.0.0.1:")  # still says where


def test_the_python_emulator_is_quiet_unless_given_a_log(capsys: pytest.CaptureFixture[str]) -> None:
    """Tests read ``emulator.requests``; a line per request on their output would only bury pytest's report."""
    with PolytomicEmulator(SCENARIO) as quiet:
        requests.get(quiet.url + STATUS, headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
    assert capsys.readouterr() == ("", "")
    logged: list[str] = []
    with PolytomicEmulator(SCENARIO, log=logged.append) as watched:
        requests.get(watched.url + STATUS, headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
    assert [line.split(" ", 1)[1] for line in logged] == [
        f"GET {STATUS} -> 200  'Orders' execution 11111111 step 1/3 (queued)"
    ]


def _all_keys(rule: dict[str, Any]) -> Iterator[str]:
    """Every key the scenario format has, at any depth."""
    definitions = schema()["$defs"]
    for key, item in rule.get("properties", {}).items():
        yield key
        inner = item.get("items", item) if item.get("type") == "array" else item
        if "$ref" in inner:
            inner = definitions[inner["$ref"].rsplit("/", 1)[-1]]
        yield from _all_keys(inner)


def test_help_lists_every_key_of_the_scenario_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_polytomic.testing", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    listed = {match.group(1) for match in re.finditer(r"^ +([a-z_]+)(?:\[\])?(?: |$)", result.stdout, re.MULTILINE)}
    missing = set(_all_keys(schema())) - listed
    assert missing == set(), f"--help leaves out {sorted(missing)}"
    assert {"connections", "models", "syncs", "faults"} <= listed
