"""Numbers from connections and DAGs, and when a trigger first polls."""

from __future__ import annotations

import pytest

from airflow_provider_polytomic.core.bounds import FIRST_POLL_JITTER, first_poll_delay, poll_interval
from airflow_provider_polytomic.core.errors import PolytomicConfigError


def test_the_first_poll_comes_after_one_interval_and_spreads_over_a_tenth_more() -> None:
    delays = [first_poll_delay(30.0) for _ in range(2_000)]
    assert all(30.0 <= delay <= 30.0 * (1 + FIRST_POLL_JITTER) for delay in delays)
    # Spread, not bunched: triggers created together wake across most of the 3 s window.
    assert max(delays) - min(delays) > 2.5


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 86_401, "soon", True])
def test_a_poll_interval_must_be_positive_finite_and_at_most_a_day(bad: object) -> None:
    with pytest.raises(PolytomicConfigError, match="poll"):
        poll_interval(bad, "poll_interval")
