"""Parts ``fleet`` and ``coalesce`` of ``scripts/bench``: triggerer fleets (``benchmarks.fleet`` in fresh processes)
against the emulator, the provider's triggers side by side with bare loops; and many sensors on few syncs, whose
identical polls are coalesced."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks._common import (
    Runner,
    TlsFiles,
    coalesce_scenario,
    emulator_process,
    fleet_scenario,
    listen_overflows,
    log,
    write_json,
)


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


def variant_summary(
    runs: list[dict[str, Any]], figure: Callable[[dict[str, Any], str], float], names: Sequence[str]
) -> dict[str, Any]:
    """One variant's rounds as one row: each figure's median, and the worst of correctness and the emulator."""
    summary: dict[str, Any] = {name: statistics.median(figure(run, name) for run in runs) for name in names}
    summary["events_right"] = min(run["events_right"] for run in runs)
    summary["extra_requests"] = max(run["extra_requests"] for run in runs)
    summary["emulator_peak_core_share"] = max(run["emulator"]["peak_core_share"] for run in runs)
    return summary


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
            summary[variant] = variant_summary(runs[variant], fleet_figure, FLEET_FIGURES)
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
