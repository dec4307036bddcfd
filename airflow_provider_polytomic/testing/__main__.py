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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_polytomic.testing",
        description="Serve an emulated Polytomic API on 127.0.0.1 until interrupted.",
        epilog=f"The scenario format is the JSON Schema {SCHEMA_PATH.name} in the package (--print-schema prints it).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: pick a free one)")
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
        except (OSError, ValueError) as error:
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
        print(emulator.url, flush=True)
        for line in emulator.describe() or ["no syncs (add some under 'syncs' in the scenario)"]:
            print(f"  {line}", flush=True)
        if args.url_file:
            with open(args.url_file, "w", encoding="utf-8") as handle:
                handle.write(emulator.url)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
