"""What of a body a message may quote: secret-looking values removed from JSON (whole, cut short, nested in a
string) and from ``key=value`` text, in bounded time."""

from __future__ import annotations

import pytest

from airflow_provider_polytomic.core.redaction import QUOTE_BYTES, quote, redact

PLANTED = "hunter2-PLANTED-7f3a"


@pytest.mark.parametrize(
    "body",
    [
        b'{"configuration": {"password": "%s", "host": "db"}, "id": "c1"}',
        b'{"data": {"configuration": {"password": "%s"',  # cut short
        b'{"data": {"configuration": {"password": "%s"}, "x": NaN}}',
        b'{"credentials": {"user": "u", "note": "%s"}, "b": 1}',  # a whole object under a secret key
        b'{"credentials": ["u", {"note": "%s"}], "b": 1',  # ... a list, cut short
        b'{"a": "{\\"client_secret\\": \\"%s\\"}"',  # JSON inside a string
        b'{"a": "{\\"b\\": \\"{\\\\\\"token\\\\\\": \\\\\\"%s\\\\\\"}\\"}"',  # ... inside a string inside a string
        b"<html><a href='/login?session=%s&next=/'>502 Bad Gateway</a></html>",
        b"{'api_key': '%s'}",
        b'{"Authorization": "Bearer %s"}',
        b'{"private_key": "-----BEGIN PRIVATE KEY-----\\n%s\\n"}',
        b'{"snowflake_private_key_passphrase": "%s"}',
    ],
)
def test_secret_looking_values_are_never_quoted(body: bytes) -> None:
    quoted = quote(body % PLANTED.encode())
    assert PLANTED not in quoted and "***" in quoted


def test_what_is_not_secret_stays_readable() -> None:
    body = b'{"message": "upstream timed out", "status": "running", "url": "https://x/y"}'
    assert quote(body) == body.decode()
    assert redact("bad credentials: Bearer ***") == "bad credentials: Bearer ***"  # prose is not a key
    assert len(quote(b"<html>" + b"x" * 10_000)) == QUOTE_BYTES


@pytest.mark.parametrize(
    "text",
    ["y" * 2_000_000, "password" * 400, "a:" * 1600, '"a":"' * 600, '"a":"\\"' * 600, "{[" * 1600, "k=" * 1600],
)
def test_any_body_is_redacted_within_the_quote(text: str) -> None:
    """Pathological bodies (a quadratic pattern once hung here on the first one) still give a bounded quote."""
    assert len(quote(text.encode())) <= QUOTE_BYTES
