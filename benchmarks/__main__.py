"""``python -m benchmarks [--quick]``: run every benchmark, side by side with its baseline, and print a table.

Each measured variant runs in a fresh process; the Polytomic API emulator runs in a process of its own on
127.0.0.1. Progress goes to stderr, the table (Markdown) to stdout; raw figures and logs go to
``.bench/`` (``results.json``, ``table.md``, one log per child process).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks import real_triggerer
from benchmarks._common import (
    ROOT,
    log,
    raise_open_files_limit,
    write_json,
)
from benchmarks.bench_fleet import bench_coalesce, bench_fleet
from benchmarks.bench_tls import bench_tls, tls_table
from benchmarks.bench_worker import bench_parse, bench_payload, bench_poke
from benchmarks.report import machine, machine_lines, rows_in, table

DEFAULT_PARTS = ("fleet", "tls", "coalesce", "poke", "parse", "payload")


PARTS = (*DEFAULT_PARTS, real_triggerer.PART)  # real Airflow processes, about 11 minutes: asked for by name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small fleets, 1 s polls, few repeats")
    parser.add_argument(
        "--parts",
        default=",".join(DEFAULT_PARTS),
        help=f"comma-separated, of: {', '.join(PARTS)} (default: all but the last)",
    )
    parser.add_argument("--sizes", help="fleet sizes, comma-separated (default 1000,5000; quick 100,300)")
    parser.add_argument("--repeats", type=int, help="fleet pairs per size (default 3 up to 1,000 triggers, else 1)")
    parser.add_argument("--interval", type=float, help="trigger poll interval, s (default 5; quick 1)")
    parser.add_argument("--polls", type=int, default=4, help="requests each execution needs before it completes")
    parser.add_argument(
        "--emulator-server",
        choices=("asyncio", "threading"),
        default="asyncio",
        help="the emulator's HTTP front end for the fleet (default asyncio; threading: the package's own server)",
    )
    parser.add_argument(
        "--tls-sizes", help="TLS fleet sizes, comma-separated (default 1000; quick 200; try 1000,10000)"
    )
    parser.add_argument(
        "--arrival",
        choices=("burst", "triggerer"),
        default="burst",
        help="fleets (plain and TLS): all triggers start in one loop step (burst, default) or one per step, as "
        "Airflow's triggerer starts them",
    )
    parser.add_argument("--tls-variants", help="TLS variants to run, comma-separated (default: all of them)")
    parser.add_argument("--tls-repeats", type=int, help="TLS rounds per size (default 2 up to 1,000, else 1)")
    parser.add_argument("--tls-interval", type=float, help="TLS poll interval below 5,000 triggers, s (default 5)")
    parser.add_argument(
        "--tls-big-interval", type=float, default=30.0, help="TLS poll interval from 5,000 triggers on, s (30)"
    )
    parser.add_argument(
        "--idle-close", type=float, help="TLS server closes connections idle this long, s (default min(3, 0.6 × poll))"
    )
    parser.add_argument(
        "--peer-python",
        help="the interpreter of the peer virtualenv with apache-airflow-providers-dbt-cloud (scripts/bench sets it)",
    )
    parser.add_argument("--coalesce-triggers", type=int, help="coalescing: triggers (default 1000; quick 200)")
    parser.add_argument("--coalesce-syncs", type=int, default=20, help="coalescing: the syncs they watch (20)")
    real_triggerer.add_arguments(parser)
    parser.add_argument("--workdir", default=str(ROOT / ".bench"), help="raw results and logs (default .bench/)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="write a cProfile (process CPU) of each fleet's measured window to .bench/run/*.prof; it slows the "
        "fleets, so such a run's figures are for the profile only",
    )
    args = parser.parse_args(argv)
    args.tls_sizes = [int(size) for size in (args.tls_sizes or ("200" if args.quick else "1000")).split(",")]
    if args.quick and args.tls_repeats is None:
        args.tls_repeats = 1
    args.tls_interval = args.tls_interval if args.tls_interval is not None else (1.0 if args.quick else 5.0)
    args.coalesce_triggers = args.coalesce_triggers or (200 if args.quick else 1000)
    args.sizes = [int(size) for size in (args.sizes or ("100,300" if args.quick else "1000,5000")).split(",")]
    if args.quick and args.repeats is None:
        args.repeats = 1
    args.interval = args.interval if args.interval is not None else (1.0 if args.quick else 5.0)
    args.poke_rounds, args.poke_calls = (2, 30) if args.quick else (6, 100)
    args.import_repeats, args.dagbag_repeats = (3, 2) if args.quick else (11, 5)
    real_triggerer.configure(args)
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    workdir = Path(args.workdir) / "run"
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("*"):
        if old.is_file():
            old.unlink()
    raise_open_files_limit()
    started = time.monotonic()
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            "quick": args.quick,
            "interval": args.interval,
            "polls": args.polls,
            "sizes": args.sizes,
            "emulator_server": args.emulator_server,
            "tls_sizes": args.tls_sizes,
            "tls_interval": args.tls_interval,
            "tls_big_interval": args.tls_big_interval,
            "peer": bool(args.peer_python),
            "coalesce_triggers": args.coalesce_triggers,
            "coalesce_syncs": args.coalesce_syncs,
        },
    }
    log(machine_lines(results["machine"]))
    if "fleet" in parts:
        results["fleet"] = bench_fleet(workdir, args)
    if "tls" in parts:
        results["tls"] = bench_tls(workdir, args)
    if "coalesce" in parts:
        results["coalesce"] = bench_coalesce(workdir, args)
    if "poke" in parts:
        results["poke"] = bench_poke(workdir, args)
    if "parse" in parts:
        results["parse"] = bench_parse(workdir, args)
    if "payload" in parts:
        results["payload"] = bench_payload(workdir, args)
    if real_triggerer.PART in parts:
        results["real_triggerer"] = real_triggerer.bench(workdir, args, log)
    results["seconds"] = time.monotonic() - started
    rendered = table(results)
    extra = "\n".join(part for part in (tls_table(results), real_triggerer.table(results)) if part)
    if extra:
        rendered = rendered + "\n\n" + extra if rows_in(rendered) else extra
    write_json(Path(args.workdir) / "results.json", results)
    (Path(args.workdir) / "table.md").write_text(machine_lines(results["machine"]) + "\n\n" + rendered + "\n")
    print(machine_lines(results["machine"]))
    print()
    print(rendered)
    log(f"done in {results['seconds']:.0f} s; raw figures in {Path(args.workdir) / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
