"""The execution a sensor follows, kept in Airflow 3.3's task state store for exactly as long as its wait lasts.

A retry or a reschedule poke is a new process: without the store it would read the sync's current execution,
which by then may be a newer run. One rule for every mode (poke, reschedule, deferrable):

- The key is written as soon as the execution is known, and every later poke or try of the same wait follows it.
- It is deleted when the wait ends: a verdict (succeeded, failed, timed out, skipped under ``soft_fail``), the
  followed execution no longer exists (a 404 to a read of it), or any other error after which Airflow runs no
  further try of the task.
- It is kept when a try ends with a retry to come (a worker crash, a killed task, an API error that outlasts the
  try, a crashed trigger): the retry continues on the same run.
- A user's clear starts a new wait. The key carries the try that wrote it; Airflow numbers a task's tries since
  its last clear from ``max_tries - retries + 1`` (a clear sets ``max_tries`` past every earlier try), so a key
  written before that (left by a try that could not clean up) is not followed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

from airflow_provider_polytomic.core.errors import PolytomicError, PolytomicExecutionGoneError, execution_gone
from airflow_provider_polytomic.task_state_store import TaskStateStore

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_polytomic.core.watch import SyncWatch

#: The task state store key (Airflow 3.3+): ``sync_id``, ``execution_id``, the ``try_number`` that wrote it, and
#: ``sync_name`` (None when it could not be read), so that reschedule pokes name the sync without asking again.
FOLLOWED_KEY = "polytomic_followed_execution"
#: Endings that are the wait's own, whatever try this is: a verdict on the run, a timeout, a skip.
_FINAL = (AirflowSkipException, AirflowFailException, AirflowSensorTimeout)


def followed_in_this_wait(saved: Any, sync_id: str, first_try: int) -> str | None:
    """The execution id ``saved`` names, if it is this sync's and was written during this wait (by a try
    numbered ``first_try`` or later); None otherwise. The id itself is checked by the caller."""
    if not isinstance(saved, dict) or saved.get("sync_id") != sync_id:
        return None
    written = saved.get("try_number")
    # No try number: written by a provider from before this rule, when no ending was sure to delete it.
    if isinstance(written, bool) or not isinstance(written, int) or written < first_try:
        return None
    execution_id = saved.get("execution_id")
    return execution_id if isinstance(execution_id, str) else None


def wait_over(error: BaseException, *, retry_follows: bool) -> bool:
    """Whether a try that ended with ``error`` ended the wait (the followed execution is then forgotten)."""
    if isinstance(error, (*_FINAL, PolytomicExecutionGoneError)):
        return True
    if not isinstance(error, Exception):
        return False  # TaskDeferred, a killed or timed-out try (BaseException on Airflow 3): the wait goes on
    # Only asked where a store exists: Airflow 3.3+ (3.0 has it elsewhere, and no store).
    from airflow.sdk.exceptions import AirflowRescheduleException  # type: ignore[attr-defined]

    if isinstance(error, AirflowRescheduleException):
        return False  # the next poke carries on
    return not retry_follows


class FollowedExecution:
    """Keeps the execution a sensor follows across its tries and pokes (see the module docstring); built by the
    sensors from their own parameters.

    :param author_execution_id: The DAG author's ``execution_id``, if any: then nothing needs keeping, and a 404
        is the author's to fix.
    :param retries: The task's ``retries`` (which try is the first since a clear).
    :param forget_all: What the task does when its wait ends: deletes everything it keeps in the task state store
        (this object's key with the rest, through :meth:`forget`).
    """

    def __init__(
        self,
        *,
        author_execution_id: str | None,
        retries: int | None,
        forget_all: Callable[[Context], None],
        log: Any,
    ) -> None:
        self.author_execution_id = author_execution_id
        self.retries = retries
        self.forget_all = forget_all
        self.log = log
        #: The execution id this task instance last wrote to (or read from) the task state store.
        self._remembered: str | None = None
        #: The sync's name is kept beside the execution, so that a reschedule poke names the sync without asking
        #: again: whether this Airflow keeps it (a store exists), whether an earlier poke already tried to read
        #: it (a read that failed is not retried every poke), and the name it kept.
        self.name_kept = False
        self.name_tried = False
        self.kept_name: str | None = None

    def recall(self, context: Context, sync_id: str, sync_name: str | None = None) -> str | None:
        """The execution an earlier try or poke of this wait followed, if Airflow kept it (``sync_name``: the
        name the sync was given by, if any, for the log line)."""
        from airflow_provider_polytomic.core.naming import name_sync

        store = TaskStateStore.of(context, self.log)
        if not store.available:
            return None
        self.name_kept = True
        saved = store.get(FOLLOWED_KEY)
        if saved is None:
            return None
        from airflow_provider_polytomic.core.ids import validate_id

        try:
            remembered = validate_id(followed_in_this_wait(saved, sync_id, self._first_try(context)), "execution id")
        except PolytomicError:
            self.log.info(
                "Looking afresh for Polytomic sync %s's execution: the one kept in the task state store is from an "
                "earlier wait of this task (it was cleared since) or another sync.",
                sync_id,
            )
            self.forget_all(context)
            return None
        self.name_tried = "sync_name" in saved
        if isinstance(saved.get("sync_name"), str):
            self.kept_name = saved["sync_name"]
        following = (
            f"Following Polytomic sync {sync_id} execution {remembered}, as an earlier try or poke of this task did."
        )
        self.log.info(name_sync(following, sync_id, sync_name or self.kept_name))
        self._remembered = remembered
        return remembered

    def remember(self, context: Context, watch: SyncWatch, sync_name: str | None) -> None:
        """Keep the execution the watch follows, and the sync's name (None when it could not be read), for the
        next try or poke (once per execution)."""
        if self.author_execution_id or watch.execution_id is None or watch.execution_id == self._remembered:
            return
        value = {"sync_id": watch.sync_id, "execution_id": watch.execution_id, "try_number": self._try(context)}
        value["sync_name"] = sync_name
        if TaskStateStore.of(context, self.log).set(FOLLOWED_KEY, value):
            self._remembered = watch.execution_id

    def forget(self, store: TaskStateStore) -> None:
        """Delete the followed execution's key (the task's ``forget_all`` calls this)."""
        store.delete(FOLLOWED_KEY)
        self._remembered = None

    @contextmanager
    def following(self, context: Context) -> Iterator[None]:
        """Around each entry point of a try (``execute``, ``resume_execution``): forgets the followed execution
        when the wait ends, keeps it when it goes on (see the module docstring)."""
        try:
            yield
        except BaseException as error:
            gone = execution_gone(error)
            if gone is not None and not self.author_execution_id:
                self.forget_all(context)
                raise PolytomicExecutionGoneError(
                    f"Polytomic sync {gone.sync_id} execution {gone.execution_id}, which this task was following, "
                    "no longer exists (deleted, or the connection now reaches another organization); the next try "
                    f"of this task will look afresh for the sync's current execution. {gone}",
                    sync_id=gone.sync_id,
                    execution_id=gone.execution_id,
                ) from None
            kept = TaskStateStore.of(context, self.log).available
            if kept and wait_over(error, retry_follows=self._retry_follows(context)):
                self.forget_all(context)
            raise
        else:
            self.forget_all(context)

    @staticmethod
    def _try(context: Context) -> int:
        return int(context["ti"].try_number)

    def _first_try(self, context: Context) -> int:
        """The first try since the task was last cleared (or first ran), as Airflow counts it."""
        return int(context["ti"].max_tries) - (self.retries or 0) + 1

    @staticmethod
    def _retry_follows(context: Context) -> bool:
        """Whether Airflow will run another try if this one fails (its own rule: ``try_number <= max_tries``)."""
        ti: Any = context["ti"]
        return bool(ti.max_tries) and ti.try_number <= ti.max_tries
