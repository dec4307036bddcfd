"""The emulator as a user-facing tool, against bad input: a scenario or an argument it cannot use ends the command
with one ``error:`` line and exit status 2 (never a traceback, never a scenario accepted that then drops every
request), and a request whose ``Content-Length`` it cannot honour gets a 400 (never a blocked handler or a
dropped connection)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_polytomic.testing import PolytomicEmulator, ScenarioError
from tests.conftest import API_KEY

SYNC = "0d6f3a8e-2b7c-4f15-9a31-6c2e8b4d7f90"


def run_command_line(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow_provider_polytomic.testing", *args]
    # A command that is wrongly accepted serves until stopped: the timeout ends it, and the test fails.
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"the command was accepted and kept serving: {expired.stdout!r}")


@pytest.mark.parametrize(
    ("scenario", "args", "named"),
    [
        ("[]", [], "scenario: expected object, got array"),
        ("[1]", [], "scenario: expected object, got array"),
        ('"acme"', [], "scenario: expected object, got string"),
        ('{"organization": "acme"}', [], "scenario.organization: expected object, got string"),
        ('{"deployment_keys": ["pk_deploy"]}', [], "scenario.deployment_keys: expected object, got array"),
        (
            '{"syncs": [{"executions": [{"created_ago": 1e300, "steps": [{"status": "completed"}]}]}]}',
            [],
            "scenario.syncs[0].executions[0].created_ago: 1e+300 is more than",
        ),
        ('{"syncs": [{"executions": [{"created_ago": NaN}]}]}', [], "created_ago: nan is not a finite number"),
        ('{"faults": [{"kind": "drop", "path": "("}]}', [], "scenario.faults[0].path: '(' is not a regular expression"),
        ('{"faults": [{"kind": "delay", "seconds": 1e300}]}', [], "scenario.faults[0].seconds: 1e+300 is more than"),
        ("[" * 100_000, [], "cannot read the scenario"),
        (None, ["--port", "99999"], "argument --port: must be from 0 (a free port) to 65535, got 99999"),
        (None, ["--port", "-1"], "argument --port: must be from 0 (a free port) to 65535, got -1"),
        (None, ["--url-file", "{tmp}/no/such/folder/url"], "cannot write the URL file"),
    ],
)
def test_a_scenario_or_argument_it_cannot_use_is_one_error_line_and_exit_2(
    scenario: str | None, args: list[str], named: str, tmp_path: Path
) -> None:
    # Before: an AttributeError or OverflowError traceback (list, string, organization, deployment_keys, port,
    # URL file), or a scenario accepted whose every request was then dropped (created_ago, fault path).
    arguments = [argument.replace("{tmp}", str(tmp_path)) for argument in args]
    if scenario is not None:
        (tmp_path / "scenario.json").write_text(scenario, encoding="utf-8")
        arguments += ["--scenario", str(tmp_path / "scenario.json")]
    result = run_command_line(*arguments)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result.stderr
    (error_line,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert named in result.stderr, result.stderr
    assert error_line.startswith(("error:", "python -m airflow_provider_polytomic.testing: error:")), error_line
    assert result.stdout == ""  # never a URL printed for an emulator that is not serving


@pytest.mark.parametrize("scenario", [[], [1], "acme", {"organization": "acme"}, {"deployment_keys": ["a"]}])
def test_a_scenario_that_is_not_an_object_where_one_is_needed_is_a_scenario_error(scenario: Any) -> None:
    with pytest.raises(ScenarioError, match="expected object"):
        PolytomicEmulator(scenario)


def raw_request(url: str, head: bytes, body: bytes = b"") -> tuple[bytes, float]:
    """Send ``head`` (and ``body``) on a fresh connection; the whole answer until the server closes, and how long
    that took. A server that never answers fails the read after 10 s."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head + body)
        answer = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                pytest.fail(f"the emulator sent no complete answer in 10 s: {answer!r}")
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


@pytest.mark.parametrize("length", ["-1", "abc", str(10**12), "1e3", "٣"])
def test_a_content_length_it_cannot_honour_is_a_400(emulator: PolytomicEmulator, length: str) -> None:
    # Before: -1 and 10**12 blocked the handler reading a body that never came; abc crashed it (no answer).
    head = (
        f"POST /api/syncs/{SYNC}/executions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    answer, took = raw_request(emulator.url, head, b'{"resync": false}')
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 400 "), answer
    document = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert document["status"] == 400 and "Content-Length" in document["message"]
    assert took < 5, took  # answered, not left waiting for a body
    assert [(item.method, item.status) for item in emulator.requests] == [("POST", 400)]
    # The emulator goes on serving.
    assert requests.get(emulator.url + "/api/me", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5).ok


def test_a_body_of_the_declared_length_is_still_read(emulator: PolytomicEmulator) -> None:
    emulator.add_sync(id=SYNC)
    body = json.dumps({"resync": False}).encode()
    head = (
        f"POST /api/syncs/{SYNC}/executions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    answer, _ = raw_request(emulator.url, head, body)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert emulator.requests[-1].body == {"resync": False}
