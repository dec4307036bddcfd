"""``python -m benchmarks [--quick]``: run every benchmark, side by side with its baseline, and print a table.

Each measured variant runs in a fresh process; the Polytomic API emulator runs in a process of its own on
127.0.0.1. Progress goes to stderr, the table (Markdown) to stdout; raw figures and logs go to
``.bench/`` (``results.json``, ``table.md``, one log per child process).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import parse, payload
from benchmarks._common import (
    API_KEY,
    ROOT,
    TlsFiles,
    coalesce_scenario,
    connection_json,
    dbt_connection_json,
    emulator_process,
    fleet_scenario,
    listen_overflows,
    make_tls_files,
    raise_open_files_limit,
    write_json,
)

PARTS = ("fleet", "tls", "coalesce", "poke", "parse", "payload")
KIB = 1024


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- running children -----------------------------------------------------------------------------------


class Runner:
    """Starts the child processes with one environment and keeps their output in the work directory."""

    def __init__(self, workdir: Path, connection_url: str | None = None, tls: TlsFiles | None = None) -> None:
        self.workdir = workdir
        self.env = dict(os.environ)
        self.env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        self.env.setdefault("AIRFLOW_HOME", str(workdir / "airflow-home"))
        if connection_url is not None:
            self.env["AIRFLOW_CONN_POLYTOMIC_DEFAULT"] = connection_json(connection_url, tls.ca if tls else None)
            self.env["AIRFLOW_CONN_DBT_CLOUD_DEFAULT"] = dbt_connection_json(connection_url)
        if tls is not None:
            # The dbt trigger has no CA setting: its aiohttp default context reads OpenSSL's SSL_CERT_FILE.
            self.env["SSL_CERT_FILE"] = str(tls.ca)
        self.count = 0

    def run(
        self, name: str, arguments: Sequence[str], *, timeout: float, python: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python ARGUMENTS`` in a fresh interpreter; its stdout is returned, stderr kept in a log file."""
        self.count += 1
        log_path = self.workdir / f"{self.count:03d}-{name}.log"
        command = [python or sys.executable, *arguments]
        with open(log_path, "w", encoding="utf-8") as stderr:
            completed = subprocess.run(  # noqa: S603 - our own interpreter and modules
                command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                timeout=timeout,
                check=False,
            )
        if completed.returncode != 0:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"{name} failed (exit {completed.returncode}); {log_path}:\n{tail}")
        return completed


def last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            document: dict[str, Any] = json.loads(line)
            return document
    raise ValueError("no JSON line in the output")


# -- 1. triggerer fleet ---------------------------------------------------------------------------------


