"""Numbers from a connection or a DAG, checked: finite and within bounds. Light enough for DAG parse time."""

from __future__ import annotations

import math
import random
from typing import Any

from airflow_provider_polytomic.core.errors import PolytomicConfigError


def bounded_number(
    value: Any, what: str, *, maximum: float, zero: bool = False, integer: bool = False, minimum: float | None = None
) -> float:
    """``value`` as a finite number in (0, maximum] ([0, maximum] with ``zero``, [minimum, maximum] with
    ``minimum``), else a config error.

    Every number read from a connection or a DAG goes through here: ``nan``, ``inf``, ``1e9`` and, where a count
    is wanted, ``2.7`` are refused with a message that starts with ``what``.
    """
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    low_ok = number >= (minimum or 0.0) if zero or minimum is not None else number > 0
    if not (math.isfinite(number) and low_ok and number <= maximum) or (integer and not number.is_integer()):
        kind = "whole number" if integer else "number"
        if minimum is not None:
            raise PolytomicConfigError(f"{what} must be a {kind} from {minimum:g} to {maximum:g}; got {value!r:.40}.")
        sign = f"zero or a positive {kind}" if zero else f"a positive {kind}"
        raise PolytomicConfigError(f"{what} must be {sign} (at most {maximum:g}); got {value!r:.40}.")
    return number


#: The longest pause between two polls (a day): anything longer is surely a unit mistake.
MAX_POLL_INTERVAL = 86_400.0


def poll_interval(value: Any, what: str) -> float:
    """A poll interval given to a sensor, operator or trigger: a positive, finite number of seconds.

    Zero or less would poll in a tight loop (a trigger sent over a thousand requests a second), so it is refused
    when the task or trigger is built.
    """
    return bounded_number(value, what, maximum=MAX_POLL_INTERVAL)


#: A trigger's first poll comes one interval after the task's own check, plus up to this share of the interval
#: at random: triggers created together (a triggerer restarting with thousands of deferred tasks) then spread
#: their polls instead of all waking in the same instant.
FIRST_POLL_JITTER = 0.1


def first_poll_delay(interval: float) -> float:
    """How long a trigger waits before its first poll: ``interval`` to ``interval × (1 + FIRST_POLL_JITTER)``."""
    return interval * (1 + FIRST_POLL_JITTER * random.random())  # noqa: S311 - spreading load, not a secret
