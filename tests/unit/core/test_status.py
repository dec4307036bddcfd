"""What a status means: the gate's judgement, the one classification, and the outcome a trigger sends back."""

from __future__ import annotations

import pytest

from airflow_provider_polytomic.core.constants import SyncKind
from airflow_provider_polytomic.core.status import FAILURE, FAILURE_ENDINGS, Ending, Outcome, Verdict, classify, judge
from tests.unit.core.samples import SYNC, A, execution


def test_only_completed_succeeds() -> None:
    assert judge(SYNC, execution(A, "completed"), fail_on_record_errors=True).verdict is Verdict.SUCCEEDED
    for status in ("failed", "canceled", "interrupted"):
        result = judge(SYNC, execution(A, status, errors=["boom"]), fail_on_record_errors=True)
        assert result.verdict is Verdict.FAILED
        assert status in result.message and A in result.message and "boom" in result.message
    for status in ("created", "scheduled", "queued", "waiting", "running", "processing", "canceling"):
        assert judge(SYNC, execution(A, status), fail_on_record_errors=True).verdict is Verdict.WAITING


def test_unknown_status_never_passes() -> None:
    result = judge(SYNC, execution(A, "partially_done"), fail_on_record_errors=True)
    assert result.verdict is Verdict.WAITING and result.unknown_status


def test_record_errors_fail_only_when_asked() -> None:
    done = execution(A, "completed", counts={"error": 12}, errors=[f"row {n}" for n in range(9)])
    failed = judge(SYNC, done, fail_on_record_errors=True)
    assert failed.verdict is Verdict.FAILED
    assert "12 record error" in failed.message and "row 0" in failed.message and "6 more" in failed.message
    assert judge(SYNC, done, fail_on_record_errors=False).verdict is Verdict.SUCCEEDED


def test_an_outcome_crosses_back_as_an_event_and_a_malformed_event_is_refused() -> None:
    judgement = judge(SYNC, execution(A, "failed", errors=["boom"]), fail_on_record_errors=True)
    outcome = Outcome.of(judgement, waited=12.34)
    back = Outcome.from_event(outcome.to_event())
    assert back == Outcome(Verdict.FAILED, judgement.message, SYNC, A, judgement.summary(), 12.3)
    for bad in (None, {"verdict": "maybe"}, {"verdict": "succeeded", "summary": None}, "succeeded"):
        with pytest.raises(ValueError):
            Outcome.from_event(bad)


def test_an_error_event_says_whether_the_execution_is_gone_and_an_older_triggers_event_says_not() -> None:
    gone = Outcome(Verdict.ERROR, "HTTP 404", SYNC, A, gone=True)
    assert Outcome.from_event(gone.to_event()) == gone
    older = {key: value for key, value in gone.to_event().items() if key != "gone"}
    assert Outcome.from_event(older).gone is False


def test_one_classification_gives_the_gate_and_the_watcher_their_answers() -> None:
    cases = [
        ("completed", {}, SyncKind.MODEL, Ending.SUCCEEDED),
        ("completed", {"counts": {"error": 2}}, SyncKind.MODEL, Ending.COMPLETED_WITH_ERRORS),
        ("errors", {}, SyncKind.BULK, Ending.COMPLETED_WITH_ERRORS),
        ("errors", {}, SyncKind.MODEL, None),  # not a model status: unknown, never finished
        ("canceled", {}, SyncKind.MODEL, Ending.CANCELED),
        ("interrupted", {}, SyncKind.BULK, Ending.INTERRUPTED),
        ("running", {}, SyncKind.MODEL, None),
        ("rebalancing", {}, SyncKind.MODEL, None),
    ]
    for status, more, kind, ending in cases:
        run = execution(A, status, **more)
        assert classify(run, kind) is ending, (status, kind)
        verdict = judge(SYNC, run, fail_on_record_errors=True, kind=kind).verdict
        assert verdict is (
            Verdict.WAITING if ending is None else Verdict.SUCCEEDED if ending is Ending.SUCCEEDED else Verdict.FAILED
        )


def test_events_written_by_the_version_before_the_closed_verdict_are_read_back() -> None:
    # A trigger event stays in the database across an upgrade: its verdict is text, as it always was.
    summary = {"sync_id": SYNC, "execution_id": A, "status": "completed"}
    written = [
        (
            {
                "verdict": "succeeded",
                "message": "ok",
                "sync_id": SYNC,
                "execution_id": A,
                "summary": summary,
                "waited": 3.0,
                "gone": False,
            },
            Verdict.SUCCEEDED,
        ),
        (
            {
                "verdict": "failed",
                "message": "bad",
                "sync_id": SYNC,
                "execution_id": A,
                "summary": summary,
                "waited": None,
                "gone": False,
            },
            Verdict.FAILED,
        ),
        (
            {
                "verdict": "error",
                "message": "HTTP 403",
                "sync_id": SYNC,
                "execution_id": None,
                "summary": None,
                "waited": None,
                "gone": False,
            },
            Verdict.ERROR,
        ),
        (
            {
                "verdict": "timeout",
                "message": "Timed out",
                "sync_id": SYNC,
                "execution_id": A,
                "summary": None,
                "waited": None,
                "gone": False,
            },
            Verdict.TIMEOUT,
        ),
    ]
    for event, verdict in written:
        outcome = Outcome.from_event(event)
        assert outcome.verdict is verdict and outcome.to_event() == event


def test_the_verdict_is_closed_and_no_wait_ends_waiting() -> None:
    assert {verdict.value for verdict in Verdict} == {"waiting", "succeeded", "failed", "error", "timeout"}
    assert Verdict.SUCCEEDED != "succeeded"  # type: ignore[comparison-overlap]  # no accidental match with text
    with pytest.raises(ValueError):
        Outcome(Verdict.WAITING, "still running", SYNC)
    with pytest.raises(ValueError):
        Outcome.from_event({"verdict": "waiting", "message": "", "sync_id": SYNC})


def test_every_failure_status_has_its_own_ending() -> None:
    # A failure status is added with its ending (no status value silently doubling as an ending's).
    assert frozenset(FAILURE_ENDINGS) == FAILURE
    assert len(set(FAILURE_ENDINGS.values())) == len(FAILURE_ENDINGS)
    assert Ending.SUCCEEDED not in FAILURE_ENDINGS.values()


def test_a_run_is_finished_exactly_when_it_has_an_ending() -> None:
    # finished() (which run a watch stops following, which an asset watcher counts) and classify() (what it
    # means) must agree for every status: a new ending status forgotten in TERMINAL fails here.
    from airflow_provider_polytomic.core.models import ExecutionStatus
    from airflow_provider_polytomic.core.status import finished

    for kind in SyncKind:
        for status in ExecutionStatus:
            run = execution(A, status.value)
            assert finished(run, kind) is (classify(run, kind) is not None), (kind, status)