def fleet_run(
    workdir: Path,
    variant: str,
    scenario: dict[str, Any],
    args: argparse.Namespace,
    *,
    interval: float | None = None,
    tls: TlsFiles | None = None,
    idle_close: float | None = None,
    watchers: int | None = None,
    spread: float = 0.0,
    restart_clock: bool = False,
    label: str = "fleet",
) -> dict[str, Any]:
    """One variant's fleet in a fresh process against a fresh emulator; the emulator's counts added."""
    interval = args.interval if interval is None else interval
    n = watchers or len(scenario["syncs"])
    minimum = args.polls - 1  # the task's own check before deferring was the first of the execution's reads
    scenario_file = workdir / f"{label}-{n}.json"
    write_json(scenario_file, scenario)
    limit = interval * args.polls * 6 + spread + 300
    with emulator_process(
        scenario,
        workdir,
        server=args.emulator_server if tls is None and idle_close is None else "asyncio",
        max_seconds=limit + 120,
        tls=tls,
        idle_close=idle_close,
    ) as emulator:
        before = emulator.stats(reset=True)
        overflows = listen_overflows()
        runner = Runner(workdir, emulator.url, tls)
        out = workdir / f"{label}-{variant}-{n}.json"
        started = time.monotonic()
        arguments = [
            "-m",
            "benchmarks.fleet",
            "--variant",
            variant,
            "--scenario",
            str(scenario_file),
            "--url",
            emulator.url,
            "--interval",
            str(interval),
            "--polls",
            str(minimum),
            "--out",
            str(out),
        ]
        if tls is not None:
            arguments += ["--cafile", str(tls.ca)]
        if watchers:
            arguments += ["--watchers", str(watchers)]
        if spread:
            arguments += ["--spread", str(spread)]
        if label in ("fleet", "tls") and args.arrival != "burst":
            arguments += ["--arrival", args.arrival]
        if restart_clock:
            arguments += ["--restart-clock"]
        if args.profile:
            done = len(list(workdir.glob(f"{label}-{variant}-{n}-*.prof")))
            arguments += ["--profile", str(workdir / f"{label}-{variant}-{n}-{done + 1}.prof")]
        python = args.peer_python if variant == "dbt" else None
        runner.run(f"{label}-{variant}-{n}", arguments, timeout=limit, python=python)
        after = emulator.stats(window=interval)
        overflows_after = listen_overflows()
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    polls = after["requests"] - before["requests"]
    result.update(
        process_s=time.monotonic() - started,
        polls=polls,
        cpu_ms_per_poll=result["cpu_s"] * 1000 / max(polls, 1),
        gc_s=sum(result["gc"]["seconds"]),
        rss_kib_per_trigger=(result["rss_peak_kib"] - result["rss_start_kib"]) / n,
        requests_per_trigger=polls / n,
        minimum_per_trigger=minimum,
        extra_requests=polls - n * minimum,
        non_2xx=after["non_2xx"],
        reads_per_sync=after["reads_per_sync"],
        requests_per_window=after.get("requests_per_window", []),
        emulator={
            "cpu_s": after["cpu_s"] - before["cpu_s"],
            "peak_core_share": after["peak_core_share"],
            "busy_windows": after["busy_windows"],
            "windows": after["windows"],
            "threads_peak": after["threads_peak"],
            "backlog": after["backlog"],
            "connections": after.get("connections", 0) - before.get("connections", 0),
            "idle_closed": after.get("idle_closed", 0) - before.get("idle_closed", 0),
            # Connections the kernel dropped at the listen queue (then retried by the client after 1 s+).
            "listen_overflows": (
                overflows_after - overflows if overflows is not None and overflows_after is not None else None
            ),
        },
    )
    return result


FLEET_FIGURES = (
    "cpu_ms_per_poll",
    "lag_p99_ms",
    "lag_max_ms",
    "rss_kib_per_trigger",
    "requests_per_trigger",
    "wall_s",
    "gc_s",
    "cpu_s",
)


def fleet_figure(run: dict[str, Any], name: str) -> float:
    if name.startswith("lag_"):
        return float(run["lag_ms"][name.split("_")[1]])
    return float(run[name])


