"""PolytomicSyncCompletionTrigger (asset watchers, Airflow 3) over real HTTP (aiohttp) against the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import re
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_polytomic.core.errors import PolytomicError
from airflow_provider_polytomic.testing import PolytomicEmulator
from airflow_provider_polytomic.triggers.polytomic_events import (
    EVENT_DRIVEN_SCHEDULING,
    PolytomicSyncCompletionTrigger,
)
from tests.airflow_features import ASSET_STATE_STORE, TRIGGER_ENCODING
from tests.conftest import API_KEY

SYNC = "5c1e9a47-3d2b-4f6e-8a90-7b1c2d3e4f50"
EXECUTIONS = rf"/api/syncs/{SYNC}/executions"
WAIT = 20.0  # seconds any one scenario may take before it is a failure

needs_airflow_3 = pytest.mark.skipif(
    not EVENT_DRIVEN_SCHEDULING, reason="asset watchers (BaseEventTrigger) exist only on Airflow 3"
)
needs_state_store = pytest.mark.skipif(
    not ASSET_STATE_STORE, reason="this Airflow gives asset watchers no asset state store (AssetStateStoreAccessors)"
)


def completes(appear_after: int, status: str = "completed", **final: Any) -> dict[str, Any]:
    """An execution that appears after ``appear_after`` polls, runs for two, then ends with ``status``."""
    return {
        "appear_after": appear_after,
        "steps": [{"status": "running", "polls": 2, "counts": {"insert": 1}}, {"status": status, **final}],
    }


def rebuild(classpath: str, kwargs: dict[str, Any]) -> PolytomicSyncCompletionTrigger:
    """What the triggerer does with a trigger row: import the class and call it with the JSON kwargs."""
    module, _, name = classpath.rpartition(".")
    trigger: PolytomicSyncCompletionTrigger = getattr(importlib.import_module(module), name)(
        **json.loads(json.dumps(kwargs))
    )
    return trigger


class Watcher:
    """Runs a trigger as the triggerer does (iterating ``run()`` in a task) and records each event's payload."""

    def __init__(self, trigger: PolytomicSyncCompletionTrigger) -> None:
        self.trigger = trigger
        self.events: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def _consume(self) -> None:
        async for event in self.trigger.run():
            self.events.append(event.payload)

    async def __aenter__(self) -> Watcher:
        self.task = asyncio.ensure_future(self._consume())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def until(self, what: str, check: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not check():
            assert self.task is not None
            if self.task.done():
                self.task.result()  # raises what killed it
                pytest.fail(f"the watcher stopped before {what}")
            if loop.time() > deadline:
                pytest.fail(f"gave up waiting for {what}; events so far: {self.ids()}")
            await asyncio.sleep(0.01)

    async def events_reach(self, count: int) -> None:
        await self.until(f"{count} event(s)", lambda: len(self.events) >= count)

    def ids(self) -> list[str]:
        return [event["execution_id"] for event in self.events]


async def polls(emulator: PolytomicEmulator, watcher: Watcher, count: int) -> None:
    """Let the watcher poll ``count`` more times."""
    target = len(emulator.requests_to(EXECUTIONS)) + count
    await watcher.until(f"{count} more polls", lambda: len(emulator.requests_to(EXECUTIONS)) >= target)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


class FakeSupervisorComms:
    """The triggerer's channel to the API server, as far as the asset state store goes: values kept in a dict.

    The trigger talks to Airflow's real ``AssetStateStoreAccessors``, which send these messages.
    """

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.writes = 0

    async def asend(self, message: Any) -> Any:
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time.comms import (
            AssetStateStoreResult,
            ErrorResponse,
            GetAssetStateStoreByName,
            OKResponse,
            SetAssetStateStoreByName,
        )

        if isinstance(message, GetAssetStateStoreByName):
            stored = self.values.get((message.name, message.key))
            if stored is None:
                return ErrorResponse(error=ErrorType.ASSET_STORE_NOT_FOUND)
            return AssetStateStoreResult(value=json.loads(stored))
        if isinstance(message, SetAssetStateStoreByName):
            self.values[(message.name, message.key)] = json.dumps(message.value)
            self.writes += 1
            return OKResponse(ok=True)
        raise AssertionError(f"unexpected message {message!r}")


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSupervisorComms]:
    from airflow.sdk.execution_time import task_runner

    comms = FakeSupervisorComms()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", comms, raising=False)
    yield comms


