"""Part ``real-triggerer`` of ``scripts/bench``: deferred waits in a real Airflow triggerer, whose trigger log
lines travel through its supervisor to each task's log file, the path the bare-loop fleets never see.

One Airflow deployment (SQLite, its own ``AIRFLOW_HOME`` under the work directory) and, per phase, one emulator
with one never-ending execution per wait and one ``airflow triggerer`` process on a queue of its own:

- ``idle``: a triggerer with nothing to run; its CPU over the window is subtracted from every other phase's;
- ``floor``: N ``benchmarks.floor_trigger.FloorTrigger``s (shared ``aiohttp`` session, no log line);
- ``warning``: N of the provider's ``PolytomicSyncStatusTrigger``s, Airflow logging at WARNING;
- ``info``: the same at INFO, Airflow's default.

The deferred task instances and their ``Trigger`` rows are made through Airflow's models
(``benchmarks/triggerer_db.py``), spread over one poll interval; the window starts once the emulator has seen
every wait poll. Measured over the window: the CPU of the triggerer's whole process tree (supervisor and
trigger runner), the polls the emulator served, the tree's resident memory (peak of samples), and the bytes
and lines the triggerer appended to the task instances' trigger log files.
"""

from __future__ import annotations

import argparse
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import API_KEY, connection_json, emulator_process
from benchmarks.airflow_deployment import Deployment, log_growth, stop, tree_usage, trigger_logs, wait_until

