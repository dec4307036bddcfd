"""A sync given by its name (``sync_name=``) instead of its id, for the sensors and the start operators.

A sync that Terraform recreates keeps its name and gets a new id. The name is resolved in the worker (never in
the triggerer: the trigger gets the id), with the hook's :meth:`find_sync` (what a look-up means is decided in
:mod:`airflow_provider_polytomic.core.sync_list`), once per operator instance (:class:`SyncReference`), and then
the task works with the id: its ``sync_id`` is set, so the watch, the link, the summary and the messages carry
the id, and the name too.

Where the instance does not last:

- a reschedule poke is a new process: on Airflow 3.3+ the id is kept in the task state store for the try's later
  pokes (key :data:`RESOLVED_KEY`, deleted when the wait ends); older Airflow has no store that lasts between
  pokes (XComs are cleared at each), so there each poke looks the name up again;
- a task resumed after a deferral reads the id from XCom (key :data:`SYNC_ID_XCOM_KEY`), which lasts a deferral on
  every line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_polytomic.core.constants import SyncKind
    from airflow_provider_polytomic.hooks.polytomic import PolytomicHook
    from airflow_provider_polytomic.task_state_store import TaskStateStore

#: Airflow 3.3+ task state store key: the sync a name resolved to, for the later reschedule pokes of one try.
RESOLVED_KEY = "polytomic_resolved_sync"
#: XCom key of the id a name resolved to: what a task resumed after a deferral works with.
SYNC_ID_XCOM_KEY = "polytomic_sync_id"


def check_sync_reference(task_id: str, sync_id: Any, sync_name: Any) -> None:
    """When the DAG is parsed: exactly one of ``sync_id`` and ``sync_name``, where that can be told already (a
    template may render empty, so two templates are checked when the task runs)."""
    given = [value for value in (sync_id, sync_name) if value not in (None, "")]
    if not given:
        raise ValueError(f"{task_id}: pass sync_id (the sync's UUID) or sync_name (its exact name).")
    if len(given) == 2 and not any(isinstance(value, str) and "{{" in value for value in given):
        raise ValueError(
            f"{task_id}: pass exactly one of sync_id and sync_name, not both (sync_id={sync_id!r:.60}, "
            f"sync_name={sync_name!r:.100})."
        )


class SyncReference:
    """The sync a task works with: ``sync_id``, or the id ``sync_name`` resolves to when the task runs.

    Built by the sensors and start operators from their rendered ``sync_id`` and ``sync_name`` (once per
    instance); after :meth:`resolve_and_link` (or :meth:`resume`) :attr:`sync_id` is the id, and
    :attr:`resolved_name` the name it came from (None when given by id). ``reschedule``: the task's pokes are new
    processes, so the id is kept in the task state store for the try's later pokes.
    """

    def __init__(
        self,
        *,
        owner: str,
        sync_id: Any,
        sync_name: Any,
        kind: SyncKind,
        conn_id: str,
        hook: PolytomicHook,
        log: Any,
        reschedule: bool = False,
    ) -> None:
        self.owner = owner
        self.sync_id = sync_id
        self.sync_name = sync_name
        self.kind = kind
        self.conn_id = conn_id
        self.hook = hook
        self.log = log
        self.reschedule = reschedule
        #: The name ``sync_id`` was resolved from (None: given by id, or not resolved yet).
        self.resolved_name: str | None = None
        #: This instance read or wrote :data:`RESOLVED_KEY` (so the end of the wait deletes it).
        self._kept = False

    def resolve_and_link(self, context: Context, *, wait_out_transient: bool = False) -> bool:
        """Resolve the name (if one was given), then push the extra link, whatever happened. False when Polytomic
        was temporarily unreachable and ``wait_out_transient`` (the next poke tries again); raises otherwise."""
        from airflow_provider_polytomic.core.errors import PolytomicError, is_transient
        from airflow_provider_polytomic.polytomic_task import push_sync_url

        try:
            self._resolve(context)
        except PolytomicError as error:
            if not (wait_out_transient and is_transient(error)):
                raise
            self.log.warning("%s Trying again at the next poke.", error)
            return False
        finally:
            push_sync_url(context, self.hook, self.sync_id if self._ready() else None, self.kind)
        return True

    def _ready(self) -> bool:
        return self.resolved_name is not None or not _given(self.sync_name)

    def _resolve(self, context: Context) -> None:
        """``sync_id`` from ``sync_name`` (rendered): kept from earlier in this try where Airflow keeps it, else
        looked up. Exactly one of the two must be given."""
        from airflow_provider_polytomic.core.errors import PolytomicConfigError

        if self.resolved_name is not None:
            return
        by_id, by_name = _given(self.sync_id), _given(self.sync_name)
        if by_id == by_name:
            said = "both" if by_id else "neither (both rendered empty)"
            raise PolytomicConfigError(
                f"{self.owner} needs exactly one of sync_id and sync_name; it got {said}: "
                f"sync_id={self.sync_id!r:.60}, sync_name={self.sync_name!r:.100}."
            )
        if by_id:
            return
        name = str(self.sync_name)
        sync_id = self._kept_resolution(context, name)
        if sync_id is None:
            sync_id = self._look_up(context, name)
        self.sync_id, self.resolved_name = sync_id, name

    def _store(self, context: Context) -> TaskStateStore | None:
        from airflow_provider_polytomic.task_state_store import TaskStateStore

        store = TaskStateStore.of(context, self.log)
        return store if self.reschedule and store.available else None

    def _look_up(self, context: Context, name: str) -> str:
        from airflow_provider_polytomic.core.constants import SyncKind

        kind = "bulk sync" if self.kind is SyncKind.BULK else "sync"
        found = self.hook.find_sync(name, self.kind)
        store = self._store(context)
        later = ""
        if self.reschedule and store is None:
            later = " Airflow before 3.3 keeps nothing between reschedule pokes, so each poke looks it up again."
        self.log.info(
            "Polytomic %s name %r is %s %s (connection '%s').%s", kind, name, kind, found.id, self.conn_id, later
        )
        if found.active is False:
            self.log.warning(
                "Polytomic %s %r (%s) is paused (active: false): it may never run, and this task may wait until its "
                "timeout.",
                kind,
                name,
                found.id,
            )
        self._keep_resolution(context, store, name, found.id)
        return found.id

    # -- kept across reschedule pokes (Airflow 3.3+) and deferrals ------------------------------------------

    def _kept_resolution(self, context: Context, name: str) -> str | None:
        """The id an earlier reschedule poke of this try resolved ``name`` to (Airflow 3.3+)."""
        from airflow_provider_polytomic.core.errors import PolytomicError
        from airflow_provider_polytomic.core.ids import validate_id

        store = self._store(context)
        if store is None:
            return None
        saved = store.get(RESOLVED_KEY)
        self._kept = saved is not None
        ti: Any = context["ti"]
        # Once per try: a retry looks again (the sync may have been recreated meanwhile).
        if not isinstance(saved, dict) or saved.get("name") != name or saved.get("try_number") != ti.try_number:
            return None
        try:
            return validate_id(saved.get("sync_id"), "sync id")
        except PolytomicError:
            return None

    def resume(self, context: Context) -> None:
        """A task resumed after a deferral (a new instance): the id its name resolved to before deferring."""
        from airflow_provider_polytomic.core.errors import PolytomicError
        from airflow_provider_polytomic.core.ids import validate_id

        if self.resolved_name is not None or not _given(self.sync_name) or _given(self.sync_id):
            return
        try:
            self.sync_id = validate_id(own_xcom(context, SYNC_ID_XCOM_KEY), "sync id")
        except PolytomicError:
            self._resolve(context)  # the XCom is gone: look it up again
            return
        self.resolved_name = str(self.sync_name)

    def _keep_resolution(self, context: Context, store: TaskStateStore | None, name: str, sync_id: str) -> None:
        ti: Any = context["ti"]
        ti.xcom_push(key=SYNC_ID_XCOM_KEY, value=sync_id)
        kept = {"name": name, "sync_id": sync_id, "try_number": ti.try_number}
        if store is not None and store.set(RESOLVED_KEY, kept):
            self._kept = True

    def forget(self, store: TaskStateStore) -> None:
        """The wait ended: delete what this try kept in the task state store (nothing stays behind)."""
        if self._kept:
            self._kept = False
            store.delete(RESOLVED_KEY)


def own_xcom(context: Context, key: str) -> Any:
    """What this task instance (its own map index) pushed under ``key``: e.g. before it deferred, since a
    resumed task is a new operator instance."""
    ti: Any = context["ti"]
    map_index = ti.map_index if ti.map_index is not None and ti.map_index >= 0 else None
    return ti.xcom_pull(task_ids=ti.task_id, key=key, map_indexes=map_index)


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())
