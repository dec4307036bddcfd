"""Part ``tls`` of ``scripts/bench``: triggerer fleets over TLS, with a server that closes idle connections,
beside the bare-loop floor, one shared session, and (in its own virtualenv) the dbt Cloud provider as a peer; and
its table."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from benchmarks._common import (
    fleet_scenario,
    log,
    make_tls_files,
)
from benchmarks.bench_fleet import FLEET_FIGURES, fleet_figure, fleet_run, variant_summary
from benchmarks.report import number, verdict

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
            summary[variant] = variant_summary(runs[variant], tls_figure, TLS_FIGURES)
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
