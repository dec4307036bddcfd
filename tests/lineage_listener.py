"""Airflow's OpenLineage listener switched on (or off) for one test, and the process left as it was found.

What a test that turns OpenLineage on could leave behind, and how these context managers avoid it:

- Airflow's two listener managers (``airflow.sdk.listener`` for task events, ``airflow.listeners.listener`` for
  DAG-run events) are built once per process, on first use, and each registers every listener the plugins
  declare then. The OpenLineage provider's plugin declares its listener only when OpenLineage is configured
  when its module is first imported (``OpenLineageProviderPlugin.listeners``). Built while a test has
  OpenLineage on, both managers keep the listener for the rest of the session, and later tests send a
  definition request per task and print console events into the logs they read. So both managers are built
  first, under the process's own configuration, and only the task manager gets the listener, from here.
- On the way out, whatever a manager holds that it did not hold before is unregistered: the listener added here.
- The provider caches its configuration (``airflow.providers.openlineage.conf``) and the adapter its client:
  both are cleared on the way in and out, so neither the file transport nor its absence outlives the test.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock


def _listener_managers() -> list[Any]:
    """Both listener managers, built now if they were not yet (under the configuration the process has now)."""
    from airflow.listeners.listener import get_listener_manager as dag_run_listeners
    from airflow.sdk.listener import get_listener_manager as task_listeners

    return [task_listeners(), dag_run_listeners()]


def _forget_configuration(listener: Any) -> None:
    from airflow.providers.openlineage import conf

    for value in vars(conf).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()
    listener.adapter._client = None


@contextlib.contextmanager
def _as_found(managers: list[Any]) -> Iterator[None]:
    """Unregister, on the way out, every listener the managers did not hold on the way in."""
    before = [list(manager.pm.get_plugins()) for manager in managers]
    try:
        yield
    finally:
        for manager, held in zip(managers, before, strict=True):
            for plugin in list(manager.pm.get_plugins()):
                if not any(plugin is kept for kept in held):
                    manager.pm.unregister(plugin)


@contextlib.contextmanager
def openlineage_to_file(path: Path, namespace: str = "polytomic-tests") -> Iterator[None]:
    """OpenLineage on for the task events, through the file transport into ``path`` (one JSON event a line)."""
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    listener = get_openlineage_listener()
    task_manager, dag_run_manager = _listener_managers()
    settings = {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(path), "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": namespace,
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
    }
    with _as_found([task_manager, dag_run_manager]):
        try:
            with mock.patch.dict(os.environ, settings):
                _forget_configuration(listener)
                task_manager.add_listener(listener)
                yield
        finally:
            _forget_configuration(listener)  # the environment is the process's own again: read afresh


@contextlib.contextmanager
def openlineage_off() -> Iterator[None]:
    """Airflow's OpenLineage listener off, whatever the process's configuration registered: what names alone
    cost. Registered again on the way out where it was."""
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    listener = get_openlineage_listener()
    managers = _listener_managers()
    held = [manager for manager in managers if manager.pm.is_registered(listener)]
    for manager in held:
        manager.pm.unregister(listener)
    try:
        yield
    finally:
        for manager in held:
            manager.add_listener(listener)
