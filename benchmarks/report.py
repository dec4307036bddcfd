"""The benchmark run's report: the machine it ran on and the Markdown table of the default parts."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks._common import (
    KIB,
    ROOT,
    raise_open_files_limit,
)


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


def rows_in(rendered: str) -> bool:
    return len(rendered.splitlines()) > 2


def machine_lines(info: dict[str, Any]) -> str:
    return (
        f"Ran {info['date']} on {info['nproc']} CPUs ({info['cpu_model']}), {info['memory']} memory, {info['os']}; "
        f"Python {info['python']}, Airflow {info['airflow']}, aiohttp {info['aiohttp']}, requests {info['requests']}; "
        f"provider at {info['commit'] or 'unknown commit'}; bytecode cache {'on' if info['bytecode_cache'] else 'OFF'}."
    )
