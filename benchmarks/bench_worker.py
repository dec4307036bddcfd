"""Parts ``poke``, ``parse`` and ``payload`` of ``scripts/bench``: what the provider costs a worker and the DAG
processor (``benchmarks.poke``, ``benchmarks.parse`` and ``benchmarks.payload`` in fresh processes), each next
to its baseline."""

from __future__ import annotations

import argparse
import json
import statistics
import uuid
from pathlib import Path
from typing import Any

from benchmarks import parse, payload
from benchmarks._common import (
    API_KEY,
    ROOT,
    Runner,
    emulator_process,
    last_json_line,
    log,
)


def bench_poke(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    sync_id, execution_id = str(uuid.uuid4()), str(uuid.uuid4())
    steps = [{"status": "running", "polls": 10**9, "counts": {"insert": 10, "total": 10}}]
    scenario = {"api_keys": [API_KEY], "syncs": [{"id": sync_id, "executions": [{"id": execution_id, "steps": steps}]}]}
    out = workdir / "poke.json"
    log("poke: sensor.poke() and bare requests, alternating blocks")
    with emulator_process(scenario, workdir, max_seconds=900) as emulator:
        Runner(workdir, emulator.url).run(
            "poke",
            [
                "-m",
                "benchmarks.poke",
                "--url",
                emulator.url,
                "--sync-id",
                sync_id,
                "--execution-id",
                execution_id,
                "--rounds",
                str(args.poke_rounds),
                "--calls",
                str(args.poke_calls),
                "--first-calls",
                str(max(args.poke_calls // 3, 5)),
                "--out",
                str(out),
            ],
            timeout=600,
        )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def bench_parse(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    runner = Runner(workdir)
    folder = ROOT / "example_dags"
    note = None
    if not any(folder.glob("*.py")):
        folder, note = ROOT / "tests" / "dags", "example_dags/ is empty: parsed tests/dags instead"
    stub = workdir / "stub-dags"
    has_stub = parse.stub_folder(folder, stub)
    log("parse: warming the bytecode cache (not measured)")
    runner.run("parse-warm-import", ["-m", "benchmarks.parse", "import"], timeout=300)
    runner.run("parse-warm-dagbag", ["-m", "benchmarks.parse", "dagbag", str(folder)], timeout=300)
    if has_stub:
        runner.run("parse-warm-stub", ["-m", "benchmarks.parse", "dagbag", str(stub)], timeout=300)
    imports: list[dict[str, Any]] = []
    for repeat in range(args.import_repeats):
        log(f"parse: import in fresh interpreters ({repeat + 1} of {args.import_repeats})")
        imports.append(
            last_json_line(runner.run("parse-import", ["-m", "benchmarks.parse", "import"], timeout=300).stdout)
        )
    runner.run("parse-importtime", ["-X", "importtime", "-m", "benchmarks.parse", "import"], timeout=300)
    traced = (workdir / f"{runner.count:03d}-parse-importtime.log").read_text(encoding="utf-8")
    breakdown = parse.import_breakdown(parse.import_time_lines(traced))
    bags: list[dict[str, Any]] = []
    stubs: list[dict[str, Any]] = []
    for repeat in range(args.dagbag_repeats):
        log(f"parse: DagBag of {folder.relative_to(ROOT)} ({repeat + 1} of {args.dagbag_repeats})")
        bags.append(
            last_json_line(
                runner.run("parse-dagbag", ["-m", "benchmarks.parse", "dagbag", str(folder)], timeout=300).stdout
            )
        )
        if has_stub:
            stubs.append(
                last_json_line(
                    runner.run("parse-stub", ["-m", "benchmarks.parse", "dagbag", str(stub)], timeout=300).stdout
                )
            )

    def middle(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(float(row[key]) for row in rows) if rows else float("nan")

    return {
        "folder": str(folder.relative_to(ROOT)),
        "note": note,
        "import": {
            "repeats": len(imports),
            "sdk_ms": middle(imports, "sdk_ms"),
            "extra_ms": middle(imports, "extra_ms"),
            "extra_cpu_ms": middle(imports, "extra_cpu_ms"),
            "extra_ms_all": [round(row["extra_ms"], 1) for row in imports],
            "modules_added": imports[0]["modules_added"] if imports else None,
            "packages_added": imports[0]["packages_added"] if imports else None,
            "not_for_parse_loaded": sorted({name for row in imports for name in row["not_for_parse_loaded"]}),
            "importtime": breakdown,
        },
        "dagbag": {
            "repeats": len(bags),
            "ms": middle(bags, "ms"),
            "ms_all": [round(row["ms"], 1) for row in bags],
            "stub_ms": middle(stubs, "ms") if stubs else None,
            "stub_ms_all": [round(row["ms"], 1) for row in stubs],
            "dags": bags[0]["dags"] if bags else None,
            "stub_dags": stubs[0]["dags"] if stubs else None,
            "import_errors": bags[0]["import_errors"] if bags else None,
            "stub_import_errors": stubs[0]["import_errors"] if stubs else None,
            "never_at_parse_loaded": sorted({name for row in bags for name in row["never_at_parse_loaded"]}),
            "trigger_modules_loaded": sorted({name for row in bags for name in row["trigger_modules_loaded"]}),
        },
    }


def bench_payload(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    scenario = payload.scenario()
    out = workdir / "payload.json"
    log("payload: 100,000 record errors and 10,000 messages")
    with emulator_process(scenario, workdir, max_seconds=600) as emulator:
        completed = Runner(workdir, emulator.url).run(
            "payload",
            [
                "-m",
                "benchmarks.payload",
                "--url",
                emulator.url,
                "--sync-id",
                scenario["syncs"][0]["id"],
                "--out",
                str(out),
            ],
            timeout=600,
        )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    # Airflow 3 logs to stdout here: the longest line the sensor and the trigger wrote.
    lines = completed.stdout.splitlines()
    result["longest_log_line_bytes"] = max((len(line.encode()) for line in lines), default=0)
    return result