PART = "real-triggerer"
#: name -> (trigger variant or None, Airflow logging level, label)
PHASES: dict[str, tuple[str | None, str, str]] = {
    "idle": (None, "INFO", "an idle triggerer (no trigger; subtracted from the others)"),
    "floor": ("floor", "INFO", "a minimal polling trigger (shared aiohttp session, no log line)"),
    "warning": ("provider", "WARNING", "this provider, Airflow logging at WARNING"),
    "info": ("provider", "INFO", "this provider, Airflow logging at INFO (the default)"),
}
TARGET_CPU_RATIO = 1.3  # provider at INFO against the floor, CPU per poll
TARGET_LINES_PER_POLL = 0.1  # provider at INFO, trigger log lines per poll in steady state
RSS_SAMPLE_SECONDS = 5.0
Log = Callable[[str], None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(f"part {PART} (not in the default parts: about 11 minutes)")
    group.add_argument("--rt-waits", type=int, help="deferred waits per phase (default 300; quick 30)")
    group.add_argument("--rt-interval", type=float, help="their poll interval, s (default 10; quick 2)")
    group.add_argument("--rt-window", type=float, help="measured window per phase, s (default 120; quick 20)")


def configure(args: argparse.Namespace) -> None:
    args.rt_waits = args.rt_waits or (30 if args.quick else 300)
    args.rt_interval = args.rt_interval or (2.0 if args.quick else 10.0)
    args.rt_window = args.rt_window or (20.0 if args.quick else 120.0)


def scenario(waits: int) -> dict[str, Any]:
    """``waits`` syncs, each with one execution that stays running for the whole phase."""
    running = {"status": "running", "polls": 10**9, "counts": {"insert": 10, "total": 10}}
    syncs = [
        {"id": str(uuid.uuid4()), "executions": [{"id": str(uuid.uuid4()), "steps": [running]}]} for _ in range(waits)
    ]
    return {"api_keys": [API_KEY], "syncs": syncs}


# -- one phase ------------------------------------------------------------------------------------------------


def run_phase(deployment: Deployment, phase: str, args: argparse.Namespace, log: Log) -> dict[str, Any]:
    variant, level, _ = PHASES[phase]
    waits = args.rt_waits if variant else 0
    interval, window = args.rt_interval, args.rt_window
    settle = interval * 1.2 + 120  # deferrals, first polls, and a loaded machine's start-up
    limit = settle + window + 300
    with emulator_process(scenario(waits), deployment.folder, max_seconds=limit + 60) as emulator:
        known = deployment.newest_triggerer_job()
        extra = {"AIRFLOW_CONN_POLYTOMIC_DEFAULT": connection_json(emulator.url)}
        triggerer = deployment.start_triggerer(phase, level, extra, limit)
        try:
            wait_until(
                "the triggerer's first heartbeat", lambda: deployment.newest_triggerer_job() > known, 180, triggerer
            )
            if variant:
                log(f"real-triggerer: {phase}: deferring {waits} tasks over {interval:g} s")
                deployment.defer(phase, variant, emulator.scenario_file, emulator.url, interval)
                wait_until(
                    f"every one of the {waits} waits to poll",
                    lambda: emulator.stats()["reads_per_sync"].get("0", 0) == 0,
                    settle,
                    triggerer,
                )
            else:
                time.sleep(interval * 2)  # as long as the others take to settle, roughly
            log(f"real-triggerer: {phase}: measuring {window:g} s")
            before_logs = trigger_logs(deployment, phase)
            before = emulator.stats(reset=True)
            cpu_start, rss_peak = tree_usage(triggerer.pid)
            started = time.monotonic()
            while (left := started + window - time.monotonic()) > 0:
                time.sleep(min(RSS_SAMPLE_SECONDS, left))
                rss_peak = max(rss_peak, tree_usage(triggerer.pid)[1])
            cpu_end, rss_end = tree_usage(triggerer.pid)
            seconds = time.monotonic() - started
            after = emulator.stats()
            after_logs = trigger_logs(deployment, phase)
            if triggerer.poll() is not None:
                raise RuntimeError(f"the {phase} triggerer exited during the window (code {triggerer.returncode})")
        finally:
            stop(triggerer)
    log_bytes, log_lines = log_growth(before_logs, after_logs)
    polls = after["requests"] - before["requests"]
    return {
        "phase": phase,
        "variant": variant,
        "logging_level": level,
        "waits": waits,
        "window_s": seconds,
        "cpu_s": cpu_end - cpu_start,
        "rss_peak_kib": max(rss_peak, rss_end),
        "polls": polls,
        "polls_expected": waits * seconds / interval,
        "non_2xx": after["non_2xx"] - before["non_2xx"],
        "log_files": len(after_logs),
        "log_bytes": log_bytes,
        "log_lines": log_lines,
        "emulator_cpu_s": after["cpu_s"] - before["cpu_s"],
    }


# -- all phases, and the table --------------------------------------------------------------------------------


def bench(workdir: Path, args: argparse.Namespace, log: Log) -> dict[str, Any]:
    folder = workdir / PART
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    log(f"real-triggerer: an Airflow deployment in {folder} (migrating, serializing the DAG)")
    deployment = Deployment(folder, args.rt_waits)
    phases = {phase: run_phase(deployment, phase, args, log) for phase in PHASES}
    idle = phases["idle"]
    for result in phases.values():
        # The idle triggerer's own CPU, scaled to this window's length, is not the triggers'.
        result["cpu_triggers_s"] = result["cpu_s"] - idle["cpu_s"] * result["window_s"] / idle["window_s"]
        polls = max(result["polls"], 1)
        result["cpu_ms_per_poll"] = result["cpu_triggers_s"] * 1000 / polls
        result["log_bytes_per_poll"] = result["log_bytes"] / polls
        result["log_lines_per_poll"] = result["log_lines"] / polls
        result["rss_kib_per_wait"] = (result["rss_peak_kib"] - idle["rss_peak_kib"]) / max(result["waits"], 1)
        if result["waits"]:
            log(
                f"  {result['phase']}: {result['polls']} polls, {result['cpu_ms_per_poll']:.3f} ms CPU/poll, "
                f"{result['log_lines_per_poll']:.2f} log lines/poll"
            )
    floor = phases["floor"]["cpu_ms_per_poll"]
    for result in phases.values():
        result["cpu_ratio_to_floor"] = result["cpu_ms_per_poll"] / floor if result["waits"] and floor > 0 else None
    info = phases["info"]
    return {
        "waits": args.rt_waits,
        "interval": args.rt_interval,
        "window": args.rt_window,
        "phases": phases,
        "targets": {
            "info_cpu_ratio": info["cpu_ratio_to_floor"],
            "info_cpu_ratio_met": info["cpu_ratio_to_floor"] is not None
            and info["cpu_ratio_to_floor"] <= TARGET_CPU_RATIO,
            "info_lines_per_poll": info["log_lines_per_poll"],
            "info_lines_per_poll_met": info["log_lines_per_poll"] <= TARGET_LINES_PER_POLL,
        },
    }


def table(results: dict[str, Any]) -> str:
    """The phases side by side, then the targets; empty when the part did not run."""
    run = results.get("real_triggerer")
    if not run:
        return ""
    phases, idle = run["phases"], run["phases"]["idle"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = [
        f"Real triggerer (Airflow's own `airflow triggerer`, one per phase): {run['waits']:,} deferred waits per "
        f"phase, poll {run['interval']:g} s, a {run['window']:g} s window once every wait has polled; CPU summed "
        f"over the triggerer's process tree, the idle triggerer's own {idle['cpu_s']:.2f} s subtracted.",
        "",
        "| phase | polls in the window (expected) | CPU per poll, ms | ÷ floor | tree RSS peak, MiB "
        "(per wait over idle, KiB) | trigger log per poll: lines; bytes |",
        "|---|---|---|---|---|---|",
    ]
    for name, (_, _, label) in PHASES.items():
        phase = phases[name]
        if not phase["waits"]:
            lines.append(
                f"| {label} | 0 | {phase['cpu_s']:.2f} s in all | | {phase['rss_peak_kib'] / 1024:.0f} | "
                f"{phase['log_lines']}; {phase['log_bytes']} |"
            )
            continue
        ratio = phase["cpu_ratio_to_floor"]
        lines.append(
            f"| {label} | {phase['polls']:,} ({phase['polls_expected']:,.0f}) | {phase['cpu_ms_per_poll']:.3f} | "
            f"{ratio:.2f}× | {phase['rss_peak_kib'] / 1024:.0f} ({phase['rss_kib_per_wait']:.1f}) | "
            f"{phase['log_lines_per_poll']:.2f}; {phase['log_bytes_per_poll']:.0f} |"
        )
    targets = run["targets"]
    lines += [
        "",
        "| target (provider, Airflow logging at INFO) | measured | result |",
        "|---|---|---|",
        f"| CPU per poll ≤ {TARGET_CPU_RATIO:g}× the floor's | {targets['info_cpu_ratio']:.2f}× | "
        f"{verdict(targets['info_cpu_ratio_met'])} |",
        f"| trigger log lines per poll in steady state ≤ {TARGET_LINES_PER_POLL:g} | "
        f"{targets['info_lines_per_poll']:.2f} | {verdict(targets['info_lines_per_poll_met'])} |",
        "",
    ]
    return "\n".join(lines)
