"""What of an answer's body may be quoted into an error message or a log line. No I/O.

Only answers of endpoints that cannot carry a third party's secrets are quoted at all (the call description says
which: :attr:`~airflow_provider_polytomic.core.protocol.ApiCall.quotable`); a definition (a connection's, a
model's, a sync's) holds configurations with passwords and keys, and is never quoted. What is quoted is cut
short and has the value of every secret-looking key replaced by ``***`` first, in JSON (also escaped inside a
string, or cut short) and in ``key=value`` text alike. The Polytomic key itself is scrubbed before this, by
:meth:`~airflow_provider_polytomic.core.config.ClientConfig.scrub`.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

#: How much of a body a message quotes.
QUOTE_BYTES = 200
#: How much of a body is redacted before it is cut to :data:`QUOTE_BYTES`: a value that starts inside the quote is
#: found even when its key is long, and redacting never has to read a whole (up to 8 MiB) body.
_REDACT_WINDOW = 4 * QUOTE_BYTES

#: A key whose value is a secret (``password``, ``client_secret``, ``private_key``, ``access_token``,
#: ``credentials``, ``Authorization``...). Broad on purpose: hiding a harmless value costs a message nothing.
_SECRET_KEY = re.compile(
    r"(?i:.*(?:pass|pw|secret|token|key|credential|auth|private|cookie|session|signature|cert|dsn|conn_?str"
    r"|connection_?string).*)"
)
#: Any key and its value: a quoted key (also escaped, as in JSON inside a string) then ':' or '=', or a bare one then
#: '=' (a bare "word: text" is prose: "bad credentials: Bearer ***" stays readable); the value a string (possibly
#: escaped, possibly cut short) or anything up to the next separator.
_KEY_VALUE = re.compile(
    r"""(?P<key>\\*["']?(?P<name>[\w.-]{1,80})(?:\\*["']\s*[:=]|=)\s*)"""
    r"""(?P<value>\\+"(?:[^\\]|\\+[^"\\])*(?:\\+"|$)|"(?:[^"\\]|\\.)*(?:"|$)|'[^']*(?:'|$)|[^\s,;&}\]<"']+)""",
)

#: Strings within strings deeper than this are hidden whole rather than read.
_MAX_DEPTH = 4
_STRING_STARTS = "\\\"'"


def redact(text: str, *, depth: int = 0) -> str:
    """``text`` with the value of every secret-looking key replaced by ``***`` (a whole object or list too, and
    inside a string value: JSON within JSON). Linear in ``text``; callers cut it to what they quote first."""
    kept, position = [], 0
    while (match := _KEY_VALUE.search(text, position)) is not None:
        kept.append(text[position : match.start()])
        value, position = match["value"], match.end()
        if _SECRET_KEY.fullmatch(match["name"]) or (depth >= _MAX_DEPTH and value[0] in _STRING_STARTS):
            kept.append(f"{match['key']}***")
            if value[0] in "{[":
                position = _container_end(text, match.start("value"))
        elif value[0] in _STRING_STARTS:  # a string, which may hold JSON or a query of its own
            kept.append(match["key"] + value[0] + redact(value[1:], depth=depth + 1))
        else:
            kept.append(match[0])
    kept.append(text[position:])
    return "".join(kept)


def _container_end(text: str, start: int) -> int:
    """Where the object or list opening at ``start`` closes (just after it), or the end of a text cut short."""
    depth, quoted, escaped = 0, False, False
    for index in range(start, len(text)):
        char = text[index]
        if quoted:
            escaped, quoted = (not escaped and char == "\\"), quoted and (escaped or char != '"')
        elif char == '"':
            quoted = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
    return len(text)


def quote(body: bytes, limit: int = QUOTE_BYTES) -> str:
    """The start of ``body`` as a message may quote it: redacted, then cut to ``limit`` characters.

    A small JSON document is redacted as a document (a secret-looking key's whole value goes, an object too);
    anything else, as text."""
    window = body[:_REDACT_WINDOW]
    text = window.decode("utf-8", errors="replace")
    if len(window) == len(body):
        with contextlib.suppress(ValueError, RecursionError):  # not a whole JSON document: redacted as text
            text = json.dumps(_redacted(json.loads(text)), ensure_ascii=False)
    return redact(text)[:limit].strip()


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: "***" if _SECRET_KEY.fullmatch(str(key)) else _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value
