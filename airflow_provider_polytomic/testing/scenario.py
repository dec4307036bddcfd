"""The emulator's scenario format: ``scenario.schema.json`` (shipped beside this file) and its checker.

The JSON Schema is the documentation and the one source of truth; :func:`validate` applies it with the
standard library only (the subset the schema uses: ``type``, ``enum``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``minItems``, ``minimum``, ``maximum``, ``minLength``, ``format: regex``,
``$ref``), and says where each problem is, e.g. ``scenario.syncs[0]: unknown key 'execution' (did you mean
'executions'?)``. Numbers must also be finite: Python's JSON reader accepts ``NaN`` and ``Infinity``.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("scenario.schema.json")
#: How many problems one error message lists.
MAX_PROBLEMS = 10


class ScenarioError(ValueError):
    """A scenario (or an ``add_sync`` / ``add_fault`` spec) that does not follow ``scenario.schema.json``."""


@functools.cache
def schema() -> dict[str, Any]:
    """The scenario's JSON Schema."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def validate(document: Any, definition: str | None = None, where: str = "scenario") -> None:
    """Raise :class:`ScenarioError` naming every offending key when ``document`` breaks the schema.

    ``definition`` checks against one of the schema's ``$defs`` (``"sync"``, ``"fault"``, ...) instead of
    the whole scenario.
    """
    rule = schema() if definition is None else schema()["$defs"][definition]
    problems: list[str] = []
    _check(document, rule, where, problems)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = f"\n  (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise ScenarioError(
            "The Polytomic emulator scenario does not follow scenario.schema.json:\n  " + "\n  ".join(shown) + more
        )


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "integer": (int,),
    "number": (int, float),
}
#: Names people use for a key, and the key the scenario means.
_ALIASES = {"name": "schema", "sync": "syncs", "execution": "executions", "fault": "faults", "type": "kind"}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    for name in ("null", "object", "array", "string", "integer", "number"):
        if isinstance(value, _JSON_TYPES[name]):
            return name
    return type(value).__name__


def _is(value: Any, type_name: str) -> bool:
    if isinstance(value, bool) and type_name in ("integer", "number"):
        return False
    return isinstance(value, _JSON_TYPES[type_name])


def _resolve(rule: dict[str, Any]) -> dict[str, Any]:
    reference = rule.get("$ref")
    if reference is None:
        return rule
    resolved: dict[str, Any] = schema()["$defs"][reference.rsplit("/", 1)[-1]]
    return resolved


def _check(value: Any, rule: dict[str, Any], where: str, problems: list[str]) -> None:
    rule = _resolve(rule)
    types = rule.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_is(value, name) for name in types):
            problems.append(f"{where}: expected {' or '.join(types)}, got {_json_type(value)} {value!r:.60}")
            return
    if "enum" in rule and value not in rule["enum"]:
        choices = ", ".join(repr(choice) for choice in rule["enum"])
        problems.append(f"{where}: {value!r:.60} is not one of {choices}")
        return
    if _is(value, "number"):
        if not math.isfinite(value):
            problems.append(f"{where}: {value!r} is not a finite number")
            return
        if "minimum" in rule and value < rule["minimum"]:
            problems.append(f"{where}: {value!r} is less than {rule['minimum']}")
        if "maximum" in rule and value > rule["maximum"]:
            problems.append(f"{where}: {value!r} is more than {rule['maximum']}")
    if isinstance(value, str) and len(value) < rule.get("minLength", 0):
        problems.append(f"{where}: must not be empty")
    if isinstance(value, str) and rule.get("format") == "regex":
        try:
            re.compile(value)
        except re.error as error:
            problems.append(f"{where}: {value!r:.60} is not a regular expression ({error})")
    if isinstance(value, dict):
        _check_object(value, rule, where, problems)
    if isinstance(value, list):
        if len(value) < rule.get("minItems", 0):
            problems.append(f"{where}: needs at least {rule['minItems']} item(s)")
        if "items" in rule:
            for index, item in enumerate(value):
                _check(item, rule["items"], f"{where}[{index}]", problems)


def _check_object(value: dict[str, Any], rule: dict[str, Any], where: str, problems: list[str]) -> None:
    properties: dict[str, Any] = rule.get("properties", {})
    for key in rule.get("required", []):
        if key not in value:
            problems.append(f"{where}: missing required key '{key}'")
    others = rule.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], f"{where}.{key}", problems)
        elif isinstance(others, dict):
            _check(item, others, f"{where}.{key}", problems)
        elif others is False:
            problems.append(f"{where}: unknown key {key!r}{_hint(str(key), properties)}")


def _hint(key: str, allowed: dict[str, Any]) -> str:
    alias = _ALIASES.get(key)
    close = [alias] if alias in allowed else difflib.get_close_matches(key, list(allowed), n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; known keys: {', '.join(sorted(allowed))}"
