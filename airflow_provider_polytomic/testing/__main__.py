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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_polytomic.testing",
        description="Serve an emulated Polytomic API on 127.0.0.1 until interrupted.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: pick a free one)")
    parser.add_argument("--scenario", help="JSON scenario file: api_keys, organization, syncs, faults")
    parser.add_argument("--url-file", help="also write the URL to this file once serving")
    args = parser.parse_args(argv)
    scenario: dict[str, Any] = {}
    if args.scenario:
        with open(args.scenario, encoding="utf-8") as handle:
            scenario = json.load(handle)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with PolytomicEmulator(scenario, port=args.port) as emulator:
        print(emulator.url, flush=True)
        if args.url_file:
            with open(args.url_file, "w", encoding="utf-8") as handle:
                handle.write(emulator.url)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
