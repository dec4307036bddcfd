"""The whole-request time limit of the ``requests`` transport, against a server on 127.0.0.1 that drips its answer
one byte every 0.2 s: ``requests``' own timeout (per read) never fires, the deadline does."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_polytomic.hooks.deadline import Deadline, DeadlineAdapter
from airflow_provider_polytomic.testing import PolytomicEmulator
from tests.faultservers import drip, raw_server


def session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", DeadlineAdapter())
    return session


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_dripping_answer_is_cut_off_when_the_deadline_passes(part: str) -> None:
    with raw_server(drip(part)) as server, session() as client:
        started = time.monotonic()
        with pytest.raises((requests.RequestException, OSError)), Deadline(0.6) as deadline:
            response = client.get(server.url, timeout=1, stream=True)
            for _ in response.iter_content(64):
                pass
        took = time.monotonic() - started
    assert deadline.expired
    assert took < 5  # the server would drip for 20 s; the per-read timeout of 1 s never fires


def test_a_request_within_its_deadline_is_untouched(emulator: PolytomicEmulator) -> None:
    with session() as client, Deadline(30) as deadline:
        response = client.get(f"{emulator.url}/api/me", timeout=5)
    assert response.status_code == 401 and response.json()["status"] == 401 and not deadline.expired


def test_a_deadline_that_ended_shuts_nothing_afterwards() -> None:
    with Deadline(0.05) as deadline:
        pass
    time.sleep(0.2)  # the watchdog's turn comes after the block ended
    assert not deadline.expired
