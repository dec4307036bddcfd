"""Process faults with real Airflow 3 processes: the provider's promises when a triggerer, a worker or the
scheduler dies mid-wait.

One deployment for the module (api-server, scheduler, dag-processor, triggerer "a"; a second triggerer "b"
joins during the failover test), DAGs from ``tests/process_dags``, every sync driven by the test's own clock
(``tests/emulator_script.py``) so each phase starts when the processes are ready for it, and every wait bounded.

- Triggerer failover: "a" (capacity 5) holds the asset watcher and four deferred sensors, "b" the other four;
  "a" is SIGKILLed while a newer execution runs on every sync. Every sensor succeeds on the execution it
  started with, on try 1; no sync is polled twice as often after "b" takes over; the watcher fires once for
  each execution that finished before, during and after the outage.
- Worker crash: the task process of a poke-mode sensor, a reschedule-mode sensor and a start operator is
  SIGKILLed mid-wait (each sensor while the emulator holds one of its polls open, the operator right after its
  start request); the retry judges the same execution and starts no second run.
- Scheduler restart while sensors are deferred and rescheduled: every run still ends right.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_polytomic.testing import EmulatedSync, PolytomicEmulator
from tests import emulator_script as script
from tests.airflow_processes import AirflowDeployment, airflow_deployment
from tests.conftest import API_KEY, ORG_ID

try:
    from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS
except ImportError:  # pragma: no cover
    AIRFLOW_V_3_0_PLUS = False

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the Airflow 3 process model (api-server, dag-processor)"),
]

DAGS = Path(__file__).resolve().parents[1] / "process_dags"
WATCHED = "0d9e2c7a-4b1f-4e3a-9c5d-7f6a8b9c0d1e"
FAULT_DAGS = {"faults_deferred", "faults_worker", "faults_scheduler", "faults_watcher"}
#: The triggerer that dies holds the watcher and four sensors, no more, so which triggers it has is known.
VICTIM_CAPACITY = 5
HEALTH_CHECK_THRESHOLD = 6  # seconds without a heartbeat before a triggerer's triggers are taken over
STARTUP = 150  # seconds: the deployment up, the DAGs parsed, the watcher running
PHASE = 90  # seconds: the longest any one phase of a test may take
WINDOW = 5.0  # seconds over which requests per sync are counted
#: Seconds the emulator holds the poll a sensor is killed in: under the connection's 5 s timeout
#: (tests/airflow_processes.py), so a poke that is not killed gets its answer late and nothing else changes.
HOLD = 3.0


@pytest.fixture(scope="module")
def emulator() -> Iterator[PolytomicEmulator]:
    with PolytomicEmulator({"api_keys": [API_KEY], "organization": {"id": ORG_ID, "name": "Acme Data"}}) as server:
        yield server


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, Any]]:
    """What the tests measured; written to $POLYTOMIC_FAULT_FIGURES (JSON) when set, for the docs."""
    measured: dict[str, Any] = {}
    yield measured
    if os.environ.get("POLYTOMIC_FAULT_FIGURES"):
        Path(os.environ["POLYTOMIC_FAULT_FIGURES"]).write_text(json.dumps(measured, indent=1))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, emulator: PolytomicEmulator) -> Iterator[AirflowDeployment]:
    # The watched sync must exist before the watcher's first poll (an unknown sync is retried only every 5 min).
    script.add_sync(emulator, WATCHED, executions=[{"created_ago": 3600, "steps": [{"status": "completed"}]}])
    env = {
        "AIRFLOW__CORE__PARALLELISM": "6",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(HEALTH_CHECK_THRESHOLD),
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
        # A task's supervisor can notice its child's exit only at its next wake-up, up to this many seconds
        # later (the default 5 s: as long as a reschedule-mode poke interval). The next poke is then queued
        # before the last one's exit is reported, and Airflow marks the task UP_FOR_RETRY on its own.
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        "POLYTOMIC_FAULTS_WATCHED_SYNC": WATCHED,
    }
    processes = {
        "api-server": ["api-server"],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
        "triggerer-a": ["triggerer", "--capacity", str(VICTIM_CAPACITY), "--skip-serve-logs"],
    }
    with airflow_deployment(
        tmp_path_factory.mktemp("faults"), emulator, env, dags_folder=DAGS, processes=processes, sqlite_wal=True
    ) as airflow:
        airflow.wait_for("the DAGs to be parsed", lambda: len(parsed(airflow)) == len(FAULT_DAGS), STARTUP)
        airflow.wait_for("the watcher to run", lambda: watcher_triggerer(airflow) is not None, STARTUP)
        yield airflow
        for path in airflow.logs_dir.glob("*.log"):
            assert API_KEY not in path.read_text(errors="replace"), path.name


# -- reading the deployment ---------------------------------------------------------------------------------


def parsed(airflow: AirflowDeployment) -> set[object]:
    if not airflow.db.exists():
        return set()
    return {dag_id for (dag_id,) in airflow.query("select dag_id from dag") if dag_id in FAULT_DAGS}


def watcher_triggerer(airflow: AirflowDeployment) -> object:
    rows = airflow.query("select triggerer_id from trigger where classpath like '%PolytomicSyncCompletionTrigger'")
    return rows[0][0] if rows else None


def triggerer_ids(airflow: AirflowDeployment) -> list[object]:
    return [job for (job,) in airflow.query("select id from job where job_type='TriggererJob' order by id")]


def tasks(airflow: AirflowDeployment, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
    """Each task instance of the run: state, try number, pid, and the triggerer holding its trigger."""
    rows = airflow.query(
        "select ti.task_id, ti.state, ti.try_number, ti.pid, t.triggerer_id from task_instance ti "
        "left join trigger t on t.id = ti.trigger_id where ti.dag_id=? and ti.run_id=?",
        dag_id,
        run_id,
    )
    return {
        str(task_id): {"state": state, "try": try_number, "pid": pid, "triggerer": triggerer}
        for task_id, state, try_number, pid, triggerer in rows
    }


def returned(airflow: AirflowDeployment, dag_id: str, run_id: str) -> dict[str, Any]:
    rows = airflow.query(
        "select x.task_id, x.value from xcom x join dag_run r on r.id = x.dag_run_id "
        "where x.dag_id=? and r.run_id=? and x.key='return_value'",
        dag_id,
        run_id,
    )
    return {str(task_id): _json(value) for task_id, value in rows}


def _json(value: object) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def trigger(airflow: AirflowDeployment, dag_id: str, run_id: str, conf: dict[str, Any]) -> None:
    airflow.airflow("dags", "trigger", dag_id, "-r", run_id, "-c", json.dumps(conf))


def polls(emulator: PolytomicEmulator, sync: EmulatedSync, since: float = 0.0, until: float | None = None) -> int:
    """Requests about ``sync`` that arrived in [since, until)."""
    return sum(
        since <= request.at < (until if until is not None else float("inf"))
        for request in emulator.requests_to(rf"/api/syncs/{sync.id}(/.*)?")
    )


def asked_for(emulator: PolytomicEmulator, sync: EmulatedSync, execution_id: str, since: float = 0.0) -> bool:
    return any(
        request.at >= since for request in emulator.requests_to(rf"/api/syncs/{sync.id}/executions/{execution_id}")
    )


def all_in(states: dict[str, dict[str, Any]], names: list[str], *wanted: str) -> bool:
    return all(states.get(name, {}).get("state") in wanted for name in names)


def kill_task(airflow: AirflowDeployment, dag_id: str, run_id: str, task_id: str, timeout: float) -> int:
    """SIGKILL the process running the task (its first try), catching it while it runs; its pid."""
    killed: list[int] = []

    def caught() -> bool:
        info = tasks(airflow, dag_id, run_id).get(task_id, {})
        if info.get("state") != "running" or not info.get("pid") or info.get("try") != 1:
            return False
        try:
            os.kill(int(info["pid"]), signal.SIGKILL)
        except ProcessLookupError:
            return False  # that poke had just ended; catch the next one
        killed.append(int(info["pid"]))
        return True

    airflow.wait_for(f"{task_id} running, to kill it", caught, timeout, interval=0.1)
    return killed[0]


def kill_mid_poll(
    airflow: AirflowDeployment,
    emulator: PolytomicEmulator,
    sync: EmulatedSync,
    task: tuple[str, str, str],
    timeout: float,
) -> int:
    """SIGKILL a sensor's first try while the emulator holds its next request about ``sync`` open; its pid.

    A poke is in flight for milliseconds, and the database may still say "running" after it reported: a kill
    timed on the task's state alone can land after the poke (a no-op) or never. The emulator delays that
    request HOLD seconds instead and records it on arrival, so the task is caught inside its request. A
    request the test saw too late (under load) is let through, and the next one is held.
    """
    dag_id, run_id, task_id = task
    about = rf"/api/syncs/{sync.id}(/.*)?"
    armed = [time.monotonic()]
    emulator.add_fault("delay", path=about, seconds=HOLD, requests=[1])
    killed: list[int] = []

    def caught() -> bool:
        held = [item for item in emulator.requests_to(about) if item.at >= armed[0] and item.status is None]
        if not held:
            return False
        info = tasks(airflow, dag_id, run_id).get(task_id, {})
        if info.get("try") != 1:
            pytest.fail(f"{task_id} reached try {info.get('try')} before it was killed: {info}")
        if time.monotonic() - held[0].at < HOLD - 1 and info.get("state") == "running" and info.get("pid"):
            with suppress(ProcessLookupError):
                os.kill(int(info["pid"]), signal.SIGKILL)
                killed.append(int(info["pid"]))
                return True
        armed[0] = time.monotonic()  # caught too late: hold the next request instead
        emulator.add_fault("delay", path=about, seconds=HOLD, requests=[1])
        return False

    airflow.wait_for(f"{task_id} inside a held request, to kill it", caught, timeout, interval=0.1)
    return killed[0]


# -- the tests ------------------------------------------------------------------------------------------------


def test_triggerer_failover_keeps_each_execution_and_the_watcher_fires_once(
    deployment: AirflowDeployment, emulator: PolytomicEmulator, figures: dict[str, Any]
) -> None:
    airflow = deployment
    (victim,) = triggerer_ids(airflow)  # only "a" runs yet
    assert watcher_triggerer(airflow) == victim
    watched = emulator.syncs[WATCHED]
    before, during, after = (script.begin(emulator, watched, inserted) for inserted in (1, 2, 3))

    old = [{"created_ago": 3600, "steps": [{"status": "completed"}]}]
    runs: dict[str, dict[str, list[EmulatedSync]]] = {}
    first: dict[str, str] = {}  # sync id -> the execution its sensor must judge
    for run_id in ("x", "y"):
        known = [script.add_sync(emulator) for _ in range(2)]
        anchored = [script.add_sync(emulator, executions=old) for _ in range(2)]
        for sync in known:
            first[sync.id] = script.begin(emulator, sync).id
        runs[run_id] = {"known": known, "anchored": anchored}
    names = ["known_0", "known_1", "anchored_0", "anchored_1"]

    def start(run_id: str) -> None:
        conf = {kind: [sync.id for sync in syncs] for kind, syncs in runs[run_id].items()}
        trigger(airflow, "faults_deferred", run_id, {**conf, "completed_after": datetime.now(timezone.utc).isoformat()})

    def held_by(run_id: str, triggerer: object) -> bool:
        states = tasks(airflow, "faults_deferred", run_id)
        return all_in(states, names, "deferred") and all(states[name]["triggerer"] == triggerer for name in names)

    # Run x defers onto "a" (which is then full); "b" starts and takes run y.
    start("x")
    airflow.wait_for("run x deferred onto triggerer a", lambda: held_by("x", victim), PHASE)
    airflow.start("triggerer-b", ["triggerer", "--capacity", "50", "--skip-serve-logs"])
    start("y")
    airflow.wait_for("triggerer b", lambda: len(triggerer_ids(airflow)) == 2, PHASE)
    survivor = triggerer_ids(airflow)[1]
    airflow.wait_for("run y deferred onto triggerer b", lambda: held_by("y", survivor), PHASE)

    # The anchored sensors deferred before their sync had a run: it starts now, and each trigger latches on.
    anchored = [sync for run in runs.values() for sync in run["anchored"]]
    for sync in anchored:
        first[sync.id] = script.begin(emulator, sync).id
    airflow.wait_for(
        "each anchored trigger to follow its execution",
        lambda: all(asked_for(emulator, sync, first[sync.id]) for sync in anchored),
        PHASE,
    )
    # A newer run starts on every sync while the sensors wait.
    syncs = [emulator.syncs[sync_id] for sync_id in first]
    newer = {sync.id: script.begin(emulator, sync).id for sync in syncs}
    script.end(emulator, watched, before)
    airflow.wait_for("the watcher's first event", lambda: len(events(airflow)) == 1, PHASE)
    time.sleep(WINDOW)  # the "before" window of requests per sync
    assert held_by("x", victim) and held_by("y", survivor), "a triggerer lost its triggers before the kill"

    airflow.kill("triggerer-a")
    killed = time.monotonic()
    script.end(emulator, watched, during)  # finishes while nobody watches
    on_victim = [*runs["x"]["known"], *runs["x"]["anchored"]]
    takeover = airflow.wait_for(
        "triggerer b to take over",
        lambda: (
            not airflow.query("select id from trigger where triggerer_id=?", victim)
            and all(polls(emulator, sync, since=killed) for sync in [*on_victim, watched])
        ),
        PHASE,
        interval=0.2,
    )
    settled = time.monotonic() + 1
    time.sleep(WINDOW + 1)
    rates = {
        sync.id: (
            polls(emulator, sync, killed - WINDOW, killed) / WINDOW,
            polls(emulator, sync, settled, settled + WINDOW) / WINDOW,
        )
        for sync in [*syncs, watched]
    }
    for sync in syncs:
        script.end(emulator, sync, first[sync.id])
        script.end(emulator, sync, newer[sync.id], "failed")  # judging the newer run fails the task
    script.end(emulator, watched, after)

    def finished(run_id: str) -> bool:
        return all_in(tasks(airflow, "faults_deferred", run_id), names, "success", "failed", "up_for_retry")

    recovered = airflow.wait_for("both runs to finish", lambda: finished("x") and finished("y"), PHASE)
    airflow.wait_for("the watcher's three events", lambda: len(events(airflow)) >= 3, PHASE)
    polled = polls(emulator, watched)
    airflow.wait_for("three more polls of the watched sync", lambda: polls(emulator, watched) >= polled + 3, PHASE)

    outcomes = {}
    for run_id, run in runs.items():
        states = tasks(airflow, "faults_deferred", run_id)
        values = returned(airflow, "faults_deferred", run_id)
        for kind, kind_syncs in run.items():
            for index, sync in enumerate(kind_syncs):
                name = f"{kind}_{index}"
                judged = (values.get(name) or {}).get("execution_id")
                outcomes[f"{run_id}/{name}"] = (states[name]["state"], states[name]["try"], judged == first[sync.id])
    assert all(outcome == ("success", 1, True) for outcome in outcomes.values()), outcomes
    # Nobody asked for the newer run: every trigger kept following its own execution.
    assert not [sync.id for sync in syncs if asked_for(emulator, sync, newer[sync.id])]
    # No duplicate poller: after the takeover no sync is polled more often than before.
    assert all(after_rate <= 1.5 * before_rate + 0.2 for before_rate, after_rate in rates.values()), rates
    assert [event["execution_id"] for event in events(airflow)] == [before.id, during.id, after.id]
    fired = watcher_runs(airflow)
    assert sorted(ids for run in fired for ids in run) == sorted([before.id, during.id, after.id]), fired

    victim_syncs = {sync.id for sync in on_victim}
    figures["triggerer_failover"] = {
        "sensors": len(outcomes),
        "on_killed_triggerer": len(on_victim),
        "takeover_s": round(takeover, 1),
        "first_poll_after_kill_s": round(
            max(
                min(
                    request.at
                    for request in emulator.requests_to(rf"/api/syncs/{sync.id}(/.*)?")
                    if request.at >= killed
                )
                - killed
                for sync in on_victim
            ),
            1,
        ),
        "finish_after_end_s": round(recovered, 1),
        "requests_per_s_before_after_moved": _mean([rates[sync_id] for sync_id in victim_syncs]),
        "requests_per_s_before_after_stayed": _mean(
            [rate for sync_id, rate in rates.items() if sync_id not in victim_syncs and sync_id != WATCHED]
        ),
        "requests_per_s_before_after_watcher": rates[WATCHED],
        "outcomes": sorted({str(outcome) for outcome in outcomes.values()}),
        "watcher_events": len(events(airflow)),
    }


def events(airflow: AirflowDeployment) -> list[dict[str, Any]]:
    return [_json(extra)["payload"] for (extra,) in airflow.query("select extra from asset_event order by id")]


def watcher_runs(airflow: AirflowDeployment) -> list[list[str]]:
    return [
        _json(value)
        for (value,) in airflow.query(
            "select x.value from xcom x where x.dag_id='faults_watcher' and x.key='return_value' order by x.dag_run_id"
        )
    ]


def _mean(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return (round(sum(a for a, _ in pairs) / len(pairs), 2), round(sum(b for _, b in pairs) / len(pairs), 2))


def test_a_killed_worker_retries_onto_the_same_execution(
    deployment: AirflowDeployment, emulator: PolytomicEmulator, figures: dict[str, Any]
) -> None:
    airflow = deployment
    poke, reschedule, start = (script.add_sync(emulator) for _ in range(3))
    first = {sync.id: script.begin(emulator, sync).id for sync in (poke, reschedule)}
    trigger(airflow, "faults_worker", "w", {"poke": poke.id, "reschedule": reschedule.id, "start": start.id})
    started = f"/api/syncs/{start.id}/executions"
    airflow.wait_for(
        "the start request",
        lambda: any(request.status == 200 for request in emulator.requests_to(started, "POST")),
        PHASE,
        interval=0.1,
    )
    kill_task(airflow, "faults_worker", "w", "start", PHASE)
    (started_id,) = script.executions(emulator, start)
    script.end(emulator, start, started_id)  # a fast run: over before the retry, so a new key would start another

    killed: dict[str, float] = {}
    newer: dict[str, str] = {}
    first_poke_over = {
        "poke": lambda: polls(emulator, poke) >= 2,
        # the first poke has kept its execution and ended: a later one is the one killed
        "reschedule": lambda: (
            tasks(airflow, "faults_worker", "w").get("reschedule", {}).get("state") == "up_for_reschedule"
        ),
    }
    for name, sync in (("poke", poke), ("reschedule", reschedule)):
        airflow.wait_for(f"{name}'s first poke", first_poke_over[name], PHASE)
        kill_mid_poll(airflow, emulator, sync, ("faults_worker", "w", name), PHASE)
        killed[name] = time.monotonic()
        newer[name] = script.begin(emulator, sync).id  # a newer run starts while the task is down
    airflow.wait_for(
        "the retries to poll",
        lambda: all(
            tasks(airflow, "faults_worker", "w").get(name, {}).get("try") == 2
            and polls(emulator, sync, since=killed[name]) >= 2
            for name, sync in (("poke", poke), ("reschedule", reschedule))
        ),
        PHASE,
    )
    for sync in (poke, reschedule):
        script.end(emulator, sync, first[sync.id])
    for name, sync in (("poke", poke), ("reschedule", reschedule)):
        script.end(emulator, sync, newer[name], "failed")
    names = ["poke", "reschedule", "start"]
    airflow.wait_for(
        "the run to finish",
        lambda: (
            all_in(tasks(airflow, "faults_worker", "w"), names, "success", "failed")
            or len(script.executions(emulator, start)) > 1
        ),  # a second run: fail now, not at the deadline
        PHASE,
    )
    states = tasks(airflow, "faults_worker", "w")
    values = returned(airflow, "faults_worker", "w")
    expected = {"poke": first[poke.id], "reschedule": first[reschedule.id], "start": started_id}
    outcomes = {
        name: (
            states[name]["state"],
            states[name]["try"],
            (values.get(name) or {}).get("execution_id") == expected[name],
        )
        for name in names
    }
    figures["worker_crash"] = {"outcomes": outcomes}
    assert outcomes["start"] == ("success", 2, True), outcomes
    # One run started, and the retry's start request carried the first one's Idempotency-Key.
    assert script.executions(emulator, start) == [started_id]
    keys = [request.headers.get("Idempotency-Key") for request in emulator.requests_to(started, "POST")]
    assert len(keys) == 2 and keys[0] == keys[1], keys
    assert outcomes["reschedule"] == ("success", 2, True), outcomes
    # A retry is a new process: it follows the execution the first try kept in Airflow 3.3's task state store,
    # not the sync's current one (the newer run by then).
    assert outcomes["poke"] == ("success", 2, True), outcomes


def test_a_scheduler_restart_leaves_deferred_and_rescheduled_sensors_right(
    deployment: AirflowDeployment, emulator: PolytomicEmulator, figures: dict[str, Any]
) -> None:
    airflow = deployment
    if len(triggerer_ids(airflow)) == 1:  # run alone: give the deferred sensors room
        airflow.start("triggerer-b", ["triggerer", "--capacity", "50", "--skip-serve-logs"])
    deferred = [script.add_sync(emulator) for _ in range(2)]
    rescheduled = [script.add_sync(emulator) for _ in range(2)]
    syncs = [*deferred, *rescheduled]
    first = {sync.id: script.begin(emulator, sync).id for sync in syncs}
    trigger(
        airflow,
        "faults_scheduler",
        "s",
        {"deferred": [sync.id for sync in deferred], "rescheduled": [sync.id for sync in rescheduled]},
    )
    names = ["deferred_0", "deferred_1", "rescheduled_0", "rescheduled_1"]

    def waiting() -> bool:
        states = tasks(airflow, "faults_scheduler", "s")
        return all_in(states, names[:2], "deferred") and all_in(states, names[2:], "up_for_reschedule")

    airflow.wait_for(
        "the sensors deferred and rescheduled",
        lambda: waiting() and all(polls(emulator, sync) >= 3 for sync in syncs),
        PHASE,
    )
    newer = {sync.id: script.begin(emulator, sync).id for sync in syncs}
    airflow.stop("scheduler")
    stopped = time.monotonic()
    for sync in syncs:  # the runs end while no scheduler runs
        script.end(emulator, sync, first[sync.id])
        script.end(emulator, sync, newer[sync.id], "failed")
    time.sleep(3)
    airflow.start("scheduler")
    restarted = time.monotonic()
    recovered = airflow.wait_for(
        "the run to finish",
        lambda: all_in(tasks(airflow, "faults_scheduler", "s"), names, "success", "failed"),
        PHASE,
    )
    states = tasks(airflow, "faults_scheduler", "s")
    values = returned(airflow, "faults_scheduler", "s")
    outcomes = {}
    for name, sync in zip(names, syncs, strict=True):
        judged = (values.get(name) or {}).get("execution_id")
        outcomes[name] = (states[name]["state"], states[name]["try"], judged == first[sync.id])
    figures["scheduler_restart"] = {
        "down_s": round(restarted - stopped, 1),
        "finish_after_restart_s": round(recovered, 1),
        "outcomes": outcomes,
    }
    assert all(outcome == ("success", 1, True) for outcome in outcomes.values()), outcomes