def attach_state_store(trigger: PolytomicSyncCompletionTrigger, *names: str) -> None:
    """What the Airflow 3.3 triggerer does for a watcher of these assets."""
    from airflow.sdk import Asset
    from airflow.sdk.execution_time.context import AssetStateStoreAccessors

    trigger.asset_state_store = AssetStateStoreAccessors(inlets=[Asset(name=name, uri=name) for name in names])


# ---------------------------------------------------------------------------------------------------------
# Airflow 2
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(EVENT_DRIVEN_SCHEDULING, reason="the Airflow 2 fallback; this Airflow has asset watchers")
def test_on_airflow_2_it_imports_and_says_it_needs_airflow_3() -> None:
    with pytest.raises(PolytomicError, match="needs Airflow 3"):
        PolytomicSyncCompletionTrigger(sync_id=SYNC)


# ---------------------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------------------


def build_watcher(conn_id: str) -> PolytomicSyncCompletionTrigger:
    return PolytomicSyncCompletionTrigger(
        sync_id=SYNC, polytomic_conn_id=conn_id, outcomes=["failed", "succeeded"], poll_interval=5
    )


@needs_airflow_3
def test_kwargs_are_json_primitives_without_the_key_and_stable_across_parses(
    make_connection: Callable[..., str],
) -> None:
    from airflow.triggers.base import BaseEventTrigger

    connection = make_connection()
    classpath, kwargs = build_watcher(connection).serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs and API_KEY not in json.dumps(kwargs)
    assert kwargs["outcomes"] == ["succeeded", "failed"] and kwargs["watermark"] is None
    # Two parses of a DAG file give the same trigger (no parse-time timestamp), so the watcher is not replaced.
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*build_watcher(connection).serialize())
    assert rebuild(classpath, kwargs).serialize() == (classpath, kwargs)


@pytest.mark.skipif(not TRIGGER_ENCODING, reason="this Airflow has no airflow.serialization encoders/decoders")
def test_airflow_encodes_the_watcher_and_decodes_it_unchanged(make_connection: Callable[..., str]) -> None:
    from airflow.serialization.decoders import smart_decode_trigger_kwargs
    from airflow.serialization.encoders import encode_trigger

    build = functools.partial(build_watcher, make_connection())
    classpath, kwargs = build().serialize()
    # Airflow's own encoding of a watcher's trigger, and back, as the dag-processor and triggerer do it.
    encoded = encode_trigger(build())
    decoded = {key: smart_decode_trigger_kwargs(value) for key, value in encoded["kwargs"].items()}  # type: ignore[no-untyped-call]
    assert rebuild(encoded["classpath"], decoded).serialize() == (classpath, kwargs)


