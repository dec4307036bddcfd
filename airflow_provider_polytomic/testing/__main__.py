"""``python -m airflow_provider_polytomic.testing --port 8765 --scenario FILE``: run the emulator."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from typing import Any

from airflow_provider_polytomic.testing.emulator import PolytomicEmulator
from airflow_provider_polytomic.testing.scenario import SCHEMA_PATH, ScenarioError


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
        description="Serve an emulated Polytomic API on 127.0.0.1 until interrupted.",
        epilog=f"The scenario format is the JSON Schema {SCHEMA_PATH.name} in the package (--print-schema prints it).",
    )
    parser.add_argument("--port", type=_port, default=0, help="port to listen on (0: pick a free one)")
    parser.add_argument("--scenario", help="JSON scenario file: api_keys, deployment_keys, organization, syncs, faults")
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
        emulator = PolytomicEmulator(scenario, port=args.port).start()
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