def bench_fleet(workdir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for size in args.sizes:
        repeats = args.repeats if args.repeats is not None else (3 if size <= 1000 else 1)
        scenario = fleet_scenario(size, args.polls - 1)
        runs: dict[str, list[dict[str, Any]]] = {"provider": [], "floor": []}
        for repeat in range(repeats):
            order = ("provider", "floor") if repeat % 2 == 0 else ("floor", "provider")
            for variant in order:
                log(f"fleet: {size} {variant} loops (pair {repeat + 1} of {repeats})")
                run = fleet_run(workdir, variant, scenario, args)
                runs[variant].append(run)
                log(
                    f"  {run['cpu_ms_per_poll']:.3f} ms CPU/poll, lag p99 {run['lag_ms']['p99']:.0f} ms, "
                    f"{run['rss_kib_per_trigger']:.1f} KiB/trigger, {run['events_right']}/{size} right"
                )
        summary: dict[str, Any] = {"n": size, "repeats": repeats, "arrival": args.arrival, "runs": runs}
        for variant in runs:
            summary[variant] = {
                name: statistics.median(fleet_figure(run, name) for run in runs[variant]) for name in FLEET_FIGURES
            }
            summary[variant]["events_right"] = min(run["events_right"] for run in runs[variant])
            summary[variant]["extra_requests"] = max(run["extra_requests"] for run in runs[variant])
            summary[variant]["emulator_peak_core_share"] = max(
                run["emulator"]["peak_core_share"] for run in runs[variant]
            )
            summary[variant]["emulator_cpu_s"] = statistics.median(run["emulator"]["cpu_s"] for run in runs[variant])
            summary[variant]["listen_overflows"] = max(
                run["emulator"]["listen_overflows"] or 0 for run in runs[variant]
            )
        # Ratios per pair (the two runs of a pair are neighbours in time), then the median.
        summary["ratio"] = {
            name: statistics.median(
                fleet_figure(mine, name) / max(fleet_figure(floor, name), 1e-9)
                for mine, floor in zip(runs["provider"], runs["floor"], strict=True)
            )
            for name in FLEET_FIGURES
        }
        results.append(summary)
    return results


# -- 1b. triggerer fleet over TLS, idle connections closed ---------------------------------------------------

TLS_FIGURES = (
    *FLEET_FIGURES,
    "connections_per_poll",
    "lag_p99time_ms",
    "lag_over50_ms",
    "full_collections",
    "cpu_ms_per_poll_without_gc",
)
BIG_FLEET = 5000  # from this size on, the slower poll interval (--tls-big-interval) and the 10,000 targets


def tls_figure(run: dict[str, Any], name: str) -> float:
    if name == "connections_per_poll":
        return float(run["emulator"]["connections"]) / max(run["polls"], 1)
    if name == "full_collections":
        # Each walks the whole heap (Airflow's included): a handful decide a short run's CPU, so they are shown.
        return float(run["gc"]["collections"][2])
    if name == "cpu_ms_per_poll_without_gc":
        return (run["cpu_s"] - run["gc_s"]) * 1000 / max(run["polls"], 1)
    return fleet_figure(run, name)


def tls_idle_close(args: argparse.Namespace, interval: float) -> float:
    return args.idle_close if args.idle_close is not None else round(min(3.0, 0.6 * interval), 3)


def bench_tls(workdir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    tls = make_tls_files(workdir / "tls")
    variants = ["floor", "provider", "shared"] + (["dbt"] if args.peer_python else [])
    if args.tls_variants:
        # The floor always runs: every ratio is to it.
        variants = [variant for variant in variants if variant == "floor" or variant in args.tls_variants.split(",")]
    if not args.peer_python:
        log("tls: no --peer-python given: the dbt Cloud peer is left out")
    results = []
    for size in args.tls_sizes:
        interval = args.tls_interval if size < BIG_FLEET else args.tls_big_interval
        idle_close = tls_idle_close(args, interval)
        repeats = args.tls_repeats if args.tls_repeats is not None else (2 if size <= 1000 else 1)
        scenario = fleet_scenario(size, args.polls - 1, dbt_runs=size if args.peer_python else 0)
        runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
        for repeat in range(repeats):
            order = variants[repeat % len(variants) :] + variants[: repeat % len(variants)]
            for variant in order:
                log(
                    f"tls: {size} {variant} (round {repeat + 1} of {repeats}; poll {interval:g} s, "
                    f"idle close {idle_close:g} s)"
                )
                run = fleet_run(
                    workdir, variant, scenario, args, interval=interval, tls=tls, idle_close=idle_close, label="tls"
                )
                runs[variant].append(run)
                log(
                    f"  {run['cpu_ms_per_poll']:.3f} ms CPU/poll, lag p99 {run['lag_ms']['p99']:.0f} ms, "
                    f"{run['rss_kib_per_trigger']:.1f} KiB/trigger, {run['requests_per_trigger']:.2f} requests and "
                    f"{run['emulator']['connections'] / max(run['polls'], 1):.2f} connections per poll, "
                    f"{run['events_right']}/{size} right"
                )
                if run["lag_ms"].get("stalls"):
                    stalls = ", ".join(f"{lag:,.0f} ms at {at:g} s" for at, lag in run["lag_ms"]["stalls"][:4])
                    log(f"  longest stalls of the loop: {stalls}")
        summary: dict[str, Any] = {
            "n": size,
            "interval": interval,
            "idle_close": idle_close,
            "arrival": args.arrival,
            "repeats": repeats,
            "variants": variants,
            "runs": runs,
        }
        for variant in variants:
            summary[variant] = {
                name: statistics.median(tls_figure(run, name) for run in runs[variant]) for name in TLS_FIGURES
            }
            summary[variant]["events_right"] = min(run["events_right"] for run in runs[variant])
            summary[variant]["extra_requests"] = max(run["extra_requests"] for run in runs[variant])
            summary[variant]["emulator_peak_core_share"] = max(
                run["emulator"]["peak_core_share"] for run in runs[variant]
            )
        # Each variant's ratio to the floor of the same round (the rounds' runs are neighbours in time).
        summary["ratio"] = {
            variant: {
                name: statistics.median(
                    tls_figure(mine, name) / max(tls_figure(floor, name), 1e-9)
                    for mine, floor in zip(runs[variant], runs["floor"], strict=True)
                )
                for name in TLS_FIGURES
            }
            for variant in variants
        }
        results.append(summary)
    return results


# -- 1c. coalesced polls: many sensors on few syncs ----------------------------------------------------------


def bench_coalesce(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    interval, triggers, syncs = args.interval, args.coalesce_triggers, args.coalesce_syncs
    # The triggers arrive spread over one interval and first poll one interval later; every execution ends
    # 4.5 intervals after the start (with --polls 4), so windows 1 to 3 are full ones, every trigger polling.
    ends = (args.polls + 0.5) * interval
    steady = range(1, int(ends // interval))
    results: dict[str, Any] = {"triggers": triggers, "syncs": syncs, "interval": interval, "ends_s": ends}
    for variant in ("provider", "floor"):
        log(f"coalesce: {triggers} {variant} triggers on {syncs} syncs, poll {interval:g} s")
        run = fleet_run(
            workdir,
            variant,
            coalesce_scenario(syncs, ends),
            args,
            watchers=triggers,
            spread=interval,
            restart_clock=True,
            label="coalesce",
        )
        windows = run["requests_per_window"]
        in_steady = [windows[index] if index < len(windows) else 0 for index in steady]
        run["steady_windows"] = in_steady
        run["requests_per_interval_max"] = max(in_steady, default=0)
        run["requests_per_interval_mean"] = statistics.fmean(in_steady) if in_steady else 0.0
        log(
            f"  requests per interval {in_steady} (all windows {windows}), "
            f"{run['events_right']}/{triggers} right, {run['cpu_ms_per_poll']:.3f} ms CPU/request"
        )
        results[variant] = run
    return results


# -- 2. poke cost ---------------------------------------------------------------------------------------


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


# -- 3. DAG-parse cost ----------------------------------------------------------------------------------


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


# -- 4. bounded payloads --------------------------------------------------------------------------------


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


# -- the machine ----------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    memory = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), model)
        with open("/proc/meminfo", encoding="utf-8") as handle:
            memory = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("MemTotal")), None)
    except OSError:
        pass

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    somaxconn = Path("/proc/sys/net/core/somaxconn")
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607 - whichever git is on PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        commit = described.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": usable,
        "cpu_model": model,
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "airflow": version("apache-airflow"),
        "aiohttp": version("aiohttp"),
        "requests": version("requests"),
        "provider": version("airflow-provider-polytomic"),
        "commit": commit,
        "somaxconn": somaxconn.read_text().strip() if somaxconn.exists() else None,
        "open_files_limit": raise_open_files_limit(),
        "bytecode_cache": not sys.dont_write_bytecode,
    }


# -- the table ------------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def number(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:,.{digits}f}"


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = []
    add: Callable[..., None] = lambda *cells: rows.append(tuple(cells))  # noqa: E731
    for fleet in results.get("fleet", []):
        n, mine, floor, ratio = fleet["n"], fleet["provider"], fleet["floor"], fleet["ratio"]
        headline = n == 1000
        sleeps = (results["settings"]["polls"] - 1) * results["settings"]["interval"]
        part = f"1. fleet, {n:,} triggers" + (
            ", started as the triggerer does" if fleet.get("arrival") == "triggerer" else ""
        )
        # (label, key, digits, target text, passes) for the figures compared as a ratio with the floor.
        ratio_rows: list[tuple[str, str, int, str, bool | None]] = [
            ("CPU per poll, ms (start-up included)", "cpu_ms_per_poll", 3, "≤ 1.5×", ratio["cpu_ms_per_poll"] <= 1.5),
            ("event-loop lag p99, ms", "lag_p99_ms", 1, "≤ 2×", ratio["lag_p99_ms"] <= 2),
            ("event-loop lag max, ms", "lag_max_ms", 0, "", None),
            (
                "peak RSS growth per trigger, KiB",
                "rss_kib_per_trigger",
                1,
                "≤ 64 KiB",
                mine["rss_kib_per_trigger"] <= 64,
            ),
        ]
        for label, key, digits, target, passes in ratio_rows:
            judged = headline and passes is not None
            add(
                part,
                label,
                number(mine[key], digits),
                number(floor[key], digits),
                f"{ratio[key]:.2f}×",
                target if judged else "report",
                verdict(passes) if judged else "—",
            )
        add(
            part,
            f"requests per trigger (minimum {results['settings']['polls'] - 1}: the task's check came first)",
            number(mine["requests_per_trigger"], 2),
            number(floor["requests_per_trigger"], 2),
            f"{ratio['requests_per_trigger']:.2f}×",
            "zero extra",
            verdict(mine["extra_requests"] <= 0),
        )
        add(
            part,
            "right events",
            f"{mine['events_right']:,}/{n:,}",
            f"{floor['events_right']:,}/{n:,}",
            "",
            "all",
            verdict(mine["events_right"] == n),
        )
        for label, key, digits in (
            (f"wall time, s (the sleeps alone: {sleeps:g})", "wall_s", 1),
            ("garbage collection, s of CPU", "gc_s", 2),
        ):
            add(part, label, number(mine[key], digits), number(floor[key], digits), f"{ratio[key]:.2f}×", "report", "—")
        add(
            part,
            "emulator: peak share of a core; connections dropped at its listen queue",
            f"{mine['emulator_peak_core_share']:.2f}; {mine['listen_overflows']:,}",
            f"{floor['emulator_peak_core_share']:.2f}; {floor['listen_overflows']:,}",
            "",
            "report",
            "—",
        )
    poke = results.get("poke")
    if poke:
        for key, label in (
            ("steady", "poke() in a loop (poke mode)"),
            ("first", "first poke (every poke in reschedule mode)"),
        ):
            bare = poke[f"bare_{key}"]
            mine = poke[key]
            for measure, unit in (("wall", "wall"), ("cpu", "CPU")):
                field = f"{measure}_ms_median"
                ratio_value = mine[field] / max(bare[field], 1e-9)
                add(
                    "2. poke",
                    f"{label}: {unit} ms, median",
                    number(mine[field], 3),
                    number(bare[field], 3),
                    f"{ratio_value:.2f}×",
                    "≤ 1.3×",
                    verdict(ratio_value <= 1.3),
                )
    parsed = results.get("parse")
    if parsed:
        imports, bag = parsed["import"], parsed["dagbag"]
        third_party = imports["importtime"]["third_party_ms"]
        add(
            "3. DAG parse",
            f"import of the sensor on top of airflow.sdk, ms (median of {imports['repeats']} fresh interpreters)",
            number(imports["extra_ms"], 1),
            number(imports["sdk_ms"], 0) + " (airflow.sdk)",
            f"+{100 * imports['extra_ms'] / max(imports['sdk_ms'], 1e-9):.1f} %",
            "< 30 ms",
            verdict(imports["extra_ms"] < 30),
        )
        if third_party:
            add(
                "3. DAG parse",
                "…of which third-party packages airflow.sdk does not import, ms (-X importtime, one run)",
                ", ".join(f"{name} {value:.0f}" for name, value in sorted(third_party.items())),
                "",
                "",
                "report",
                "—",
            )
        add(
            "3. DAG parse",
            "aiohttp, async client or trigger modules imported by the sensor's module",
            ", ".join(imports["not_for_parse_loaded"]) or "none",
            "",
            "",
            "none",
            verdict(not imports["not_for_parse_loaded"]),
        )
        add(
            "3. DAG parse",
            f"aiohttp or the async client imported by parsing {parsed['folder']}/",
            ", ".join(bag["never_at_parse_loaded"]) or "none",
            "",
            "",
            "none",
            verdict(not bag["never_at_parse_loaded"]),
        )
        errors, runs = len(bag["import_errors"] or {}), bag["repeats"]
        add(
            "3. DAG parse",
            f"DagBag of {parsed['folder']}/ ({bag['dags']} DAGs, {errors} import errors), ms (median of {runs})",
            number(bag["ms"], 0),
            (number(bag["stub_ms"], 0) + f" (stand-ins, {bag['stub_dags']} DAGs)") if bag["stub_ms"] else "n/a",
            f"{bag['ms'] / bag['stub_ms']:.2f}×" if bag["stub_ms"] else "",
            "report",
            "—",
        )
    sizes = results.get("payload")
    if sizes:
        core, e2e = sizes["core"], sizes.get("end_to_end", {})
        answer = e2e.get("api_answer_bytes", core["input_bytes"])
        biggest_xcom = max(
            core["fail"]["xcom_bytes"],
            core["pass"]["xcom_bytes"],
            *(e2e.get(k, {}).get("xcom_bytes", 0) for k in ("fail", "pass")),
        )
        biggest_event = max(
            core["fail"]["event_bytes"],
            core["pass"]["event_bytes"],
            *(e2e.get(k, {}).get("event_bytes", 0) for k in ("fail", "pass")),
        )
        biggest_log = max(
            core["fail"]["log_line_bytes"], core["pass"]["log_line_bytes"], sizes.get("longest_log_line_bytes", 0)
        )
        for label, value, target in (
            ("XCom value (summary), bytes", biggest_xcom, 16 * KIB),
            ("trigger event, bytes", biggest_event, 16 * KIB),
            ("longest log line, bytes", biggest_log, None),
        ):
            add(
                "4. payloads",
                f"{label} — 100,000 record errors, 10,000 messages",
                f"{value:,}",
                f"{answer:,} (API answer)",
                f"{value / answer:.5f}×",
                "< 16 KiB" if target else "report",
                verdict(value < target) if target else "—",
            )
    header = ("part", "figure", "provider", "baseline", "ratio", "target", "result")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def tls_fleet_lines(fleet: dict[str, Any], polls: int) -> list[str]:
    """One TLS fleet's table: every variant side by side, and each one's ratio to the floor of the same round."""
    names = {"floor": "session per poller (floor)", "provider": "provider", "shared": "shared session, 64"}
    names["dbt"] = "dbt Cloud trigger"
    lines: list[str] = []
    n, variants, ratio = fleet["n"], fleet["variants"], fleet["ratio"]
    big = n >= BIG_FLEET
    judged = n >= 1000  # the targets are for 1,000 and 10,000 triggers; smaller fleets only report
    mine = fleet["provider"]
    header = ["figure", *(names[variant] for variant in variants), "provider ÷ floor", "target", "result"]
    if "dbt" in variants:
        header.insert(-2, "dbt ÷ floor")
    rows: list[list[str]] = []

    def add(label: str, cells: list[str], ratios: list[str], target: str, passes: bool | None) -> None:
        if not judged:
            target, passes = "report", None
        rows.append([label, *cells, *ratios, target, verdict(passes) if target != "report" else "—"])

    def ratio_cells(key: str) -> list[str]:
        wanted = ["provider"] + (["dbt"] if "dbt" in variants else [])
        return [f"{ratio[variant][key]:.2f}×" for variant in wanted]

    def figure_row(label: str, key: str, digits: int, target: str, passes: bool | None) -> None:
        cells = [number(fleet[variant][key], digits) for variant in variants]
        add(label, cells, ratio_cells(key), target, passes)

    lag_p99 = mine["lag_p99_ms"]
    figure_row(
        "CPU per poll, ms (client process, start-up included)",
        "cpu_ms_per_poll",
        3,
        "report" if big else "≤ 0.5×",
        None if big else ratio["provider"]["cpu_ms_per_poll"] <= 0.5,
    )
    figure_row(
        "peak RSS growth per trigger, KiB",
        "rss_kib_per_trigger",
        1,
        "≤ 64 KiB",
        mine["rss_kib_per_trigger"] <= 64,
    )
    lag_time = mine["lag_p99time_ms"]
    if big:
        figure_row("event-loop lag p99 of the 10 ms ticks, ms", "lag_p99_ms", 1, "≤ 50 ms", lag_p99 <= 50)
        figure_row("event-loop lag p99 of the time, ms", "lag_p99time_ms", 1, "≤ 50 ms", lag_time <= 50)
    else:
        floor_p99, floor_time = fleet["floor"]["lag_p99_ms"], fleet["floor"]["lag_p99time_ms"]
        figure_row("event-loop lag p99 of the 10 ms ticks, ms", "lag_p99_ms", 1, "≤ floor's", lag_p99 <= floor_p99)
        figure_row("event-loop lag p99 of the time, ms", "lag_p99time_ms", 1, "≤ floor's", lag_time <= floor_time)
    figure_row("event-loop lag max, ms", "lag_max_ms", 0, "report", None)
    figure_row("event loop stalled (lag of ticks > 50 ms late, summed), ms", "lag_over50_ms", 0, "report", None)
    minimum = polls - 1
    figure_row(
        f"requests per trigger (minimum {minimum}; the dbt trigger's first poll is at deferral)",
        "requests_per_trigger",
        2,
        "report" if big else "zero extra",
        None if big else mine["extra_requests"] <= 0,
    )
    figure_row("new connections (TCP + TLS handshakes) per request", "connections_per_poll", 2, "report", None)
    add(
        "right events",
        [f"{fleet[variant]['events_right']:,}/{n:,}" for variant in variants],
        [""] * len(ratio_cells("wall_s")),
        "all",
        mine["events_right"] == n,
    )
    sleeps = minimum * fleet["interval"]
    figure_row(f"wall time, s (the sleeps alone: {sleeps:g})", "wall_s", 1, "report", None)
    figure_row("garbage collection, s of CPU", "gc_s", 2, "report", None)
    figure_row("full garbage collections (each walks the whole heap)", "full_collections", 1, "report", None)
    figure_row("CPU per poll without garbage collection, ms", "cpu_ms_per_poll_without_gc", 3, "report", None)
    add(
        "emulator: peak share of a core",
        [f"{fleet[variant]['emulator_peak_core_share']:.2f}" for variant in variants],
        [""] * len(ratio_cells("wall_s")),
        "report",
        None,
    )
    lines.append(
        f"TLS fleet, {n:,} triggers: poll {fleet['interval']:g} s, the server closes connections idle "
        f"{fleet['idle_close']:g} s; "
        + (
            "the triggers start one per loop step, as Airflow's triggerer starts them; "
            if fleet.get("arrival") == "triggerer"
            else "every trigger starts in one loop step (a burst); "
        )
        + f"{fleet['repeats']} round(s), medians (ratios: median of the rounds)."
    )
    lines.append("")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append("")
    return lines


def tls_table(results: dict[str, Any]) -> str:
    """The TLS fleets and the coalescing benchmark, one table each."""
    lines: list[str] = []
    for fleet in results.get("tls", []):
        lines += tls_fleet_lines(fleet, results["settings"]["polls"])
    coalesce = results.get("coalesce")
    if coalesce:
        mine, floor = coalesce["provider"], coalesce["floor"]
        triggers, syncs = coalesce["triggers"], coalesce["syncs"]
        lines.append(
            f"Coalescing: {triggers:,} triggers on {syncs} syncs ({triggers // syncs} per execution), arriving "
            f"spread over one poll interval ({coalesce['interval']:g} s); every execution ends "
            f"{coalesce['ends_s']:g} s after the start."
        )
        lines.append("")
        lines.append("| figure | provider | session per poller (floor) | ratio | target | result |")
        lines.append("|---|---|---|---|---|---|")
        rows = [
            (
                "requests per poll interval, steady windows (each)",
                ", ".join(str(value) for value in mine["steady_windows"]),
                ", ".join(str(value) for value in floor["steady_windows"]),
                f"{mine['requests_per_interval_max'] / max(floor['requests_per_interval_max'], 1):.3f}×",
                f"≤ 2 × {syncs} = {2 * syncs}",
                verdict(mine["requests_per_interval_max"] <= 2 * syncs),
            ),
            (
                "requests per trigger, whole run",
                number(mine["requests_per_trigger"], 3),
                number(floor["requests_per_trigger"], 2),
                f"{mine['requests_per_trigger'] / max(floor['requests_per_trigger'], 1e-9):.3f}×",
                "report",
                "—",
            ),
            (
                "right events",
                f"{mine['events_right']:,}/{triggers:,}",
                f"{floor['events_right']:,}/{triggers:,}",
                "",
                "all",
                verdict(mine["events_right"] == triggers),
            ),
            (
                "client CPU, s (whole run)",
                number(mine["cpu_s"], 2),
                number(floor["cpu_s"], 2),
                f"{mine['cpu_s'] / max(floor['cpu_s'], 1e-9):.2f}×",
                "report",
                "—",
            ),
            (
                "event-loop lag p99, ms",
                number(mine["lag_ms"]["p99"], 1),
                number(floor["lag_ms"]["p99"], 1),
                f"{mine['lag_ms']['p99'] / max(floor['lag_ms']['p99'], 1e-9):.2f}×",
                "report",
                "—",
            ),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def rows_in(rendered: str) -> bool:
    return len(rendered.splitlines()) > 2


def machine_lines(info: dict[str, Any]) -> str:
    return (
        f"Ran {info['date']} on {info['nproc']} CPUs ({info['cpu_model']}), {info['memory']} memory, {info['os']}; "
        f"Python {info['python']}, Airflow {info['airflow']}, aiohttp {info['aiohttp']}, requests {info['requests']}; "
        f"provider at {info['commit'] or 'unknown commit'}; bytecode cache {'on' if info['bytecode_cache'] else 'OFF'}."
    )


# -- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small fleets, 1 s polls, few repeats")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS)}")
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
    results["seconds"] = time.monotonic() - started
    rendered = table(results)
    extra = tls_table(results)
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
