"""A trigger's arguments, checked so that no argument can take the triggerer down. No I/O.

Airflow's triggerer rebuilds a trigger from the arguments stored in its row (``TriggerClass(**kwargs)``) and
catches only ``TypeError`` from the constructor (Airflow 2.11, 3.0 and 3.3 alike): any other exception ends the
trigger runner, and with it every deferred task of every team on that triggerer. Rows outlive a deployment (an
upgrade, a rollback, workers and triggerers on different provider versions), so a trigger must expect
arguments its own version cannot run with. The rule, for both of the provider's triggers:

- ``serialize()`` writes ``provider_version`` (the provider that wrote the row) and ``ignorable`` (the
  arguments and watch options whose absence cannot change what the trigger concludes, so that a reader which
  does not know them may drop them).
- Arguments that carry ``provider_version`` come from a row: the constructor never raises. What is wrong stays
  in :attr:`ArgumentCheck.problem`, and the trigger reports it when it runs (the status trigger: one ``error``
  event, which fails the task with that message; the asset watcher: an ERROR line in the triggerer's log and
  no asset event). An unknown name the writer listed in ``ignorable`` is dropped with a warning; any other
  unknown name is a problem.
- Arguments without it were written by hand (a DAG file, a test): a problem raises
  :class:`~airflow_provider_polytomic.core.errors.PolytomicTriggerArgumentError` at once, where the DAG author
  sees it. It is a ``TypeError`` too, so even in a triggerer it fails that one trigger, never the runner.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar

from airflow_provider_polytomic import __version__ as PROVIDER_VERSION
from airflow_provider_polytomic.core.errors import PolytomicConfigError, PolytomicError, PolytomicTriggerArgumentError

T = TypeVar("T")
#: The longest reason quoted from a failed check (a value from a row may be anything, of any size).
_MAX_REASON = 400


def row_marks(ignorable: Iterable[str]) -> dict[str, Any]:
    """What ``serialize()`` adds to a trigger's arguments: who wrote them, and which names a reader may drop."""
    return {"provider_version": PROVIDER_VERSION, "ignorable": sorted(ignorable)}


class ArgumentCheck:
    """Checking one trigger's arguments: strictly when written by hand, without ever raising when read from a row
    (``provider_version`` given)."""

    def __init__(self, owner: str, provider_version: Any, ignorable: Any) -> None:
        self.owner = owner
        self.from_row = provider_version is not None
        self.written_by = f"{provider_version!s:.40}"
        names = ignorable if isinstance(ignorable, (list, tuple)) else ()
        self.ignorable = frozenset(name for name in names if isinstance(name, str)) if self.from_row else frozenset()
        #: What is wrong with arguments read from a row, as the trigger reports it; None when they are fine.
        self.problem: str | None = None
        #: Unknown names dropped because the writer marked them ignorable.
        self.ignored: list[str] = []

    def known(self, given: Mapping[str, Any], names: Collection[str], what: str) -> dict[str, Any]:
        """``given`` without unknown names: one the writer marked ignorable is dropped, any other is an error."""
        unknown = sorted(set(given) - set(names))
        refused = [name for name in unknown if name not in self.ignorable]
        if refused:
            raise PolytomicConfigError(
                f"unknown {what}(s) {', '.join(f'{name!r:.60}' for name in refused[:10])}; this version knows "
                f"{', '.join(sorted(names))}."
            )
        self.ignored.extend(unknown)
        return {name: value for name, value in given.items() if name in names}

    def run(self, build: Callable[[], T]) -> T | None:
        """``build()``, which checks the arguments; when it fails: by hand, raise; from a row, keep the problem."""
        try:
            return build()
        except Exception as error:  # from a row anything may be wrong: nothing may escape to the triggerer
            reason = str(error) if isinstance(error, PolytomicError) else f"{type(error).__name__}: {error}"
            reason = reason if len(reason) <= _MAX_REASON else reason[:_MAX_REASON] + "…"
            if not self.from_row:
                raise PolytomicTriggerArgumentError(reason) from error
            self.problem = f"{self.owner} cannot run with the arguments in its trigger row: {reason} {self._origin()}"
            return None

    def ignored_warning(self) -> str | None:
        """The warning to log when the trigger starts, if it dropped ignorable names."""
        if not self.ignored:
            return None
        return (
            f"{self.owner} ignores {', '.join(repr(name) for name in self.ignored[:10])}: unknown to this version, "
            f"and marked by the writer as unable to change the outcome. {self._origin()}"
        )

    def _origin(self) -> str:
        origin = f"Written by airflow-provider-polytomic {self.written_by}; this triggerer runs {PROVIDER_VERSION}."
        if self.written_by != PROVIDER_VERSION:
            origin += " Run the same provider version on workers, DAG processors and triggerers."
        return origin
