"""Credentials reach Airflow's secrets masker once per process, and redaction works from then on."""

from __future__ import annotations

import uuid

from airflow.providers.common.compat.sdk import redact

from airflow_provider_polytomic.core import masking


def test_a_secret_is_masked_once_and_known_afterwards() -> None:
    secret = f"pk_SECRET_{uuid.uuid4().hex}"
    assert not masking.masked([secret])
    assert redact(f"key {secret}") == f"key {secret}"
    masking.mask_once([secret])
    assert masking.masked([secret])
    assert secret not in str(redact(f"key {secret}"))
    masking.mask_once([secret])  # a second registration is skipped, and harmless
    assert masking.masked([secret])


def test_only_all_registered_counts_as_masked() -> None:
    known, new = f"pk_SECRET_{uuid.uuid4().hex}", f"pk_SECRET_{uuid.uuid4().hex}"
    masking.mask_once([known])
    assert not masking.masked([known, new])
    assert masking.masked([])
