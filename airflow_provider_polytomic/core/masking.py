"""Which credentials this process has registered with Airflow's secrets masker, so each is registered once.

Registering is a synchronous call (to the supervisor, on Airflow 3) that Airflow 3.0's triggerer cannot make
from its event loop's thread; the async transport asks :func:`masked` first and hops to a worker thread only
for a key this process has not registered yet. The masker keeps what it is given for the life of the
process, and this module keeps digests only, never a second copy of a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

_MASKED: set[str] = set()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def masked(secrets: Iterable[str]) -> bool:
    """Whether every one of ``secrets`` is registered already."""
    return all(_digest(secret) in _MASKED for secret in secrets)


def mask_once(secrets: Iterable[str]) -> None:
    """Register each of ``secrets`` with the secrets masker, unless this process has already."""
    from airflow.providers.common.compat.sdk import mask_secret

    for secret in secrets:
        digest = _digest(secret)
        if digest not in _MASKED:
            mask_secret(secret)
            _MASKED.add(digest)