@needs_airflow_3
@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"sync_id": "{{ params.sync_id }}"}, "must be a UUID"),
        ({"sync_id": SYNC, "outcomes": ["completed"]}, "outcomes must be"),
        ({"sync_id": SYNC, "outcomes": []}, "outcomes must be"),
        ({"sync_id": SYNC, "poll_interval": 0}, "poll_interval must be a positive number"),
        ({"sync_id": SYNC, "watermark": "yesterday"}, "watermark must be ISO 8601"),
        ({"sync_id": SYNC, "kind": "cdc"}, "kind must be"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(arguments: dict[str, Any], complaint: str) -> None:
    with pytest.raises(PolytomicError, match=complaint) as raised:
        PolytomicSyncCompletionTrigger(**arguments)
    assert isinstance(raised.value, TypeError)  # the one exception a triggerer survives


#: Rows a provider of another version might have written, one bad argument at a time, and what the error names.
NEWER = "9.9.9"
BAD_ROWS = {
    "an unknown argument": ({"shared_stream": True}, "'shared_stream'"),
    "an unknown outcome": ({"outcomes": ["completed"]}, "outcomes must be"),
    "outcomes that are a number": ({"outcomes": 5}, "outcomes"),
    "an unknown kind": ({"kind": "cdc"}, "kind must be"),
    "a kind of the wrong type": ({"kind": ["model"]}, "kind must be"),
    "a sync id that is not a UUID": ({"sync_id": "{{ params.sync_id }}"}, "must be a UUID"),
    "a zero poll_interval": ({"poll_interval": 0}, "poll_interval must be"),
    "a text permanent_error_interval": ({"permanent_error_interval": "soon"}, "permanent_error_interval must be"),
    "a watermark as prose": ({"watermark": "yesterday"}, "watermark must be ISO 8601"),
    "a watermark as a number": ({"watermark": 5}, "watermark must be ISO 8601"),
    "no connection id": ({"polytomic_conn_id": None}, "polytomic_conn_id must name"),
}


@needs_airflow_3
@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_row_this_version_cannot_run_is_logged_as_an_error_and_fires_nothing(
    case: str, make_connection: Callable[..., str], emulator: PolytomicEmulator, logs: Callable[[], str]
) -> None:
    changed, named = BAD_ROWS[case]
    emulator.add_sync(id=SYNC, executions=[completes(0)])
    classpath, kwargs = build_watcher(make_connection()).serialize()
    row = {**kwargs, "permanent_error_interval": 0.1, **changed, "provider_version": NEWER}
    trigger = rebuild(classpath, row)  # Airflow catches only TypeError here: anything else kills the triggerer

    async def scenario() -> None:
        async with Watcher(trigger) as watcher:
            await watcher.until("the error in the log", lambda: named in logs())
            await asyncio.sleep(0.3)
            assert watcher.task is not None and not watcher.task.done(), "the watcher ended (Airflow would restart it)"
        assert watcher.events == []

    run(scenario)
    text = logs()
    assert "PolytomicSyncCompletionTrigger cannot run" in text and "No asset events fire" in text
    assert f"airflow-provider-polytomic {NEWER}" in text and "Run the same provider version" in text
    assert emulator.requests == []  # nothing polled on arguments it cannot trust
    assert trigger.serialize() == (classpath, {**row, "ignorable": None} if "ignorable" not in row else row)


@needs_airflow_3
def test_an_unknown_argument_the_writer_marked_ignorable_is_dropped_with_a_warning(
    make_connection: Callable[..., str], emulator: PolytomicEmulator, logs: Callable[[], str]
) -> None:
    sync = emulator.add_sync(id=SYNC, executions=[completes(0)])
    classpath, kwargs = build_watcher(make_connection()).serialize()
    kwargs.update(poll_interval=0.01, label="orders", provider_version=NEWER, ignorable=["label"])
    trigger = rebuild(classpath, kwargs)

    async def scenario() -> None:
        async with Watcher(trigger) as watcher:
            await watcher.events_reach(1)
        assert watcher.ids() == [sync.executions[0].id]

    run(scenario)
    assert "ignores 'label'" in logs()


@needs_airflow_3
def test_serialize_says_which_version_wrote_the_row(make_connection: Callable[..., str]) -> None:
    from airflow_provider_polytomic import __version__

    kwargs = build_watcher(make_connection()).serialize()[1]
    assert kwargs["provider_version"] == __version__ and kwargs["ignorable"] == []


# ---------------------------------------------------------------------------------------------------------
# Against the emulator
# ---------------------------------------------------------------------------------------------------------


@needs_airflow_3
def test_three_executions_completing_over_time_fire_three_events_in_order(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(
        id=SYNC,
        executions=[
            # Finished an hour ago, before the watcher started: never fires.
            {"created_ago": 3600, "steps": [{"status": "completed", "counts": {"insert": 9}}]},
            completes(0, counts={"insert": 10, "error": 0}),
            completes(5, counts={"insert": 20, "error": 0}),
            completes(10, counts={"insert": 30, "error": 0}),
        ],
    )
    trigger = PolytomicSyncCompletionTrigger(sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.01)

    async def scenario() -> None:
        async with Watcher(trigger) as watcher:
            await watcher.events_reach(3)
            await polls(emulator, watcher, 10)
        assert watcher.ids() == [execution.id for execution in sync.executions[1:]]
        assert [event["counts"]["insert"] for event in watcher.events] == [10, 20, 30]
        first = watcher.events[0]
        assert first["sync_id"] == SYNC and first["status"] == "completed" and first["sync_kind"] == "model"
        assert first["outcome"] == "succeeded" and first["verdict"] == "succeeded"
        assert first["sync_url"] == f"{emulator.url}/syncs/{SYNC}"

    run(scenario)
    # One request per poll: the newest page of the list, no status or per-execution reads.
    assert {request.path for request in emulator.requests} == {f"/api/syncs/{SYNC}/executions"}
    assert {request.headers["User-Agent"].rsplit(" ", 1)[-1] for request in emulator.requests} == {"(aiohttp)"}


#: How a watcher restarts: Airflow 3.3 keeps its ledger in the asset state store; older Airflow 3 rebuilds it
#: from the DAG's kwargs (the watermark: when it restarts), or from a running trigger's (its high-water mark).
RESTARTS = pytest.mark.parametrize(
    ("state", "restart_from"),
    [
        pytest.param("asset state store", "the DAG's kwargs", marks=needs_state_store),
        ("none", "the DAG's kwargs"),
        ("none", "the running trigger's kwargs"),
    ],
)


def restarted(
    original: PolytomicSyncCompletionTrigger, dag_kwargs: tuple[str, dict[str, Any]], state: str, restart_from: str
) -> PolytomicSyncCompletionTrigger:
    """The watcher a restarted triggerer runs."""
    trigger = rebuild(*(dag_kwargs if restart_from == "the DAG's kwargs" else original.serialize()))
    if state == "asset state store":
        attach_state_store(trigger, f"polytomic://syncs/{SYNC}")
    return trigger


def fires_after_restart(
    emulator: PolytomicEmulator, trigger: PolytomicSyncCompletionTrigger, expected: list[str], names: dict[str, str]
) -> None:
    """Run the restarted watcher: it fires the ``expected`` executions (by name), in order, and nothing more."""

    async def after() -> None:
        async with Watcher(trigger) as watcher:
            await watcher.events_reach(len(expected))
            await polls(emulator, watcher, 10)
        assert watcher.ids() == [names[name] for name in expected]

    run(after)


@needs_airflow_3
@RESTARTS
def test_a_restart_fires_no_execution_twice(
    make_connection: Callable[..., str],
    emulator: PolytomicEmulator,
    request: pytest.FixtureRequest,
    state: str,
    restart_from: str,
) -> None:
    # With the store, what finished while down fires then, once; without it, C (finished while down) is missed,
    # unless the running trigger's kwargs (its high-water mark) are what it restarts from.
    fired_after_restart = ["D"] if (state, restart_from) == ("none", "the DAG's kwargs") else ["C", "D"]
    # Only the state store talks to the (fake) supervisor; without it the watcher runs as on Airflow 3.0-3.2.
    supervisor: FakeSupervisorComms | None = request.getfixturevalue("supervisor") if state != "none" else None
    sync = emulator.add_sync(id=SYNC, executions=[completes(0), completes(4), completes(8), completes(30)])
    names = dict(zip("ABCD", [execution.id for execution in sync.executions], strict=True))
    original = PolytomicSyncCompletionTrigger(sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.01)
    dag_kwargs = original.serialize()  # what the trigger row in the database holds
    if state == "asset state store":
        attach_state_store(original, f"polytomic://syncs/{SYNC}")

    async def before() -> None:
        async with Watcher(original) as watcher:
            await watcher.events_reach(2)
        assert watcher.ids() == [names["A"], names["B"]]

    run(before)
    # The triggerer is down; meanwhile C finishes.
    with emulator.lock:
        sync.reads += 16
        sync.visible()
    assert sync.status_of(sync.executions[2]).status == "completed"

    fires_after_restart(emulator, restarted(original, dag_kwargs, state, restart_from), fired_after_restart, names)
    if supervisor is not None:
        key = (f"polytomic://syncs/{SYNC}", f"polytomic-sync-completion/model/{SYNC}/succeeded")
        saved = json.loads(supervisor.values[key])
        assert set(saved["seen"]) == set(names.values())


@needs_state_store
def test_identical_watchers_on_two_assets_keep_the_ledger_on_both(
    make_connection: Callable[..., str], emulator: PolytomicEmulator, supervisor: FakeSupervisorComms
) -> None:
    sync = emulator.add_sync(id=SYNC, executions=[completes(0)])
    trigger = PolytomicSyncCompletionTrigger(sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.01)
    attach_state_store(trigger, "orders", "orders_copy")

    async def scenario() -> None:
        async with Watcher(trigger) as watcher:
            await watcher.events_reach(1)

    run(scenario)
    saved = {name: json.loads(value)["seen"] for (name, _), value in supervisor.values.items()}
    assert saved.keys() == {"orders", "orders_copy"}
    assert all(list(seen) == [sync.executions[0].id] for seen in saved.values())


@needs_airflow_3
def test_failed_executions_fire_only_when_asked(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    sync = emulator.add_sync(
        id=SYNC,
        executions=[
            completes(0, "failed", errors=["destination rejected the batch"]),
            completes(4, counts={"insert": 5, "error": 0}),
            completes(8, counts={"insert": 5, "error": 3}, errors=["bad email"] * 3),
            completes(12, "canceled"),
            completes(16, "interrupted"),
            completes(20, counts={"insert": 7, "error": 0}),
        ],
    )
    ids = [execution.id for execution in sync.executions]
    connection = make_connection()
    default = PolytomicSyncCompletionTrigger(sync_id=SYNC, polytomic_conn_id=connection, poll_interval=0.01)
    failures = PolytomicSyncCompletionTrigger(
        sync_id=SYNC,
        polytomic_conn_id=connection,
        poll_interval=0.01,
        outcomes=["failed", "canceled", "interrupted", "completed_with_errors"],
    )

    async def scenario() -> None:
        async with Watcher(default) as good, Watcher(failures) as bad:
            await good.events_reach(2)
            await bad.events_reach(4)
            await polls(emulator, good, 6)
        assert good.ids() == [ids[1], ids[5]]
        assert bad.ids() == [ids[0], ids[2], ids[3], ids[4]]
        assert [event["outcome"] for event in bad.events] == [
            "failed",
            "completed_with_errors",
            "canceled",
            "interrupted",
        ]
        assert {event["verdict"] for event in bad.events} == {"failed"}
        assert "destination rejected the batch" in bad.events[0]["message"]

    run(scenario)


@needs_airflow_3
def test_a_huge_error_list_gives_a_bounded_payload(
    make_connection: Callable[..., str], emulator: PolytomicEmulator
) -> None:
    errors = [f"row {number}: " + "x" * 1000 for number in range(5000)]
    emulator.add_sync(id=SYNC, executions=[completes(0, counts={"insert": 1, "error": 5000}, errors=errors)])
    trigger = PolytomicSyncCompletionTrigger(
        sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.01, outcomes="completed_with_errors"
    )

    async def scenario() -> None:
        async with Watcher(trigger) as watcher:
            await watcher.events_reach(1)
        (payload,) = watcher.events
        assert payload["errors_total"] == 5000 and len(payload["errors"]) == 5
        assert len(json.dumps(payload).encode()) < 16 * 1024

    run(scenario)


@needs_airflow_3
@pytest.mark.parametrize(
    ("problem", "logged"),
    [
        ("wrong key", "HTTP 401"),
        ("unknown sync", "HTTP 404"),
        ("no such connection", "is not defined"),
    ],
)
def test_a_permanent_error_is_logged_and_retried_slowly_until_it_is_fixed(
    make_connection: Callable[..., str],
    emulator: PolytomicEmulator,
    logs: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    problem: str,
    logged: str,
) -> None:
    connection = make_connection("polytomic_watch", password="nope-nope" if problem == "wrong key" else API_KEY)
    if problem == "no such connection":
        monkeypatch.delenv("AIRFLOW_CONN_POLYTOMIC_WATCH")
    if problem != "unknown sync":
        emulator.add_sync(id=SYNC, executions=[completes(0)])
    trigger = PolytomicSyncCompletionTrigger(
        sync_id=SYNC, polytomic_conn_id=connection, poll_interval=0.01, permanent_error_interval=0.2
    )

    def attempts() -> int:
        # The attempt number each error line ends with: Airflow 3.0 logs every line twice (logging and stdout).
        return max(
            (int(number) for number in re.findall(r"does not fix itself.*?\(attempt (\d+)\)", logs())), default=0
        )

    async def scenario() -> None:
        async with Watcher(trigger) as watcher:
            # The first read of a connection may take a while (a cold Airflow); the clock starts at the first error.
            await watcher.until("the first error", lambda: attempts() >= 1)
            await asyncio.sleep(0.7)
            assert watcher.task is not None and not watcher.task.done(), "the watcher died"
            assert watcher.events == []
            assert 2 <= attempts() <= 5, attempts()  # retried, slowly (every 0.2 s, not every 0.01 s)
            # Someone fixes it; the watcher notices on its own, with no restart.
            make_connection("polytomic_watch")
            if problem == "unknown sync":
                emulator.add_sync(id=SYNC, executions=[completes(0)])
            await watcher.events_reach(1)

    run(scenario)
    text = logs()
    assert logged in text and f"Polytomic sync completion watcher for sync {SYNC} cannot watch it" in text
    assert "answers again after" in text
    assert API_KEY not in text and "nope-nope" not in text


@needs_airflow_3
def test_transient_errors_back_off_and_keep_watching(
    make_connection: Callable[..., str], emulator: PolytomicEmulator, logs: Callable[[], str]
) -> None:
    sync = emulator.add_sync(id=SYNC, executions=[completes(0)])
    emulator.add_fault("status", path=EXECUTIONS, status=503, requests=[2, 3, 4, 5, 6, 7])
    trigger = PolytomicSyncCompletionTrigger(
        sync_id=SYNC, polytomic_conn_id=make_connection(max_retries=1), poll_interval=0.01
    )

    async def scenario() -> None:
        async with Watcher(trigger) as watcher:
            await watcher.events_reach(1)
        assert watcher.ids() == [sync.executions[0].id]

    run(scenario)
    text = logs()
    assert "HTTP 503" in text and f"Watching Polytomic sync {SYNC} again in" in text
    assert "does not fix itself" not in text


@needs_airflow_3
def test_overlapping_pages_fire_each_execution_once(make_connection: Callable[..., str]) -> None:
    """Offset page tokens shift when a run starts mid-scan: page 1 [1,2,3], page 2 [3,4,5]. Five executions, five
    events (the watcher used to fire execution 3 twice: a duplicate DAG run)."""
    from tests import faultservers

    now = datetime.now(timezone.utc)
    ids = [f"{n}{n}{n}{n}{n}{n}{n}{n}-0000-4000-8000-000000000000" for n in range(1, 6)]

    def execution(index: int) -> dict[str, Any]:
        finished = now + timedelta(minutes=10 - index)  # newest first, all after the watcher's watermark
        return {
            "id": ids[index],
            "status": "completed",
            "created_at": (finished - timedelta(minutes=1)).isoformat(),
            "completed_at": finished.isoformat(),
        }

    def pages(method: str, path: str, headers: dict[str, str]) -> faultservers.Answer:
        if "page_token=2" in path:
            document = {"data": [execution(i) for i in (2, 3, 4)], "pagination": {"next_page_token": None}}
        else:
            document = {"data": [execution(i) for i in (0, 1, 2)], "pagination": {"next_page_token": "2"}}
        return 200, {}, json.dumps(document).encode()

    with faultservers.http_server(pages) as server:
        trigger = PolytomicSyncCompletionTrigger(
            sync_id=SYNC,
            polytomic_conn_id=make_connection(host=server.url),
            poll_interval=0.05,
            watermark=(now - timedelta(hours=1)).isoformat(),
        )

        async def scenario() -> None:
            async with Watcher(trigger) as watcher:
                await watcher.events_reach(5)
                target = len(server.requests) + 4
                await watcher.until("two more scans", lambda: len(server.requests) >= target)
            assert sorted(watcher.ids()) == sorted(ids)
            assert len(watcher.ids()) == 5

        run(scenario)


# ---------------------------------------------------------------------------------------------------------
# Clocks: Polytomic's and the triggerer's disagree (core/clock.py)
# ---------------------------------------------------------------------------------------------------------

SKEW = 120.0  # seconds: Polytomic's clock 2 minutes ahead of the triggerer's, or behind it


@needs_airflow_3
@pytest.mark.parametrize("offset", [SKEW, -SKEW], ids=["polytomic-ahead", "polytomic-behind"])
def test_the_default_watermark_is_polytomics_now_whatever_the_triggerers_clock_says(
    make_connection: Callable[..., str], emulator: PolytomicEmulator, offset: float
) -> None:
    """Before: the watermark was the triggerer's "now". Polytomic 2 min ahead, a run that finished a minute
    before the watcher started fired; 2 min behind, the run that finished while it watched never fired."""
    emulator.clock_offset = offset
    sync = emulator.add_sync(
        id=SYNC, executions=[{"created_ago": 60, "steps": [{"status": "completed"}]}, completes(3)]
    )
    trigger = PolytomicSyncCompletionTrigger(sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.01)

    async def scenario() -> None:
        async with Watcher(trigger) as watcher:
            await watcher.events_reach(1)
            await polls(emulator, watcher, 10)
        assert watcher.ids() == [sync.executions[1].id]

    run(scenario)
    # Its watermark is on Polytomic's clock: the old run's end, at the latest, never the triggerer's now.
    old = sync.executions[0]
    assert old.completed_at is not None and trigger.watermark is not None
    assert abs((datetime.fromisoformat(trigger.watermark) - old.completed_at).total_seconds() - 60) < 5


def null_end(appear_after: int, running_polls: int = 2) -> dict[str, Any]:
    """An execution that runs, then ends ``completed`` with ``completed_at: null``."""
    return {
        "appear_after": appear_after,
        "omit_completed_at": True,
        "steps": [{"status": "running", "polls": running_polls}, {"status": "completed"}],
    }


@needs_airflow_3
@RESTARTS
def test_a_run_that_ends_with_completed_at_null_fires_exactly_once(
    make_connection: Callable[..., str],
    emulator: PolytomicEmulator,
    request: pytest.FixtureRequest,
    state: str,
    restart_from: str,
) -> None:
    """Before: A, running when the watcher started, never fired (its end was taken to be its start, before the
    watermark). B is seen running before the restart and ends while the triggerer is down: with the store it fires
    then, once (the ledger kept it as running); rebuilt from the DAG's kwargs the watcher starts at Polytomic's
    now and misses it; from the running trigger's kwargs, B (created after that high-water mark) fires."""
    fired_after_restart = ["C"] if (state, restart_from) == ("none", "the DAG's kwargs") else ["B", "C"]
    if state != "none":
        request.getfixturevalue("supervisor")
    sync = emulator.add_sync(
        id=SYNC,
        executions=[
            {"created_ago": 600, "omit_completed_at": True, "steps": [{"status": "completed"}]},  # never fires
            null_end(0),
            null_end(5, running_polls=40),
            null_end(60),
        ],
    )
    names = dict(zip("OABC", [execution.id for execution in sync.executions], strict=True))
    with emulator.lock:
        sync.visible()  # A exists (running) before the watcher starts: its start is before any watermark
    original = PolytomicSyncCompletionTrigger(sync_id=SYNC, polytomic_conn_id=make_connection(), poll_interval=0.01)
    dag_kwargs = original.serialize()
    if state == "asset state store":
        attach_state_store(original, f"polytomic://syncs/{SYNC}")
    b = sync.executions[2]

    async def before() -> None:
        async with Watcher(original) as watcher:
            await watcher.events_reach(1)
            await watcher.until("B seen running", lambda: sync.reads > 8)
            await polls(emulator, watcher, 2)
        assert watcher.ids() == [names["A"]]
        assert watcher.events[0]["status"] == "completed" and watcher.events[0]["completed_at"] is None

    run(before)
    assert sync.status_of(b).status == "running"
    with emulator.lock:  # the triggerer is down; meanwhile B ends
        sync.reads += 45
        sync.visible()
    assert sync.status_of(b).status == "completed" and emulator.requests_to(EXECUTIONS)

    fires_after_restart(emulator, restarted(original, dag_kwargs, state, restart_from), fired_after_restart, names)
