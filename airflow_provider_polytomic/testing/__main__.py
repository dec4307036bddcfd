"""``python -m airflow_provider_polytomic.testing --port 8765 --scenario FILE``: run the emulator.

It logs one line per request it answers (``--quiet``: none); ``--help`` lists every scenario key, read from the
JSON Schema, so the list cannot fall behind the format.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import signal
import sys
import textwrap
import threading
from typing import Any

from airflow_provider_polytomic.testing.emulator import PolytomicEmulator
from airflow_provider_polytomic.testing.scenario import SCHEMA_PATH, ScenarioError, schema


def _keys(rule: dict[str, Any], indent: str = "  ") -> list[str]:
    """One line per key of ``rule`` (an object of the schema) and, indented, the keys of what it holds."""
    lines = []
    for key, item in rule.get("properties", {}).items():
        inner = _resolved(item.get("items", item) if item.get("type") == "array" else item)
        label = f"{key}[]" if item.get("type") == "array" else key
        about = item.get("description") or inner.get("description") or ""
        lines += textwrap.wrap(
            f"{label:<26} {about}", 116, initial_indent=indent, subsequent_indent=indent + " " * 27
        ) or [f"{indent}{label}"]
        if inner.get("properties"):
            lines += _keys(inner, indent + "  ")
    return lines


def _resolved(rule: dict[str, Any]) -> dict[str, Any]:
    reference = rule.get("$ref")
    found: dict[str, Any] = schema()["$defs"][reference.rsplit("/", 1)[-1]] if reference else rule
    return found


def _port(text: str) -> int:
    """``--port``: 0 (a free one) to 65535, refused by argparse (one ``error:`` line, exit 2) otherwise."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 65535, got {text!r:.20}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 (a free port) to 65535, got {port}")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_polytomic.testing",
        description="Serve an emulated Polytomic API on 127.0.0.1 until interrupted, logging each request.",
        epilog="\n".join(
            [
                f"scenario keys (all optional; the JSON Schema {SCHEMA_PATH.name}, printed by --print-schema):",
                *_keys(schema()),
            ]
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=_port, default=0, help="port to listen on (0: pick a free one)")
    parser.add_argument("--scenario", help="JSON scenario file (its keys are listed below)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument("--url-file", help="also write the URL to this file once serving")
    parser.add_argument("--print-schema", action="store_true", help="print the scenario's JSON Schema and exit")
    args = parser.parse_args(argv)
    if args.print_schema:
        print(SCHEMA_PATH.read_text(encoding="utf-8"), end="")
        return 0
    scenario: dict[str, Any] = {}
    if args.scenario:
        try:
            with open(args.scenario, encoding="utf-8") as handle:
                scenario = json.load(handle)
        except (OSError, ValueError, RecursionError) as error:
            print(f"error: cannot read the scenario {args.scenario}: {error}", file=sys.stderr)
            return 2
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        log = None if args.quiet else functools.partial(print, flush=True)
        emulator = PolytomicEmulator(scenario, port=args.port, log=log).start()
    except (ScenarioError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        # The URL file first: if it cannot be written, the emulator stops before anyone was told where it is.
        if args.url_file:
            try:
                with open(args.url_file, "w", encoding="utf-8") as handle:
                    handle.write(emulator.url)
            except OSError as error:
                print(f"error: cannot write the URL file {args.url_file}: {error.strerror or error}", file=sys.stderr)
                return 2
        print(emulator.url, flush=True)
        for line in emulator.describe() or ["no syncs (add some under 'syncs' in the scenario)"]:
            print(f"  {line}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
