"""Drive an emulated sync's executions from a test, as the test's own clock says, instead of a fixed script.

Process-fault tests cannot know in advance when Airflow's processes reach each stage, so they start and end
executions when the deployment is ready for it. The syncs use ``clock="seconds"``; an execution started here
runs until :func:`end` is called.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_polytomic.testing import EmulatedExecution, EmulatedSync, PolytomicEmulator, Step

#: Longer than any test: "running until the test says otherwise".
FOREVER = 24 * 3600.0


def add_sync(emulator: PolytomicEmulator, sync_id: str | None = None, **spec: Any) -> EmulatedSync:
    """A sync on the wall clock; an execution the API starts runs until :func:`end`."""
    extra = {"id": sync_id} if sync_id else {}
    return emulator.add_sync(
        clock="seconds",
        run_steps=[{"status": "running", "seconds": FOREVER, "counts": {"insert": 1}}, {"status": "completed"}],
        **extra,
        **spec,
    )


def begin(emulator: PolytomicEmulator, sync: EmulatedSync, inserted: int = 1) -> EmulatedExecution:
    """A new execution of ``sync`` that appears now and runs until :func:`end`."""
    with emulator.lock:
        execution = EmulatedExecution.from_dict(
            {
                "appear_after": sync.tick(),
                "steps": [
                    {"status": "running", "seconds": FOREVER, "counts": {"insert": inserted}},
                    {"status": "completed"},
                ],
            }
        )
        sync.executions.append(execution)
        sync.visible()  # stamps created_at now
        return execution


def end(
    emulator: PolytomicEmulator, sync: EmulatedSync, execution: EmulatedExecution | str, status: str = "completed"
) -> None:
    """Finish ``execution`` now with ``status`` (its counts kept; ``failed`` carries one error message)."""
    with emulator.lock:
        if isinstance(execution, str):
            execution = next(item for item in sync.executions if item.id == execution)
        appeared = execution.appeared_at_tick if execution.appeared_at_tick is not None else execution.appear_after
        age = max(sync.tick() - appeared, 0.0)
        counts = dict(execution.steps[0].counts or {})
        final = Step(status=status, counts={**counts, "error": 0, "total": sum(counts.values())})
        if status == "failed":
            final.errors = ["emulated failure"]
        execution.steps = [Step(status="running", seconds=age, counts=counts), final]
        sync.visible()  # stamps completed_at now


def executions(emulator: PolytomicEmulator, sync: EmulatedSync) -> list[str]:
    with emulator.lock:
        return [item.id for item in sync.visible()]
