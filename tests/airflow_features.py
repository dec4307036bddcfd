"""What the installed Airflow can do, found by looking for it rather than by version number.

CI runs the suite on Airflow 2.11, 3.0 and 3.3; a test that needs something only some of them have skips, on the
others, by one of these flags (so a backport, or a feature moving, changes what runs without editing version
strings).
"""

from __future__ import annotations

import importlib
import importlib.util

from airflow_provider_polytomic.triggers.polytomic_events import EVENT_DRIVEN_SCHEDULING


def _has(module: str, name: str | None = None) -> bool:
    try:
        found = importlib.import_module(module) if name else importlib.util.find_spec(module)
    except ImportError:
        return False
    return found is not None and (name is None or hasattr(found, name))


#: Asset watchers (``BaseEventTrigger``): Airflow 3.
ASSET_WATCHERS = EVENT_DRIVEN_SCHEDULING
#: The triggerer hands each asset watcher a per-asset state store (``AssetStateStoreAccessors``): Airflow 3.3.
#: Without it the completion trigger runs on its watermark alone.
ASSET_STATE_STORE = ASSET_WATCHERS and _has("airflow.sdk.execution_time.context", "AssetStateStoreAccessors")
#: A task's own state store (``context["task_state_store"]``), kept across tries and reschedule pokes: Airflow 3.3.
TASK_STATE_STORE = _has("airflow.sdk.execution_time.context", "TaskStateStoreAccessor")
#: Airflow's own encoding of a watcher's trigger for the database and back (``airflow.serialization.encoders``
#: / ``decoders``), as the dag-processor and the triggerer use it: Airflow 3.3 has it, 3.0 and 3.1 do not.
TRIGGER_ENCODING = (
    ASSET_WATCHERS
    and _has("airflow.serialization.encoders", "encode_trigger")
    and _has("airflow.serialization.decoders", "smart_decode_trigger_kwargs")
)
#: Tasks get a task state store (``context["task_state_store"]``), kept across tries: Airflow 3.3.
TASK_STATE_STORE = _has("airflow.sdk.execution_time.context", "TaskStateStoreAccessor")
